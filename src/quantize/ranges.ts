/**
 * Choosing each activation's real range from its calibration statistics.
 *
 * - `minmax`: the observed min and max (TensorFlow's post-training behaviour).
 * - `percentile`: each tail clipped at the given percentile of all values (e.g. 99.99).
 * - `mse`: the range [a*min, a*max], a in (0, 1], that minimises the expected squared error of
 *   int8 quantization (rounding noise inside the range plus clipping error outside), estimated
 *   from the histogram.
 * - `auto` (pipeline.ts): per tensor, whichever of the ranges below ({@link candidateRanges}) has
 *   the least expected error with the int8 parameters it would really get; then the whole model
 *   is checked against each single method and the best one kept.
 */
import type { TensorHistogram } from './histogram.js';
import { rangeToParams } from './params.js';

/** A method that gives one range per tensor from its statistics. */
export type SingleMethod = 'minmax' | 'percentile' | 'mse';
export type RangeMethod = SingleMethod | 'auto';

export const SINGLE_METHODS: readonly SingleMethod[] = ['minmax', 'percentile', 'mse'];
export const RANGE_METHODS: readonly RangeMethod[] = ['auto', ...SINGLE_METHODS];

export interface RangeOptions {
  method: SingleMethod;
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

/** The ranges `auto` chooses among for one tensor, labelled as the report shows them. */
export function candidateRanges(h: TensorHistogram, percentile = 99.99): Array<{ method: string; range: Range }> {
  const out = [
    { method: 'minmax', range: chooseRange(h, { method: 'minmax' }) },
    { method: `percentile ${percentile}`, range: chooseRange(h, { method: 'percentile', percentile }) },
    { method: 'mse', range: chooseRange(h, { method: 'mse' }) },
  ];
  if (percentile !== 99.9) out.push({ method: 'percentile 99.9', range: chooseRange(h, { method: 'percentile', percentile: 99.9 }) });
  return out;
}

/**
 * Expected squared error (summed over the values seen) of quantizing the tensor to int8 with the
 * parameters `range` really gets (extended to 0, zero point nudged): rounding noise s^2/12 inside,
 * the distance to the nearest edge outside.
 */
export function rangeError(h: TensorHistogram, range: Range): number {
  if (h.count === 0) return 0;
  const p = rangeToParams(range[0], range[1]);
  const lo = p.scale * (-128 - p.zeroPoint);
  const hi = p.scale * (127 - p.zeroPoint);
  const noise = (p.scale * p.scale) / 12;
  const { counts, start, width } = h.dense();
  let err = 0;
  for (let j = 0; j < counts.length; j++) {
    const n = counts[j]!;
    if (n === 0) continue;
    const c = Math.max(h.min, Math.min(h.max, start + (j + 0.5) * width));
    const d = c > hi ? c - hi : c < lo ? lo - c : 0;
    err += n * (d * d + noise);
  }
  return err;
}

/** Per tensor, the candidate range with the least {@link rangeError}; ties keep the earlier (minmax first). */
export function autoRange(h: TensorHistogram, percentile?: number): { method: string; range: Range } {
  let best: { method: string; range: Range } | null = null;
  let bestErr = Infinity;
  for (const c of candidateRanges(h, percentile)) {
    const e = rangeError(h, c.range);
    if (e < bestErr * (1 - 1e-9)) { bestErr = e; best = c; }
  }
  return best ?? { method: 'minmax', range: [h.min, h.max] };
}
