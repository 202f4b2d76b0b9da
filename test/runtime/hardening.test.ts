import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, type ReefError } from '../../src/index.js';
import { sharedPath, sharedBytes, prng, REPO_ROOT } from '../shared.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { activationTensors, exposeTensors } from '../../src/quantize/calibrate.js';

const MNV1 = 'models/tflite/mobilenet_v1_0.25_128_float.tflite';
const ULTRA = 'models/tflite/ultraface_slim_320.tflite';
const OUT = 'MobilenetV1/Predictions/Reshape_1';

function randomInput(n: number, seed: number): Float32Array {
  const r = prng(seed);
  return new Float32Array(n).map(() => r() * 2 - 1);
}

describe('models XNNPACK refuses run on TFLite\'s built-in kernels', () => {
  it('ultraface_slim_320: XNNPACK refuses it, the session says why, and it runs on the built-in kernels', async () => {
    const s = await load(sharedPath(ULTRA));
    expect(s.delegate.name).toBe('none');
    expect(s.delegate.reason).toBe("XNNPACK refused this model (interpreter creation failed: no detail from TensorFlow Lite); TensorFlow Lite's built-in kernels run it");
    // The same model loaded without XNNPACK gives the same numbers: the fallback is the built-in path.
    const plain = await load(sharedPath(ULTRA), { xnnpack: false });
    expect(plain.delegate).toEqual({ name: 'none', reason: 'XNNPACK was turned off (xnnpack: false)' });
    const x = randomInput(240 * 320 * 3, 3);
    const a = await s.run([x]);
    const b = await plain.run([x]);
    expect(a).toEqual(b);
    await Promise.all([s.dispose(), plain.dispose()]);
  });

  it('outputs whose shape is known only after invoke come back whole: [1,4420,4] and [1,4420,2], not 4 and 2 numbers', async () => {
    const s = await load(sharedPath(ULTRA));
    // Before the first invoke TFLite reports what allocation gave; the shape signature ([-1,-1,4]) marks them dynamic.
    expect(s.outputs.map((o) => [o.shape, o.dynamic])).toEqual([[[1, 1, 4], true], [[1, 1, 2], true]]);
    const out = await s.run([randomInput(240 * 320 * 3, 4)]);
    expect(out.Identity!.shape).toEqual([1, 4420, 4]);
    expect(out.Identity!.data.length).toBe(4420 * 4);
    expect(out.Identity_1!.shape).toEqual([1, 4420, 2]);
    expect(out.Identity_1!.data.length).toBe(4420 * 2);
    // The scores are a softmax over 2 classes per anchor: each pair sums to 1.
    const scores = out.Identity_1!.data as Float32Array;
    for (let i = 0; i < 4420; i += 97) expect(scores[2 * i]! + scores[2 * i + 1]!).toBeCloseTo(1, 5);
    // An output array of the pre-invoke size cannot hold the result: a coded error, never truncation.
    const err = await s.run([randomInput(240 * 320 * 3, 4)], { outputs: [new Float32Array(4), new Float32Array(2)] }).catch((e: ReefError) => e);
    expect([(err as ReefError).code, (err as ReefError).message]).toEqual(['REEF_OUTPUT_MISMATCH',
      'output 0 holds 70720 bytes after the invoke (its shape is known only then) but the array given for it holds 16; pass no output arrays for it']);
    // Arrays of the size the invoke produces are taken; null entries (or outputs: null) are allocated.
    const mine = [new Float32Array(4420 * 4), null] as const;
    const got = await s.run([randomInput(240 * 320 * 3, 4)], { outputs: [...mine] });
    expect(got.Identity!.data).toBe(mine[0]);
    expect(Array.from(got.Identity!.data as Float32Array)).toEqual(Array.from(out.Identity!.data as Float32Array));
    expect(got.Identity_1!.shape).toEqual([1, 4420, 2]);
    expect((await s.run([randomInput(240 * 320 * 3, 4)], { outputs: null })).Identity!.shape).toEqual([1, 4420, 4]);
    await s.dispose();
  });

  it('EXPECTED FAILURE - a tensor feed without a shape, and outputs that are not arrays: coded errors, not TypeErrors', async () => {
    const s = await load(sharedPath(MNV1));
    const x = randomInput(128 * 128 * 3, 1);
    const e1 = await s.run([{ data: x } as never]).catch((e: ReefError) => e);
    expect([(e1 as ReefError).code, (e1 as ReefError).message]).toEqual(['REEF_INPUT_SHAPE_MISMATCH',
      'input "input" was given as a tensor ({ data, shape }) without a shape array; expected shape [1,128,128,3]']);
    const e2 = await s.run([x], { outputs: 5 as never }).catch((e: ReefError) => e);
    expect((e2 as ReefError).code).toBe('REEF_INVALID_ARGUMENT');
    await s.dispose();
  });
});

describe('graphs with dynamic tensors', () => {
  it('every activation of ultraface exposed as an output: runs again and again, and disposes, without corrupting memory', async () => {
    // TFLite re-plans its arena during such an invoke and moves every tensor, inputs included; reef
    // wrote the next run's input through a pointer cached at creation and corrupted the heap (found by
    // the quantizer's calibration copy of this model; SIGSEGV at the third run's dispose).
    const m = readTflite(sharedBytes(ULTRA));
    const s = await load(exposeTensors(m, activationTensors(m)).bytes);
    expect(s.outputs.length).toBe(68);
    const x = randomInput(240 * 320 * 3, 9);
    const first = await s.run([x]);
    for (let i = 0; i < 5; i++) {
      const again = await s.run([x]);
      expect(again.Identity!.data).toEqual(first.Identity!.data);
    }
    await s.dispose();
  });
});

describe('SharedArrayBuffer memory', () => {
  it('inputs, output arrays and model bytes backed by a SharedArrayBuffer are copied, not crashed on', async () => {
    const bytes = sharedBytes(MNV1);
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    const s = await load(shared);
    const ref = await load(sharedPath(MNV1));
    const x = randomInput(128 * 128 * 3, 5);
    const sx = new Float32Array(new SharedArrayBuffer(x.byteLength));
    sx.set(x);
    const out = new Float32Array(new SharedArrayBuffer(1001 * 4));
    const got = await s.run([sx], { outputs: [out] });
    const want = await ref.run([x]);
    expect(got[OUT]!.data).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(want[OUT]!.data as Float32Array));
    await Promise.all([s.dispose(), ref.dispose()]);
  });
});

describe('worker_threads torn down mid-run', () => {
  it('worker.terminate() while runs are in flight never takes the process down (12 workers)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-wt-'));
    const script = join(dir, 'terminate.mjs');
    const entry = new URL('../../dist/index.js', import.meta.url).href;
    writeFileSync(script, `
      import { Worker } from 'node:worker_threads';
      const code = \`
        const { parentPort } = require('node:worker_threads');
        (async () => {
          const { load } = await import(${JSON.stringify(entry)});
          const s = await load(${JSON.stringify(sharedPath(MNV1))}, { pool: 2 });
          const x = new Float32Array(128 * 128 * 3);
          parentPort.postMessage('ready');
          for (;;) { const ps = []; for (let i = 0; i < 6; i++) ps.push(s.run([x]).catch(() => {})); await Promise.all(ps); }
        })();
      \`;
      for (let k = 0; k < 12; k++) {
        const w = new Worker(code, { eval: true });
        await new Promise((r) => w.on('message', r));
        await new Promise((r) => setTimeout(r, (k * 7) % 20));
        await w.terminate();
      }
      console.log('survived');
    `);
    const r = spawnSync(process.execPath, [script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect({ status: r.status, signal: r.signal, out: r.stdout.trim(), err: r.stderr.trim() })
      .toEqual({ status: 0, signal: null, out: 'survived', err: '' });
  });
});

describe('clean output', () => {
  it('loading a model prints nothing: TFLite\'s INFO lines are kept for -v', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { load } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
      const s = await load(${JSON.stringify(sharedPath(MNV1))});
      await s.dispose();
    `], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, out: r.stdout, err: r.stderr }).toEqual({ status: 0, out: '', err: '' });
  });
});

describe('the TensorFlow Lite library itself (a fresh process each: it loads once per process)', () => {
  const inChild = (script: string) => spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 60_000, cwd: REPO_ROOT });
  const model = sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite');
  const run = (library: string) => `import { load } from ${JSON.stringify(join(REPO_ROOT, 'src', 'index.ts'))};
    const e = await load(${JSON.stringify(model)}, { library: ${JSON.stringify(library)} }).catch((err) => err);
    console.log(JSON.stringify([e.code, e.message]));`;

  it('EXPECTED FAILURE - a shared library that is not TensorFlow Lite: REEF_LIBRARY_NOT_FOUND naming the symbols it lacks, nothing else loaded', () => {
    const libz = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/libz.so.1`;
    const r = inChild(run(libz));
    const [code, message] = JSON.parse(r.stdout) as [string, string];
    expect([r.status, code]).toEqual([0, 'REEF_LIBRARY_NOT_FOUND']);
    expect(message).toContain(`tried: ${libz} (option): ${libz} is not a TensorFlow Lite C library: missing symbols TfLiteVersion, TfLiteModelCreate, `);
    expect(message).toMatch(/TfLiteTensorQuantizationParams\. Set REEF_TFLITE_LIBRARY or the `library` option/);
  });

  it('EXPECTED FAILURE - a library path that is not a shared library: dlopen\'s own words', () => {
    const notLib = join(mkdtempSync(join(tmpdir(), 'reef-lib-')), 'libtensorflowlite_c.so');
    writeFileSync(notLib, 'not an ELF file\n'.repeat(300));
    const r = inChild(run(notLib));
    const [code, message] = JSON.parse(r.stdout) as [string, string];
    expect([r.status, code]).toEqual([0, 'REEF_LIBRARY_NOT_FOUND']);
    expect(message).toContain(`tried: ${notLib} (option): dlopen(${notLib}) failed: ${notLib}: invalid ELF header.`);
  });
});
