import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { load, ReefError, type Session, type TypedArray } from '../../src/index.js';
import { bundledLibraryPath } from '../../src/runtime/library.js';
import { sharedBytes, sharedPath, prng } from '../shared.js';

const VWW_INT8 = 'models/tflite/vww_96_int8.tflite';
const MNV1_FLOAT = 'models/tflite/mobilenet_v1_0.25_128_float.tflite';

async function rejection(p: Promise<unknown>): Promise<ReefError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ReefError);
    return e as ReefError;
  }
  throw new Error('expected a rejection');
}

function randomInt8(n: number, seed: number): Int8Array {
  const r = prng(seed);
  const a = new Int8Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(r() * 256) - 128;
  return a;
}

describe('load: tensor info', () => {
  it('describes vww_96_int8 inputs and outputs as TFLite reports them', async () => {
    const s = await load(sharedPath(VWW_INT8), { threads: 1 });
    try {
      expect(s.inputs).toEqual([{
        name: 'input_1_int8', dtype: 'int8', shape: [1, 96, 96, 3],
        quantization: { scale: Math.fround(1 / 255), zeroPoint: -128 }, byteLength: 27648,
      }]);
      expect(s.outputs).toEqual([{
        name: 'Identity_int8', dtype: 'int8', shape: [1, 2],
        quantization: { scale: 0.00390625, zeroPoint: -128 }, byteLength: 2,
      }]);
      expect(s.library.version).toBe('2.9.0');
      expect(s.library.path).toBe(bundledLibraryPath());
      expect(s.threads).toBe(1);
      expect(s.xnnpack).toBe(true);
      expect(s.poolSize).toBe(1);
    } finally {
      await s.dispose();
    }
  });

  it('loads from a buffer as from a path', async () => {
    const s = await load(sharedBytes(MNV1_FLOAT));
    try {
      expect(s.source).toBe('<buffer>');
      expect(s.inputs.map((t) => [t.name, t.dtype, t.shape])).toEqual([['input', 'float32', [1, 128, 128, 3]]]);
      expect(s.outputs.map((t) => [t.name, t.dtype, t.shape])).toEqual([['MobilenetV1/Predictions/Reshape_1', 'float32', [1, 1001]]]);
    } finally {
      await s.dispose();
    }
  });
});

describe('run: agrees with an independent binding of the same library', () => {
  // tfjs-tflite-node (TensorFlow's own Node binding) runs TFLite's built-in kernels; with XNNPACK
  // off, reef runs the same kernels of the same library, so the outputs must match bit for bit.
  it('mobilenet_v1_0.25_128_float: same output bytes as tfjs-tflite-node on the same input', async () => {
    const bytes = sharedBytes(MNV1_FLOAT);
    const require = createRequire(import.meta.url);
    const tfjs = require('tfjs-tflite-node/build/Release/node_tflite_binding.node') as {
      Interpreter: new (model: ArrayBuffer, opts: { threads: number }) => {
        getInputs(): Array<{ data(): Float32Array }>;
        getOutputs(): Array<{ data(): Float32Array }>;
        infer(): void;
      };
    };
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const ref = new tfjs.Interpreter(ab, { threads: 1 });
    const r = prng(7);
    const input = new Float32Array(128 * 128 * 3).map(() => r() * 2 - 1);
    ref.getInputs()[0].data().set(input);
    ref.infer();
    const expected = new Float32Array(ref.getOutputs()[0].data());

    const s = await load(bytes, { xnnpack: false, threads: 1 });
    try {
      const out = await s.run([input]);
      const got = out['MobilenetV1/Predictions/Reshape_1'].data as Float32Array;
      expect(Buffer.from(got.buffer)).toEqual(Buffer.from(expected.buffer));
    } finally {
      await s.dispose();
    }
  });
});

describe('run: feeds and outputs', () => {
  let s: Session;
  beforeAll(async () => { s = await load(sharedPath(VWW_INT8), { threads: 1 }); });
  afterAll(async () => { await s.dispose(); });

  it('takes feeds by name or in order and gives the same output', async () => {
    const x = randomInt8(27648, 1);
    const a = await s.run({ input_1_int8: x });
    const b = await s.run([x]);
    expect(a.Identity_int8.shape).toEqual([1, 2]);
    expect(a.Identity_int8.dtype).toBe('int8');
    expect(a.Identity_int8.data).toBeInstanceOf(Int8Array);
    expect(Array.from(a.Identity_int8.data as Int8Array)).toEqual(Array.from(b.Identity_int8.data as Int8Array));
  });

  it('writes into caller-provided output arrays', async () => {
    const x = randomInt8(27648, 2);
    const mine = new Int8Array(2).fill(99);
    const out = await s.run([x], { outputs: [mine] });
    expect(out.Identity_int8.data).toBe(mine);
    const fresh = await s.run([x]);
    expect(Array.from(mine)).toEqual(Array.from(fresh.Identity_int8.data as Int8Array));
  });

  it('reports invoke time measured in the addon', async () => {
    const t = await s.runTimed([randomInt8(27648, 3)]);
    expect(t.invokeMs).toBeGreaterThan(0);
    expect(Object.keys(t.outputs)).toEqual(['Identity_int8']);
  });

  it('EXPECTED FAILURE - wrong dtype', async () => {
    const e = await rejection(s.run([new Float32Array(27648)]));
    expect(e.code).toBe('REEF_INPUT_DTYPE_MISMATCH');
    expect(e.message).toBe('input "input_1_int8" expects int8 (Int8Array) but received Float32Array');
  });

  it('EXPECTED FAILURE - wrong element count', async () => {
    const e = await rejection(s.run([new Int8Array(100)]));
    expect(e.code).toBe('REEF_INPUT_SHAPE_MISMATCH');
    expect(e.message).toBe('input "input_1_int8" expects shape [1,96,96,3] (27648 elements) but received 100 elements');
  });

  it('EXPECTED FAILURE - wrong shape on a tensor feed', async () => {
    const e = await rejection(s.run([{ data: new Int8Array(27648), shape: [1, 3, 96, 96], dtype: 'int8' }]));
    expect(e.code).toBe('REEF_INPUT_SHAPE_MISMATCH');
    expect(e.message).toBe('input "input_1_int8" expects shape [1,96,96,3] but received [1,3,96,96]');
  });

  it('EXPECTED FAILURE - unknown input name', async () => {
    const e = await rejection(s.run({ image: new Int8Array(27648) }));
    expect(e.code).toBe('REEF_INPUT_NAME_MISMATCH');
    expect(e.message).toBe('unknown input "image"; the model\'s inputs are "input_1_int8" int8[1,96,96,3]');
  });

  it('EXPECTED FAILURE - missing input and wrong input count', async () => {
    const e1 = await rejection(s.run({}));
    expect(e1.code).toBe('REEF_INPUT_NAME_MISMATCH');
    expect(e1.message).toBe('missing input "input_1_int8" int8[1,96,96,3]');
    const e2 = await rejection(s.run([]));
    expect(e2.message).toBe('expected 1 input ("input_1_int8" int8[1,96,96,3]) but received 0');
  });

  it('EXPECTED FAILURE - wrong output array', async () => {
    const e = await rejection(s.run([new Int8Array(27648)], { outputs: [new Uint8Array(2)] }));
    expect(e.code).toBe('REEF_OUTPUT_MISMATCH');
    expect(e.message).toBe('output "Identity_int8" needs a Int8Array of 2 elements but received Uint8Array(2)');
  });
});

describe('load: bad input', () => {
  it('EXPECTED FAILURE - missing file', async () => {
    const e = await rejection(load('/nonexistent/model.tflite'));
    expect(e.code).toBe('REEF_MODEL_NOT_FOUND');
    expect(e.message).toBe('cannot read model /nonexistent/model.tflite: no such file');
  });

  it('EXPECTED FAILURE - bytes that are not a model', async () => {
    const e = await rejection(load(new TextEncoder().encode('this is not a tflite model at all')));
    expect(e.code).toBe('REEF_MODEL_INVALID');
    expect(e.message).toBe('<buffer>: not a TFLite model (file identifier at byte 4 is " is ", expected "TFL3")');
  });

  it('EXPECTED FAILURE - truncated model', async () => {
    const bytes = sharedBytes(VWW_INT8);
    const e = await rejection(load(bytes.subarray(0, 20000)));
    expect(e.code).toBe('REEF_MODEL_INVALID');
    // Refused in TypeScript, before the bytes reach TFLite.
    expect(e.message).toBe('<buffer>: Invalid TFLite model: Model.operator_codes: offset 333056 at byte 52 points outside the 20000-byte file');
  });

  it('EXPECTED FAILURE - too short to be a model', async () => {
    const e = await rejection(load(new Uint8Array(3)));
    expect(e.message).toBe('<buffer>: 3 bytes is too short to be a TFLite model');
  });

  it('EXPECTED FAILURE - an Edge TPU model without the Edge TPU runtime', async () => {
    const path = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
    const missing = await rejection(load(path));
    expect([missing.code, missing.message]).toEqual(['REEF_EDGETPU_RUNTIME_MISSING',
      `${path} was compiled for the Edge TPU, and no Edge TPU runtime (libedgetpu.so.1) is installed: install the Edge TPU runtime: ` +
      'add Coral\'s apt repository (https://coral.ai/software/#debian-packages) and `sudo apt-get install libedgetpu1-std`, or point ' +
      `REEF_EDGETPU_LIBRARY at a libedgetpu.so.1. Or run the CPU model, the one given to edgetpu_compiler (here: ${sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite')}).`]);
    // With the Edge TPU turned off, TFLite gets the model and cannot resolve the op: the same advice.
    const e = await rejection(load(path, { edgetpu: 'off' }));
    expect(e.code).toBe('REEF_CUSTOM_OP_UNRESOLVED');
    expect(e.message).toContain(`${path} was compiled for the Edge TPU (custom op "edgetpu-custom-op"): it needs the Edge TPU runtime (libedgetpu)`);
    expect(e.message).toContain(`(here: ${sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite')})`);
    expect(e.message).toContain('TFLite said: interpreter creation failed: Encountered unresolved custom op: edgetpu-custom-op.');
  });

  it('EXPECTED FAILURE - another unresolved custom op is named', async () => {
    const e = await rejection(load(sharedPath('models/tflite/invalid_model_invoking_error.tflite')));
    expect(e.code).toBe('REEF_CUSTOM_OP_UNRESOLVED');
    expect(e.message).toContain('uses the custom op "fake-op-double", which this runtime does not provide');
  });

  it('EXPECTED FAILURE - bad options', async () => {
    const path = sharedPath(VWW_INT8);
    expect((await rejection(load(path, { threads: 0 }))).message).toBe('Expected an integer from 1 to 256 for threads but received number 0');
    expect((await rejection(load(path, { pool: 1.5 }))).message).toBe('Expected an integer from 1 to 64 for pool but received number 1.5');
    expect((await rejection(load(path, { device: 'toaster' }))).code).toBe('REEF_DEVICE_PROFILE_INVALID');
    expect((await rejection(load(42 as unknown as string))).message).toBe('Expected a file path or a Uint8Array for model but received number 42');
  });

  it('EXPECTED FAILURE - a library path that does not exist', async () => {
    const e = await rejection(load(sharedPath(VWW_INT8), { library: '/nonexistent/libtensorflowlite_c.so' }));
    expect(e.code).toBe('REEF_LIBRARY_NOT_FOUND');
    expect(e.message).toContain('tried: /nonexistent/libtensorflowlite_c.so (option): no such file');
  });
});

describe('lifetime', () => {
  it('EXPECTED FAILURE - run after dispose', async () => {
    const s = await load(sharedPath(VWW_INT8));
    await s.dispose();
    const e = await rejection(s.run([new Int8Array(27648)]));
    expect(e.code).toBe('REEF_DISPOSED');
    expect(e.message).toBe(`the session for ${sharedPath(VWW_INT8)} was disposed; load the model again`);
    expect(s.disposed).toBe(true);
    await s.dispose(); // twice is fine
  });

  it('dispose during runs: the runs handed to the interpreter finish, queued ones reject', async () => {
    const s = await load(sharedPath(MNV1_FLOAT), { pool: 1 });
    const x = new Float32Array(128 * 128 * 3);
    const runs = [s.run([x]), s.run([x]), s.run([x]), s.run([x])];
    // One interpreter takes two runs (one invoking, one waiting in its runner); the rest queue.
    expect(s.inFlight).toBe(2);
    expect(s.queued).toBe(2);
    const disposed = s.dispose();
    const settled = await Promise.allSettled(runs);
    await disposed;
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    for (const r of settled.slice(0, 2)) {
      const scores = (r as PromiseFulfilledResult<Record<string, { data: TypedArray }>>).value['MobilenetV1/Predictions/Reshape_1'].data as Float32Array;
      expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3); // softmax output, intact
    }
    for (const r of settled.slice(2)) expect((r as PromiseRejectedResult).reason.code).toBe('REEF_DISPOSED');
    expect(s.inFlight).toBe(0);
  });
});

describe('concurrency', () => {
  it('200 runs queued at once on a pool of 2 each give the output they give alone', async () => {
    const OUT = 'MobilenetV1/Predictions/Reshape_1';
    const inputs = Array.from({ length: 200 }, (_, i) => {
      const r = prng(1000 + i);
      return new Float32Array(128 * 128 * 3).map(() => r() * 2 - 1);
    });
    const alone = await load(sharedPath(MNV1_FLOAT), { pool: 1 });
    const expected: Buffer[] = [];
    for (const x of inputs) expected.push(Buffer.from((await alone.run([x]))[OUT].data.buffer));
    await alone.dispose();
    // Every input gives a different output, so a mixed-up result cannot pass.
    expect(new Set(expected.map((e) => e.toString('hex'))).size).toBe(200);

    const pooled = await load(sharedPath(MNV1_FLOAT), { pool: 2 });
    try {
      const all = inputs.map((x) => pooled.run([x]));
      expect(pooled.inFlight).toBe(4); // two interpreters, two runs handed to each
      expect(pooled.queued).toBe(196);
      const results = await Promise.all(all);
      results.forEach((r, i) => expect(Buffer.from(r[OUT].data.buffer).equals(expected[i])).toBe(true));
      expect(pooled.queued).toBe(0);
      expect(pooled.inFlight).toBe(0);
    } finally {
      await pooled.dispose();
    }
  });
});

describe('model bytes are copied', () => {
  it('mutating the caller\'s buffer after load changes nothing', async () => {
    const bytes = new Uint8Array(readFileSync(sharedPath(VWW_INT8)));
    const s = await load(bytes);
    const x = randomInt8(27648, 5);
    const before = Array.from((await s.run([x])).Identity_int8.data as Int8Array);
    bytes.fill(0);
    const after = Array.from((await s.run([x])).Identity_int8.data as Int8Array);
    expect(after).toEqual(before);
    await s.dispose();
  });
});

describe('arrays the caller changes while runs are pending', () => {
  const OUT = 'MobilenetV1/Predictions/Reshape_1';
  const input = (seed: number) => { const r = prng(seed); return new Float32Array(128 * 128 * 3).map(() => r() * 2 - 1); };

  it('an input handed to the interpreter is copied at once: reusing the array changes nothing', async () => {
    const s = await load(sharedPath(MNV1_FLOAT));
    try {
      const a = input(1);
      const expected = Buffer.from((await s.run([a]))[OUT].data.buffer);
      const x = new Float32Array(a);
      const pending = s.run([x]); // handed over now (the interpreter is idle)
      x.fill(0);
      expect(Buffer.from((await pending)[OUT].data.buffer).equals(expected)).toBe(true);
    } finally {
      await s.dispose();
    }
  });

  it('EXPECTED FAILURE - a queued input that is transferred away rejects alone; the others run', async () => {
    const s = await load(sharedPath(MNV1_FLOAT), { pool: 1 });
    try {
      const xs = [input(2), input(3), input(4), input(5)];
      const runs = xs.map((x) => s.run([x]));
      expect(s.queued).toBe(2);
      structuredClone(xs[2].buffer, { transfer: [xs[2].buffer] }); // detaches the third input
      const settled = await Promise.allSettled(runs);
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const e = (settled[2] as PromiseRejectedResult).reason as ReefError;
      expect([e.code, e.message]).toEqual(['REEF_INPUT_SHAPE_MISMATCH', 'input 0 must be a typed array of 196608 bytes']);
      expect([s.inFlight, s.queued]).toEqual([0, 0]);
    } finally {
      await s.dispose();
    }
  });

  it('EXPECTED FAILURE - an output array transferred away while its run is in flight', async () => {
    const s = await load(sharedPath(MNV1_FLOAT));
    try {
      const out = new Float32Array(1001);
      const pending = s.run([input(6)], { outputs: [out] });
      structuredClone(out.buffer, { transfer: [out.buffer] });
      const e = await rejection(pending);
      expect([e.code, e.message]).toEqual(['REEF_OUTPUT_MISMATCH', 'output 0 was detached or replaced while the run was in flight']);
      expect((await s.run([input(7)]))[OUT].data.length).toBe(1001); // the session still works
    } finally {
      await s.dispose();
    }
  });

  it('EXPECTED FAILURE - invokeLoop counts out of range', async () => {
    const s = await load(sharedPath(VWW_INT8));
    try {
      await expect(s.invokeLoop(2 ** 32 + 3)).rejects.toThrow('Expected an integer from 1 to 10000000 for iterations but received number 4294967299');
      await expect(s.invokeLoop(0)).rejects.toThrow('Expected an integer from 1 to 10000000 for iterations but received number 0');
      expect((await s.invokeLoop(3)).length).toBe(3);
    } finally {
      await s.dispose();
    }
  });
});
