/**
 * Fuzz-style robustness: 1,000 seeded random truncations and byte flips of real models must
 * each either parse (and then inspect and round-trip) or fail with REEF_MODEL_INVALID, quickly.
 * The PRNG is seeded, so any failure reproduces: the message names the case number.
 */
import { describe, expect, it } from 'vitest';
import { isReefError } from '../../src/errors.js';
import { inspectTflite } from '../../src/inspect/report.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { prng, sharedBytes } from '../shared.js';
import { snapshot } from './helpers.js';

const MODELS = [
  'models/tflite/hello_world_int8.tflite',
  'models/tflite/mnist_lstm_int8.tflite',
  'models/tflite/ops/conv.uint8.tflite',
  'models/tflite/ops/transposeconv-samepad-stride2.float32.tflite',
  'models/edgetpu/split_concat_edgetpu.tflite',
  'models/edgetpu/mobilenet_v1_0.25_128_quant.tflite',
  'models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite',
];

/** -0 and 0 are the same number to a flatbuffer writer (defaults are compared with ==). */
const norm = (v: unknown): unknown => JSON.parse(JSON.stringify(snapshot(v), (_k, x: unknown) => (Object.is(x, -0) ? 0 : x))) as unknown;

describe('fuzz: truncated and bit-flipped models', () => {
  it('1,000 mutations each parse or fail with REEF_MODEL_INVALID, within the time bound', () => {
    const originals = MODELS.map((m) => sharedBytes(m));
    const rnd = prng(20240611);
    const int = (n: number): number => Math.floor(rnd() * n);
    let parsed = 0, refused = 0, slowest = 0;
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      const k = int(originals.length);
      const src = originals[k]!;
      let bytes: Uint8Array;
      let what: string;
      if (i % 4 === 0) {
        const len = int(src.length);
        bytes = new Uint8Array(src.subarray(0, len));
        what = `truncated to ${len}`;
      } else {
        bytes = new Uint8Array(src);
        const flips = 1 + int(8);
        // Most flips land in the first 64 KB, where the structure (not the weights) lives.
        const span = rnd() < 0.8 ? Math.min(src.length, 65536) : src.length;
        const at: number[] = [];
        for (let f = 0; f < flips; f++) {
          const p = int(span);
          bytes[p] = bytes[p]! ^ (1 << int(8));
          at.push(p);
        }
        what = `bits flipped at ${at.join(',')}`;
      }
      const label = `case ${i}: ${MODELS[k]} ${what}`;
      const t0 = performance.now();
      try {
        const model = readTflite(bytes);
        inspectTflite(model, bytes.length);
        const again = readTflite(writeTflite(model));
        expect(norm(again), label).toEqual(norm(model));
        parsed++;
      } catch (e) {
        if (!isReefError(e, 'REEF_MODEL_INVALID')) throw new Error(`${label}: threw ${String(e)}`, { cause: e });
        expect((e as Error).message, label).toMatch(/^Invalid TFLite model: \S.*: \S/);
        refused++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    const total = performance.now() - started;
    if (process.env.REEF_TEST_TIMING) console.log(`fuzz: ${parsed} parsed, ${refused} refused, ${total.toFixed(0)} ms total, slowest ${slowest.toFixed(1)} ms`);
    expect(parsed + refused).toBe(1000);
    expect(refused).toBeGreaterThan(100);
    // The "within a time bound" is about hangs, not speed: bounds far above the ~10 ms a
    // case takes, so only a reader that loops or explodes on crafted bytes trips them.
    expect(slowest).toBeLessThan(10_000);
    expect(total).toBeLessThan(120_000);
  });
});
