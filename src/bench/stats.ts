/**
 * Statistics of benchmark series. Pure functions over arrays of numbers.
 *
 * Percentiles use linear interpolation between closest ranks (Hyndman & Fan
 * type 7: numpy's default `linear`, Excel's PERCENTILE.INC, R's default):
 * for p in [0, 1] over the sorted series x[0..n-1], h = (n - 1) * p and
 * q(p) = x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]).
 * So q(0) = min, q(1) = max, and q(0.5) is the usual median. See docs/bench.md.
 */
import { mulberry32 } from './inputs.js';

/** The summary every series gets in reports. All values in the series' unit. */
export interface Summary {
  n: number;
  min: number;
  max: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator; 0 when n = 1). */
  std: number;
  p10: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

function checkSeries(xs: ArrayLike<number>, what: string): void {
  if (xs.length === 0) throw new RangeError(`${what} of an empty series`);
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new RangeError(`${what}: element ${i} is ${xs[i]}, not a finite number`);
  }
}

/** A sorted copy (ascending, numeric) of a series. */
export function sorted(xs: ArrayLike<number>): Float64Array {
  return Float64Array.from(xs).sort();
}

/**
 * Percentile of an ascending-sorted series by linear interpolation (type 7).
 * @param p fraction in [0, 1] (0.99 for p99).
 * @example
 * percentileSorted([1, 2, 3, 4], 0.5); // 2.5
 * percentileSorted([1, 2, 3, 4], 0.9); // 3.7
 */
export function percentileSorted(s: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile fraction must be in [0, 1], got ${p}`);
  checkSeries(s, 'percentile');
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo] + (h - lo) * (s[hi] - s[lo]);
}

/** Percentile of an unsorted series (see {@link percentileSorted}). */
export function percentile(xs: ArrayLike<number>, p: number): number {
  return percentileSorted(sorted(xs), p);
}

/** Median (type-7 p50: the mean of the two middle values for even n). */
export function median(xs: ArrayLike<number>): number {
  return percentile(xs, 0.5);
}

/** Arithmetic mean. */
export function mean(xs: ArrayLike<number>): number {
  checkSeries(xs, 'mean');
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Sample standard deviation (Bessel's n - 1; 0 for a single value). Two-pass for accuracy. */
export function stdDev(xs: ArrayLike<number>): number {
  const m = mean(xs);
  if (xs.length < 2) return 0;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) ss += (xs[i] - m) ** 2;
  return Math.sqrt(ss / (xs.length - 1));
}

/**
 * min, max, mean, std and p10/p50/p90/p95/p99 of a series.
 * @example
 * summarize([4, 1, 3, 2]).p50; // 2.5
 */
export function summarize(xs: ArrayLike<number>): Summary {
  checkSeries(xs, 'summary');
  const s = sorted(xs);
  return {
    n: s.length,
    min: s[0],
    max: s[s.length - 1],
    mean: mean(s),
    std: stdDev(s),
    p10: percentileSorted(s, 0.1),
    p50: percentileSorted(s, 0.5),
    p90: percentileSorted(s, 0.9),
    p95: percentileSorted(s, 0.95),
    p99: percentileSorted(s, 0.99),
  };
}

/** A confidence interval. */
export interface Interval {
  lo: number;
  hi: number;
}

/**
 * Percentile bootstrap interval of the ratio median(b) / median(a): resample
 * each series with replacement `rounds` times (seeded, so the answer is
 * reproducible) and take the (1-level)/2 and (1+level)/2 percentiles of the
 * resampled ratios. An interval containing 1 means the two medians are not
 * distinguishable from run-to-run noise at that level.
 */
export function bootstrapMedianRatio(
  a: ArrayLike<number>, b: ArrayLike<number>, rounds = 1000, level = 0.95, seed = 1,
): Interval {
  checkSeries(a, 'bootstrap');
  checkSeries(b, 'bootstrap');
  const rng = mulberry32(seed);
  const ratios = new Float64Array(rounds);
  const ra = new Float64Array(a.length);
  const rb = new Float64Array(b.length);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < ra.length; i++) ra[i] = a[Math.floor(rng() * a.length)];
    for (let i = 0; i < rb.length; i++) rb[i] = b[Math.floor(rng() * b.length)];
    const ma = percentileSorted(ra.sort(), 0.5);
    ratios[r] = ma === 0 ? Infinity : percentileSorted(rb.sort(), 0.5) / ma;
  }
  const finite = ratios.filter(Number.isFinite).sort();
  if (finite.length === 0) return { lo: Infinity, hi: Infinity };
  return { lo: percentileSorted(finite, (1 - level) / 2), hi: percentileSorted(finite, (1 + level) / 2) };
}

/** Histogram with `bins` equal-width bins over [min, max]; the last bin includes max. */
export interface Histogram {
  edges: number[];
  counts: number[];
}

/** Equal-width histogram of a series (one bin when all values are equal). */
export function histogram(xs: ArrayLike<number>, bins: number): Histogram {
  checkSeries(xs, 'histogram');
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const s = sorted(xs);
  const lo = s[0];
  const hi = s[s.length - 1];
  if (hi === lo) return { edges: [lo, hi], counts: [s.length] };
  const w = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * w));
  const counts = new Array<number>(bins).fill(0);
  for (const x of s) counts[Math.min(bins - 1, Math.floor((x - lo) / w))]++;
  return { edges, counts };
}
