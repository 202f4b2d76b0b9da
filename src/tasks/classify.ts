/**
 * Classification post-processing: pure functions over typed arrays.
 */
import { dequantize } from '../quant.js';
import type { TensorInfo } from '../types.js';

export interface Class {
  index: number;
  score: number;
}

/**
 * The k highest scores, highest first; equal scores keep the lower index first.
 * @example topK(new Float32Array([0.1, 0.7, 0.2]), 2) // [{index:1,score:0.7},{index:2,score:0.2}]
 */
export function topK(scores: ArrayLike<number>, k: number): Class[] {
  const n = Math.min(Math.max(0, Math.floor(k)), scores.length);
  const best: Class[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (best.length === n && (n === 0 || s <= best[n - 1].score)) continue;
    let j = best.length === n ? n - 1 : best.length;
    if (best.length < n) best.push({ index: i, score: s });
    while (j > 0 && best[j - 1].score < s) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = { index: i, score: s };
  }
  return best;
}

/** The output a classifier's scores come from: a single output of shape [N], [1,N] or [1,1,...,N], N >= 2. */
export function classifierOutput(outputs: readonly TensorInfo[]): TensorInfo | null {
  if (outputs.length !== 1) return null;
  const o = outputs[0]!;
  const n = o.shape[o.shape.length - 1] ?? 0;
  const ok = o.shape.length >= 1 && n >= 2 && o.shape.slice(0, -1).every((d) => d === 1) &&
    (o.dtype === 'float32' || o.dtype === 'uint8' || o.dtype === 'int8');
  return ok ? o : null;
}

/**
 * The top k classes of a classifier's output tensor (dequantized when quantized), with labels.
 * @example classify(out[o.name].data, o, labels, 5) // [{ index: 401, label: 'academic gown', score: 0.35 }, ...]
 */
export function classify(data: ArrayLike<number>, output: TensorInfo, labels: readonly string[] | null, k: number): LabelledClass[] {
  const scores = output.quantization.scale !== 0 ? dequantize(data, output.quantization) : data;
  return topK(scores, k).map((c) => ({ index: c.index, label: labels ? labels[c.index] ?? null : null, score: c.score }));
}

export interface LabelledClass extends Class {
  label: string | null;
}
