import { describe, it, expect } from 'vitest';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli.js';
import { writeAtomic } from '../../src/cli/io.js';
import { ReefError } from '../../src/index.js';
import { sharedPath } from '../shared.js';


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
