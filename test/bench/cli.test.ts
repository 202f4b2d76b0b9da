/**
 * `reef bench` bad input: exact error codes, messages and exit codes; and the
 * planning of sweeps from options. No measuring here (see e2e.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planBench, parseIntList, parseOnOffList, type BenchCliOptions } from '../../src/cli/bench.js';
import { expandSweep, type BenchPoint } from '../../src/bench/run.js';
import { FIXTURES, runBench, sharedModel } from './helpers.js';

const FIX = 'REEF_INVALID_ARGUMENT';
const usage = (message: string): string =>
  `reef: ${FIX}: ${message}\n  fix: See the message: it names the argument, what was expected and what was received.\n`;
const unwritable = (message: string): string =>
  `reef: REEF_OUTPUT_UNWRITABLE: ${message}\n  fix: Check that the folder exists and is writable, and that the path is not a folder.\n`;

describe('BAD CALL - reef bench', () => {
  const model = sharedModel('tflite/vww_96_int8.tflite');

  it('a model that does not exist: REEF_MODEL_NOT_FOUND, exit 1', async () => {
    const r = await runBench(['/nonexistent/model.tflite', '--runs', '1']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe('reef: REEF_MODEL_NOT_FOUND: cannot read model /nonexistent/model.tflite: no such file\n' +
      '  fix: Check the path (relative paths are resolved from the current directory) and the file permissions.\n');
  });

  it('a file that is not a model: REEF_MODEL_INVALID naming the file', async () => {
    const file = join(FIXTURES, 'not_a_model.tflite');
    const r = await runBench([file, '--runs', '1', '--json']);
    expect(r.code).toBe(1);
    const e = JSON.parse(r.out) as { error: { code: string; message: string } };
    expect(e.error.code).toBe('REEF_MODEL_INVALID');
    expect(e.error.message).toBe(`${file}: not a TFLite model (file identifier at byte 4 is "o, w", expected "TFL3")`);
  });

  it('zero runs', async () => {
    const r = await runBench([model, '--runs', '0']);
    expect(r).toEqual({ code: 2, out: '', err: usage('Expected a positive integer for --runs but received "0"') });
  });

  it('a zero or negative duration', async () => {
    expect((await runBench([model, '--duration', '0'])).err).toBe(usage('Expected a positive number of seconds for --duration but received "0"'));
    expect((await runBench([model, '--duration=-1'])).err).toBe(usage('Expected a positive number of seconds for --duration but received "-1"'));
  });

  it('a negative warm-up', async () => {
    expect((await runBench([model, '--warmup=-1'])).err).toBe(usage('Expected a non-negative integer for --warmup but received "-1"'));
  });

  it('impossible worker counts: 0, 65, 1.5, abc', async () => {
    for (const w of ['0', '65', '1.5', 'abc']) {
      const r = await runBench([model, '--workers', w]);
      expect(r).toEqual({ code: 2, out: '', err: usage(`Expected an integer from 1 to 64 for --workers but received "${w}"`) });
    }
  });

  it('bad thread lists and xnnpack lists', async () => {
    expect((await runBench([model, '--threads', '0,2'])).err)
      .toBe(usage('Expected a positive integer or comma-separated positive integers for --threads but received "0,2"'));
    expect((await runBench([model, '--threads', '1,,2'])).err)
      .toBe(usage('Expected a positive integer or comma-separated positive integers for --threads but received "1,,2"'));
    expect((await runBench([model, '--threads', '1000'])).err)
      .toBe(usage('Expected thread counts from 1 to 256 for --threads but received "1000"'));
    expect((await runBench([model, '--xnnpack', 'maybe'])).err)
      .toBe(usage('Expected on, off or "on,off" for --xnnpack but received "maybe"'));
  });

  it('an unwritable --plot path: missing folder, a folder, a read-only folder', async () => {
    expect((await runBench([model, '--plot', '/nonexistent-dir/out.svg'])).err)
      .toBe(unwritable('Expected a writable file path for --plot but received "/nonexistent-dir/out.svg" (folder /nonexistent-dir does not exist)'));
    const dir = mkdtempSync(join(tmpdir(), 'reef-bench-'));
    expect((await runBench([model, '--plot', dir])).err)
      .toBe(unwritable(`Expected a writable file path for --plot but received "${dir}" (it is a folder)`));
    // Even root cannot create files in /proc: the probe writes a file instead of asking access().
    expect((await runBench([model, '--plot', '/proc/out.svg'])).err)
      .toBe(unwritable('Expected a writable file path for --plot but received "/proc/out.svg" (folder /proc is not writable)'));
  });

  it('--input that does not exist: REEF_FILE_NOT_FOUND', async () => {
    const r = await runBench([model, '--runs', '1', '--input', '/nonexistent/samples']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('reef: REEF_FILE_NOT_FOUND: cannot read --input /nonexistent/samples: no such file or folder\n  fix: Check the path named in the message.\n');
  });

  it('--input of the wrong size: REEF_INPUT_SHAPE_MISMATCH', async () => {
    const file = join(FIXTURES, 'not_a_model.tflite');
    const r = await runBench([model, '--runs', '1', '--input', file]);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toBe(`reef: REEF_INPUT_SHAPE_MISMATCH: sample ${file} has 33 bytes; input "input_1_int8" int8[1,96,96,3] needs 27648 (raw) or an image file`);
  });

  it('no model, or a model and --compare files that are missing (checked before benching)', async () => {
    expect((await runBench([])).err).toBe(usage('Expected a model file (or --compare <files...>) but received none'));
    expect((await runBench([model, '--compare', 'a.json', 'b.json'])).err)
      .toBe('reef: REEF_FILE_NOT_FOUND: cannot read result file a.json: no such file\n  fix: Check the path named in the message.\n');
  });

  it('--compare: one file, a missing file, a file that is not a result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-bench-'));
    const notResult = join(dir, 'x.json');
    writeFileSync(notResult, '{"hello": 1}');
    const notJson = join(dir, 'y.json');
    writeFileSync(notJson, 'nope');
    expect((await runBench(['--compare', notResult])).err).toBe(usage('Expected at least 2 result files for --compare but received 1'));
    const missing = await runBench(['--compare', join(dir, 'missing.json'), notResult]);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`reef: REEF_FILE_NOT_FOUND: cannot read result file ${join(dir, 'missing.json')}: no such file\n  fix: Check the path named in the message.\n`);
    expect((await runBench(['--compare', notResult, notResult])).err)
      .toBe(usage(`${notResult} is not a reef bench result (expected model, latency_ms.p10/p50/p90/p99, invoke_ms.p50, throughput_ips); write it with \`reef bench --json\``));
    expect((await runBench(['--compare', notJson, notResult])).err.split('\n')[0])
      .toMatch(new RegExp(`^reef: REEF_INVALID_ARGUMENT: ${notJson.replace(/[.]/g, '\\.')} is not JSON \\(.+\\); --compare takes files written by \`reef bench --json\`$`));
  });
});

describe('planBench and sweeps', () => {
  const opts: BenchCliOptions = { warmup: '10', workers: '1', seed: '1' };

  it('defaults: 100 runs, 10 warm-up, one point with XNNPACK on and the profile\'s threads', () => {
    const plan = planBench({ ...opts, device: 'generic-x86_64-linux' });
    expect(plan.settings).toMatchObject({ runs: 100, durationMs: undefined, warmup: 10, workers: 1, seed: 1 });
    expect(plan.points).toEqual([{ threads: 1, xnnpack: true, variant: null }]);
  });

  it('--duration alone: no run limit', () => {
    expect(planBench({ ...opts, duration: '2.5' }).settings).toMatchObject({ runs: undefined, durationMs: 2500 });
  });

  it('--threads 1,2 --xnnpack on,off: four points, threads varying slowest', () => {
    expect(planBench({ ...opts, threads: '1,2', xnnpack: 'on,off' }).points).toEqual([
      { threads: 1, xnnpack: true, variant: null }, { threads: 1, xnnpack: false, variant: null },
      { threads: 2, xnnpack: true, variant: null }, { threads: 2, xnnpack: false, variant: null },
    ]);
  });

  it('--no-xnnpack is xnnpack off', () => {
    expect(planBench({ ...opts, threads: '2', xnnpack: false }).points).toEqual([{ threads: 2, xnnpack: false, variant: null }]);
  });

  it('expandSweep is generic: a variant axis slots in', () => {
    const base: BenchPoint = { threads: 1, xnnpack: true, variant: null };
    expect(expandSweep(base, { variant: ['cpu-int8', 'edgetpu'], threads: [1, 4] }).map((p) => `${p.variant}/${p.threads}`))
      .toEqual(['cpu-int8/1', 'cpu-int8/4', 'edgetpu/1', 'edgetpu/4']);
    expect(expandSweep(base, { threads: [] })).toEqual([base]);
  });

  it('list parsers drop duplicates and keep order', () => {
    expect(parseIntList('--threads', '4, 1,4')).toEqual([4, 1]);
    expect(parseOnOffList('--xnnpack', 'off,ON,false')).toEqual([false, true]);
  });
});
