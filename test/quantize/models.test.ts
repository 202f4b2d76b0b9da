/**
 * Every float model in ../shared/models/tflite (and ops/) quantizes, loads and runs with XNNPACK;
 * the ones without int8 kernels in TFLite 2.9 fail naming the op, and work with --allow-float.
 * Legacy uint8 models are re-quantized to int8. Calibration here is seeded random data (structure
 * and loadability are what is tested; accuracy is in acceptance.test.ts).
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ReefError } from '../../src/errors.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { quantizeTflite } from '../../src/quantize/pipeline.js';
import { load } from '../../src/runtime/session.js';
import { quantize, dequantize } from '../../src/quant.js';
import { prng, sharedPath } from '../shared.js';
import { imagenetSamples, modelBytes } from './helpers.js';

function randomSamples(bytes: Uint8Array, n: number, seed: number): Float32Array[][] {
  const sg = readTflite(bytes).subgraphs[0]!;
  const rnd = prng(seed);
  return Array.from({ length: n }, () => sg.inputs.map((i) => Float32Array.from({ length: sg.tensors[i]!.shape.reduce((a, b) => a * b, 1) }, () => rnd() * 2 - 1)));
}

/**
 * Runs the float model and the int8 one (XNNPACK on) on the same samples and returns the SQNR of
 * the int8 outputs against the float ones, in dB. The float model is the reference: an int8 model
 * with wrong weights or scales lands near 0 dB or below; a sound one well above 10 dB.
 */
async function sqnrAgainstFloat(floatBytes: Uint8Array, int8Bytes: Uint8Array, samples: Float32Array[][]): Promise<number> {
  const f = await load(floatBytes, { xnnpack: true });
  const q = await load(int8Bytes, { xnnpack: true });
  let signal = 0;
  let noise = 0;
  try {
    for (const sample of samples) {
      const fo = await f.run(sample);
      const qo = await q.run(q.inputs.map((t, i) => (t.dtype === 'float32' ? sample[i]! : quantize(sample[i]!, t.quantization, t.dtype as 'int8' | 'uint8'))));
      f.outputs.forEach((ft, k) => {
        const qt = q.outputs[k]!;
        const ref = fo[ft.name]!.data as Float32Array;
        const raw = qo[qt.name]!.data as ArrayLike<number>;
        const got = qt.quantization.scale ? dequantize(raw, qt.quantization) : raw;
        for (let j = 0; j < ref.length; j++) {
          signal += ref[j]! * ref[j]!;
          noise += (ref[j]! - got[j]!) ** 2;
        }
      });
    }
  } finally {
    await f.dispose();
    await q.dispose();
  }
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

const MIN_SQNR_DB = 10;

/** Ops of ../shared/models/tflite/ops that TFLite 2.9 cannot run in int8. */
const NO_INT8: Record<string, string> = {
  'abs-sqrt.float32.tflite': 'operator 1 (SQRT)',
  'relu6-power.float32.tflite': 'operator 2 (POW)',
};

describe('every float32 model under models/tflite/ops', () => {
  const files = readdirSync(sharedPath('models/tflite/ops')).filter((f) => f.endsWith('.float32.tflite')).sort();
  it('has the 51 float32 single-op models', () => expect(files.length).toBe(51));
  it.each(files)('%s', async (file) => {
    const bytes = modelBytes(`models/tflite/ops/${file}`);
    const data = { calibration: randomSamples(bytes, 8, 1), evaluation: randomSamples(bytes, 2, 2).map((inputs) => ({ inputs })) };
    if (NO_INT8[file]) {
      await expect(quantizeTflite(bytes, data, { source: file })).rejects.toThrow(`${NO_INT8[file]}: TFLite 2.9 has no int8 kernel for it`);
      const r = await quantizeTflite(bytes, data, { source: file, allowFloat: true });
      expect(r.report.floatOps.length).toBe(1);
      expect(await sqnrAgainstFloat(bytes, r.bytes, data.calibration)).toBeGreaterThan(MIN_SQNR_DB);
      return;
    }
    const r = await quantizeTflite(bytes, data, { source: file });
    const sg = r.model.subgraphs[0]!;
    expect(sg.tensors.filter((t) => t.dtype === 'float32').map((t) => t.name)).toEqual([]);
    const db = await sqnrAgainstFloat(bytes, r.bytes, data.calibration);
    if (process.env.REEF_TEST_SQNR) console.log(`${file}: ${db.toFixed(1)} dB`);
    expect(db).toBeGreaterThan(MIN_SQNR_DB);
  });
});

describe('the other float models', () => {
  it.each(['blazeface_front_float', 'resnet8_cifar10_float', 'hello_world_float', 'vww_96_float'])('%s quantizes, loads and runs with XNNPACK', async (name) => {
    const bytes = modelBytes(`models/tflite/${name}.tflite`);
    const calibration = randomSamples(bytes, 4, 3);
    const r = await quantizeTflite(bytes, { calibration }, { source: name, biasCorrection: false });
    const db = await sqnrAgainstFloat(bytes, r.bytes, calibration);
    if (process.env.REEF_TEST_SQNR) console.log(`${name}: ${db.toFixed(1)} dB`);
    expect(db).toBeGreaterThan(MIN_SQNR_DB);
  });

  it('ultraface_slim_320 (declares [1,1,2] for tensors TFLite computes as [1,4420,2]) quantizes with --allow-float, both outputs >= 20 dB on held photos', async () => {
    const photos = await imagenetSamples([1, 240, 320, 3], 127, 128, 0, 32);
    const r = await quantizeTflite(modelBytes('models/tflite/ultraface_slim_320.tflite'), {
      calibration: photos.slice(0, 24).map((p) => p.sample), evaluation: photos.slice(24).map((p) => ({ inputs: p.sample })),
    }, { source: 'ultraface_slim_320', allowFloat: true });
    // Its SHAPE ops write int32 (no int8 kernel): they stay float, and nothing else does.
    expect([...new Set(r.report.floatOps.map((o) => o.opcode))]).toEqual(['SHAPE']);
    console.log(`ultraface_slim_320: output SQNR ${r.report.outputs.map((o) => o.sqnrDb!.toFixed(1)).join(' / ')} dB on 8 held photos`);
    for (const o of r.report.outputs) expect(o.sqnrDb!).toBeGreaterThanOrEqual(20);
    // The written model carries the computed shapes: boxes [1,4420,4] and scores [1,4420,2].
    const sg = r.model.subgraphs[0]!;
    expect(sg.outputs.map((o) => sg.tensors[o]!.shape)).toEqual([[1, 4420, 4], [1, 4420, 2]]);
  }, 120_000);

  it('mnist_lstm_float fails with "LSTM not supported yet", and with --allow-float keeps the LSTM in float and classifies MNIST digits like the float model', async () => {
    const bytes = modelBytes('models/tflite/mnist_lstm_float.tflite');
    const digits = await Promise.all(Array.from({ length: 10 }, async (_, d) => {
      const [s] = await imagenetLikeMnist(d);
      return s!;
    }));
    const calibration = digits.map((s) => [s]);
    let err: unknown;
    try { await quantizeTflite(bytes, { calibration }, { source: 'mnist_lstm_float.tflite' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ReefError);
    expect((err as ReefError).code).toBe('REEF_QUANTIZE_UNSUPPORTED_OP');
    expect((err as ReefError).message).toContain('operator 0 (UNIDIRECTIONAL_SEQUENCE_LSTM): LSTM not supported yet');
    const r = await quantizeTflite(bytes, { calibration, evaluation: digits.map((s, d) => ({ inputs: [s], label: d })) }, { source: 'mnist_lstm_float.tflite', allowFloat: true });
    expect(r.model.subgraphs[0]!.operators.map((o) => o.opcode)).toEqual(['UNIDIRECTIONAL_SEQUENCE_LSTM', 'QUANTIZE', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX']);
    expect(r.report.accuracy!.int8).toBe(r.report.accuracy!.float);
    expect(r.report.top1Agreement).toBe(1);
  });
});

/** images/mnist/sampleD.png as a [1,28,28] float in [0,1]. */
async function imagenetLikeMnist(d: number): Promise<Float32Array[]> {
  const { decodeImage } = await import('../../src/image/preprocess.js');
  const info = { name: 'x', dtype: 'float32' as const, shape: [1, 28, 28, 1], quantization: { scale: 0, zeroPoint: 0 }, byteLength: 28 * 28 * 4 };
  const px = await decodeImage(sharedPath(`images/mnist/sample${d}.png`), info);
  return [Float32Array.from(px, (v) => v / 255)];
}

describe('legacy uint8 models are re-quantized to int8', () => {
  it('edgetpu/mobilenet_v1_0.25_128_quant: per-channel int8 weights, same activation scales, uint8 edges; top-1 on 100 photos within 2 of the uint8 model', async () => {
    const bytes = modelBytes('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
    const r = await quantizeTflite(bytes, { calibration: [] }, { source: 'mobilenet_v1_0.25_128_quant.tflite' });
    expect(r.report.kind).toBe('uint8-legacy');
    expect(r.report.legacyChanges![0]).toBe('28 uint8 weight tensor(s) (asymmetric, per-tensor) re-quantized to int8 symmetric (per-channel for conv and depthwise)');
    const sg = r.model.subgraphs[0]!;
    expect(sg.operators[0]!.opcode).toBe('QUANTIZE');
    expect(sg.operators.at(-1)!.opcode).toBe('QUANTIZE');
    const orig = readTflite(bytes).subgraphs[0]!;
    expect(sg.tensors[sg.inputs[0]!]!.quantization).toEqual(orig.tensors[orig.inputs[0]!]!.quantization);
    const a = await load(bytes, { xnnpack: false });
    const b = await load(r.bytes, { xnnpack: true });
    let ha = 0, hb = 0;
    try {
      const photos = await imagenetSamples([1, 128, 128, 3], 0, 1, 0, 100);
      for (const p of photos) {
        const px = Uint8Array.from(p.sample[0] as Float32Array);
        const ta = (await a.run([px]))[a.outputs[0]!.name]!.data as Uint8Array;
        const tb = (await b.run([px]))[b.outputs[0]!.name]!.data as Uint8Array;
        if (ta.indexOf(Math.max(...ta)) === p.label) ha++;
        if (tb.indexOf(Math.max(...tb)) === p.label) hb++;
      }
    } finally {
      await a.dispose();
      await b.dispose();
    }
    console.log(`legacy mobilenet_v1_0.25_128_quant top-1 on 100 photos: uint8 ${ha}, reef int8 ${hb}`);
    expect(Math.abs(ha - hb)).toBeLessThanOrEqual(2);
  });
});
