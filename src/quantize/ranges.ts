/**
 * Choosing each activation's real range from its calibration statistics.
 *
 * - `minmax`: the observed min and max (TensorFlow's post-training behaviour).
 * - `percentile`: each tail clipped at the given percentile of all values (e.g. 99.99).
 * - `mse`: the range [a*min, a*max], a in (0, 1], that minimises the expected squared error of
 *   int8 quantization (rounding noise inside the range plus clipping error outside), estimated
 *   from the histogram.
 */
import type { TensorHistogram } from './histogram.js';

export type RangeMethod = 'minmax' | 'percentile' | 'mse';

export const RANGE_METHODS: readonly RangeMethod[] = ['minmax', 'percentile', 'mse'];

export interface RangeOptions {
  method: RangeMethod;
  /** For `percentile`: the percentile kept on each side (default 99.99). */
  percentile?: number;
}

/** A real range [min, max]. */
export type Range = [number, number];

/**
 * The range to quantize a tensor to, by method.
 * @example chooseRange(stats, { method: 'percentile', percentile: 99.9 })
 */
export function chooseRange(h: TensorHistogram, opts: RangeOptions): Range {
  if (h.count === 0) return [0, 0];
  switch (opts.method) {
    case 'minmax':
      return [h.min, h.max];
    case 'percentile':
      return percentileRange(h, opts.percentile ?? 99.99);
    case 'mse':
      return mseRange(h);
  }
}

function percentileRange(h: TensorHistogram, p: number): Range {
  const { counts, start, width } = h.dense();
  const total = h.count;
  const tail = total * (1 - p / 100);
  // Low side: smallest edge with more than `tail` values below it.
  let acc = 0;
  let lo = h.min;
  for (let j = 0; j < counts.length; j++) {
    acc += counts[j]!;
    if (acc > tail) {
      lo = Math.max(h.min, start + j * width);
      break;
    }
  }
  acc = 0;
  let hi = h.max;
  for (let j = counts.length - 1; j >= 0; j--) {
    acc += counts[j]!;
    if (acc > tail) {
      hi = Math.min(h.max, start + (j + 1) * width);
      break;
    }
  }
  return [lo, hi];
}

function mseRange(h: TensorHistogram): Range {
  const { counts, start, width } = h.dense();
  const lo0 = Math.min(h.min, 0);
  const hi0 = Math.max(h.max, 0);
  // Bins with data, as (centre, count) pairs.
  const centres: number[] = [];
  const ns: number[] = [];
  for (let j = 0; j < counts.length; j++) {
    if (counts[j]! > 0) {
      const c = start + (j + 0.5) * width;
      centres.push(Math.max(h.min, Math.min(h.max, c)));
      ns.push(counts[j]!);
    }
  }
  let best: Range = [h.min, h.max];
  let bestErr = Infinity;
  for (let step = 100; step >= 20; step--) {
    const a = step / 100;
    const lo = lo0 * a;
    const hi = hi0 * a;
    const s = (hi - lo) / 255;
    const noise = (s * s) / 12;
    let err = 0;
    for (let k = 0; k < centres.length; k++) {
      const c = centres[k]!;
      const d = c > hi ? c - hi : c < lo ? lo - c : 0;
      err += ns[k]! * (d * d + noise);
    }
    if (err < bestErr * (1 - 1e-9)) {
      bestErr = err;
      best = [lo, hi];
    }
  }
  return best;
}
