/**
 * read -> write -> read gives the identical IR for every shared model, the rewrite costs about
 * one model's worth of memory, and the rewritten bytes run in TensorFlow Lite bit for bit like
 * the original on the same inputs (compiled Edge TPU models: refused the same way, as no
 * Edge TPU is attached here).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { load } from '../../src/index.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { TYPED_ARRAY_FOR, type TypedArray } from '../../src/types.js';
import { prng, sharedBytes } from '../shared.js';
import { allTfliteModels, isCompiled, snapshot } from './helpers.js';

const digest = (a: ArrayBufferView): string => `${a.byteLength}:${createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex')}`;

describe('TFLite write round trip', () => {
  it('reading the written file gives an identical IR, for every shared model', () => {
    for (const rel of allTfliteModels()) {
      const original = readTflite(sharedBytes(rel));
      const written = writeTflite(original);
      expect(String.fromCharCode(...written.subarray(4, 8)), rel).toBe('TFL3');
      expect(snapshot(readTflite(written)), rel).toEqual(snapshot(original));
    }
  });

  it('rewriting the biggest model allocates about one model size, not ten', () => {
    const rel = 'models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite';
    const bytes = sharedBytes(rel);
    expect(bytes.length).toBe(4185023);
    const model = readTflite(bytes);
    const before = process.memoryUsage().arrayBuffers;
    const written = writeTflite(model);
    const grown = process.memoryUsage().arrayBuffers - before;
    // The output is a view of the one buffer the builder allocated (sized up front).
    expect(written.buffer.byteLength).toBeLessThan(bytes.length * 1.1);
    expect(grown).toBeLessThan(bytes.length * 1.5);
    expect(written.length).toBe(4185551); // flatbuffer + the re-appended labelmap.txt zip
  });

  it('Buffer data stays 16-byte aligned in the written file (TFLite converter layout)', () => {
    const written = writeTflite(readTflite(sharedBytes('models/edgetpu/tf2_mobilenet_v2_1.0_224_ptq.tflite')));
    const again = readTflite(written);
    for (const b of again.buffers) if (b.length > 0) expect((b.byteOffset - written.byteOffset) % 16).toBe(0);
  });
});

function randomInput(dtype: string, length: number, rnd: () => number): TypedArray {
  const Ctor = TYPED_ARRAY_FOR[dtype as keyof typeof TYPED_ARRAY_FOR];
  if (!Ctor) throw new Error(`no typed array for ${dtype}`);
  const a = new Ctor(length);
  for (let i = 0; i < length; i++) {
    const r = rnd();
    if (a instanceof Float32Array || a instanceof Float64Array) a[i] = r * 2 - 1;
    else if (a instanceof BigInt64Array) a[i] = BigInt(Math.floor(r * 4));
    else if (a instanceof BigUint64Array) a[i] = BigInt(Math.floor(r * 4));
    else if (a instanceof Uint16Array && dtype === 'float16') a[i] = 0x3c00; // 1.0
    else if (a instanceof Int32Array) a[i] = Math.floor(r * 4);
    else (a as Uint8Array)[i] = Math.floor(r * 256);
  }
  return a;
}

async function outcome(bytes: Uint8Array, seed: number): Promise<{ error?: string; outputs?: Record<string, string> }> {
  let session;
  try {
    session = await load(bytes, { threads: 1 });
  } catch (e) {
    return { error: (e as { code?: string }).code ?? String(e) };
  }
  try {
    const rnd = prng(seed);
    const feeds = session.inputs.map((t) => randomInput(t.dtype, t.byteLength / (TYPED_ARRAY_FOR[t.dtype]?.BYTES_PER_ELEMENT ?? 1), rnd));
    const out = await session.run(feeds);
    return { outputs: Object.fromEntries(Object.entries(out).map(([k, v]) => [k, digest(v.data)])) };
  } catch (e) {
    return { error: (e as { code?: string }).code ?? String(e) };
  } finally {
    await session.dispose();
  }
}

describe('TFLite write round trip through the runtime', () => {
  it('written models give bit-identical outputs on the same inputs (every shared CPU model)', async () => {
    let ran = 0;
    for (const rel of allTfliteModels().filter((r) => !isCompiled(r))) {
      const bytes = sharedBytes(rel);
      const written = writeTflite(readTflite(bytes));
      const t0 = performance.now();
      const a = await outcome(bytes, 7);
      const b = await outcome(written, 7);
      if (process.env.REEF_TEST_TIMING) console.log(rel, (performance.now() - t0).toFixed(0), 'ms');
      expect(b, rel).toEqual(a);
      // Built to fail: it uses a custom op no runtime provides.
      if (rel.endsWith('invalid_model_invoking_error.tflite')) expect(a.error, rel).toBe('REEF_CUSTOM_OP_UNRESOLVED');
      else {
        expect(a.error, rel).toBeUndefined();
        ran++;
      }
    }
    expect(ran).toBe(73);
  });

  it('compiled Edge TPU models are refused the same way before and after the rewrite', async () => {
    const compiled = allTfliteModels().filter(isCompiled);
    expect(compiled.length).toBe(6); // the six *_edgetpu.tflite in models/edgetpu
    for (const rel of compiled) {
      const bytes = sharedBytes(rel);
      const a = await outcome(bytes, 1);
      const b = await outcome(writeTflite(readTflite(bytes)), 1);
      expect(a, rel).toEqual({ error: 'REEF_EDGETPU_RUNTIME_MISSING' });
      expect(b, rel).toEqual(a);
    }
  });
});
