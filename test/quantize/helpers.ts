/**
 * Shared pieces for the quantizer tests: calibration/evaluation samples from ../shared images,
 * output SQNR of any model against the float one on the same inputs.
 */
import { readFileSync } from 'node:fs';
import { decodeImage, pixelsToInput } from '../../src/image/preprocess.js';
import { load } from '../../src/runtime/session.js';
import { dequantize } from '../../src/quant.js';
import { feedFor } from '../../src/quantize/evaluate.js';
import type { Sample } from '../../src/quantize/calibrate.js';
import type { TensorInfo } from '../../src/types.js';
import { imagenetLabels, sharedPath } from '../shared.js';

export function floatInfo(shape: number[]): TensorInfo {
  return { name: 'input', dtype: 'float32', shape, quantization: { scale: 0, zeroPoint: 0 }, byteLength: shape.reduce((a, b) => a * b, 4) };
}

/** ImageNet photos [from, to) squash-resized to `shape`, normalised with mean/std. */
export async function imagenetSamples(shape: number[], mean: number, std: number, from: number, to: number): Promise<Array<{ sample: Sample; label: number }>> {
  const labels = imagenetLabels();
  const info = floatInfo(shape);
  const out: Array<{ sample: Sample; label: number }> = [];
  for (const { file, tf1001 } of labels.slice(from, to)) {
    const pixels = await decodeImage(sharedPath(`images/imagenet/${file}`), info);
    out.push({ sample: [pixelsToInput(pixels, info, { mean, std })], label: tf1001 });
  }
  return out;
}

/** x in [0, 2*pi): n evenly spaced points, shifted by `offset` steps (hello_world's input). */
export function sineInputs(n: number, offset: number): Sample[] {
  return Array.from({ length: n }, (_, i) => [new Float32Array([(((i + offset) % n) / n) * 2 * Math.PI])]);
}

/** Output-0 SQNR (dB) of `model` against the float model at `floatPath` on `samples` (float inputs; int8/uint8 inputs are quantized). */
export async function outputSqnr(model: string | Uint8Array, floatPath: string, samples: Sample[]): Promise<number> {
  const f = await load(floatPath);
  const q = await load(model);
  let signal = 0;
  let noise = 0;
  try {
    for (const s of samples) {
      const fo = (await f.run(s))[f.outputs[0]!.name]!.data as Float32Array;
      const qi = q.inputs[0]!;
      const raw = (await q.run([feedFor(qi.dtype, qi.quantization, s[0]!)]))[q.outputs[0]!.name]!.data;
      const qo = q.outputs[0]!.quantization.scale ? dequantize(raw as Int8Array, q.outputs[0]!.quantization) : (raw as Float32Array);
      for (let k = 0; k < fo.length; k++) {
        signal += fo[k]! ** 2;
        noise += (fo[k]! - qo[k]!) ** 2;
      }
    }
  } finally {
    await f.dispose();
    await q.dispose();
  }
  return 10 * Math.log10(signal / noise);
}

export function modelBytes(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(sharedPath(rel)));
}

/** A NumPy .npy (format 1.0, little-endian float32) of the given shape. */
export function npyBytes(shape: number[], data: Float32Array): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
