import { describe, it, expect } from 'vitest';
import { closeSync, openSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli.js';
import { writeAtomic } from '../../src/cli/io.js';
import { ReefError } from '../../src/index.js';
import { sharedPath, REPO_ROOT } from '../shared.js';


const FIX = 'fix: Check that the folder exists and is writable, and that the path is not a folder.';

describe('outputs are written all or nothing', () => {
  it('EXPECTED FAILURE - reef package to a missing folder: a coded error before any model is read', async () => {
    const r = await cli('package', '-o', '/nonexistent-dir/x.reef', '--cpu-float', sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite'));
    expect([r.code, r.err]).toEqual([1, `reef: REEF_OUTPUT_UNWRITABLE: Expected a writable file path for -o/--output but received "/nonexistent-dir/x.reef" (folder /nonexistent-dir does not exist)\n  ${FIX}\n`]);
  });

  it('EXPECTED FAILURE - reef quantize with an unwritable --report fails before calibrating and writes no model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-out-'));
    const model = join(dir, 'int8.tflite');
    const r = await cli('quantize', sharedPath('models/tflite/hello_world_float.tflite'), '--calib', sharedPath('images/mnist'),
      '-o', model, '--report', '/proc/report.json');
    expect([r.code, r.err]).toEqual([1, `reef: REEF_OUTPUT_UNWRITABLE: Expected a writable file path for --report but received "/proc/report.json" (folder /proc is not writable)\n  ${FIX}\n`]);
    expect(existsSync(model)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('EXPECTED FAILURE - when one file of a set cannot be written, none is, and no temporary file stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-out-'));
    const e = await writeAtomic([[join(dir, 'a.txt'), 'a'], [join(dir, 'missing', 'b.txt'), 'b']]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ReefError);
    expect((e as ReefError).code).toBe('REEF_OUTPUT_UNWRITABLE');
    expect((e as ReefError).message).toMatch(new RegExp(`^cannot write ${join(dir, 'missing', 'b.txt')}: ENOENT`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes every file of a set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-out-'));
    await writeAtomic([[join(dir, 'a.txt'), 'a'], [join(dir, 'b.bin'), new Uint8Array([1, 2])]]);
    expect(readdirSync(dir).sort()).toEqual(['a.txt', 'b.bin']);
  });
});

describe('output paths that are not plain files', () => {
  it('a symlink: its target is replaced, the link stays a link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-out-'));
    const target = join(dir, 'real.json');
    writeFileSync(target, 'old');
    symlinkSync(target, join(dir, 'link.json'));
    await writeAtomic([[join(dir, 'link.json'), 'new']]);
    expect(lstatSync(join(dir, 'link.json')).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('new');
    expect(readdirSync(dir).sort()).toEqual(['link.json', 'real.json']);
  });

  it('EXPECTED FAILURE - a device (/dev/null, or a link to it) or a fifo is refused and left as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-out-'));
    symlinkSync('/dev/null', join(dir, 'null.json'));
    execFileSync('mkfifo', [join(dir, 'fifo.json')]);
    const cases: Array<[string, string]> = [
      ['/dev/null', 'Expected a regular file path for /dev/null but received "/dev/null" (it is a device); reef replaces outputs whole and will not replace that'],
      [join(dir, 'null.json'), `Expected a regular file path for ${join(dir, 'null.json')} but received "${join(dir, 'null.json')}" (/dev/null is a device); reef replaces outputs whole and will not replace that`],
      [join(dir, 'fifo.json'), `Expected a regular file path for ${join(dir, 'fifo.json')} but received "${join(dir, 'fifo.json')}" (it is a pipe); reef replaces outputs whole and will not replace that`],
    ];
    for (const [path, message] of cases) {
      const e = await writeAtomic([[path, 'x']]).catch((err: ReefError) => err);
      expect([(e as ReefError).code, (e as ReefError).message]).toEqual(['REEF_OUTPUT_UNWRITABLE', message]);
    }
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    const r = await cli('run', sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite'), '--random', '--save', '/dev/null');
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toBe('reef: REEF_OUTPUT_UNWRITABLE: Expected a folder for --save but received "/dev/null" (it is not a folder and cannot be made one)');
  });
});

describe('standard output that cannot be written', () => {
  it('EXPECTED FAILURE - stdout on a full disk (/dev/full): one coded line on stderr, exit 1, no stack trace', () => {
    const full = openSync('/dev/full', 'w');
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'reef.js'), 'info'], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout: 60_000 });
    closeSync(full);
    expect([r.status, r.stderr]).toEqual([1, 'reef: REEF_OUTPUT_UNWRITABLE: cannot write to stdout: ENOSPC: no space left on device, write\n' +
      '  fix: Check that the folder exists and is writable, and that the path is not a folder.\n']);
  });
});

describe('found by review: outputs that would destroy an input, or each other', () => {
  it('EXPECTED FAILURE - reef package/repair -o naming an input (directly or through a link): refused, the input kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-out-'));
    const model = join(dir, 'hw.tflite');
    writeFileSync(model, readFileSync(sharedPath('models/tflite/hello_world_float.tflite')));
    symlinkSync(model, join(dir, 'link.tflite'));
    const before = readFileSync(model);
    const p = await cli('package', '-o', join(dir, 'link.tflite'), '--cpu-float', model);
    expect([p.code, p.err.split('\n')[0]]).toEqual([1, `reef: REEF_OUTPUT_UNWRITABLE: Expected an output path other than the input for -o/--output but "${join(dir, 'link.tflite')}" is --cpu-float (${model}); writing it would destroy the input: choose another path`]);
    const r = await cli('repair', model, '-o', model);
    expect([r.code, r.err.split('\n')[0]]).toEqual([1, `reef: REEF_OUTPUT_UNWRITABLE: Expected an output path other than the input for -o/--output but "${model}" is the model (${model}); writing it would destroy the input: choose another path`]);
    expect(readFileSync(model)).toEqual(before);
  });

  it('EXPECTED FAILURE - two outputs of one command naming one file: refused before any work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-out-'));
    const o = join(dir, 'o.tflite');
    const r = await cli('quantize', sharedPath('models/tflite/hello_world_float.tflite'), '--calib', sharedPath('images/mnist'), '-o', o, '--report', o);
    expect([r.code, r.err.split('\n')[0]]).toEqual([1, `reef: REEF_OUTPUT_UNWRITABLE: Expected different files for -o/--output and --report but both name ${o}`]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('EXPECTED FAILURE - reef inspect on a .reef bundle says what it is and what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-out-'));
    const b = join(dir, 'm.reef');
    expect((await cli('package', '-o', b, '--cpu-float', sharedPath('models/tflite/hello_world_float.tflite'))).code).toBe(0);
    const r = await cli('inspect', b);
    expect([r.code, r.err.split('\n')[0]]).toEqual([2, `reef: REEF_INVALID_ARGUMENT: Expected a .tflite or .onnx model for reef inspect but received a .reef bundle (${b}); inspect the model files it was made from, or see the variant a board runs with \`reef run BUNDLE ... -v\``]);
  });
});
