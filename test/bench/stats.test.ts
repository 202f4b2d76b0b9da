/**
 * Statistics on synthetic series whose answers were computed by hand with the
 * type-7 rule (h = (n-1)p; x[floor h] + frac(h) * (x[floor h + 1] - x[floor h]))
 * and checked against Python's statistics.quantiles(method="inclusive").
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapMedianRatio, histogram, mean, median, percentile, percentileSorted, stdDev, summarize,
} from '../../src/bench/stats.js';
import { mulberry32 } from '../../src/bench/inputs.js';

describe('percentile (type 7, linear between closest ranks)', () => {
  it('1..10: p10 1.9, p50 5.5, p90 9.1, p95 9.55, p99 9.91', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(xs, 0.1)).toBeCloseTo(1.9, 12);
    expect(percentile(xs, 0.5)).toBe(5.5);
    expect(percentile(xs, 0.9)).toBeCloseTo(9.1, 12);
    expect(percentile(xs, 0.95)).toBeCloseTo(9.55, 12);
    expect(percentile(xs, 0.99)).toBeCloseTo(9.91, 12);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile(xs, 1)).toBe(10);
  });

  it('0..100: every percentile lands on a value (h is an integer)', () => {
    const xs = Array.from({ length: 101 }, (_, i) => 100 - i); // descending: the function sorts
    for (const p of [0, 0.1, 0.5, 0.9, 0.95, 0.99, 1]) expect(percentile(xs, p)).toBeCloseTo(p * 100, 12);
  });

  it('unsorted [3.5, 0.25, 7, 1, 12.5, 2]: p10 0.625, p50 2.75, p90 9.75, p95 11.125, p99 12.225', () => {
    const s = summarize([3.5, 0.25, 7, 1, 12.5, 2]);
    expect(s.n).toBe(6);
    expect(s.min).toBe(0.25);
    expect(s.max).toBe(12.5);
    expect(s.p10).toBeCloseTo(0.625, 12);
    expect(s.p50).toBeCloseTo(2.75, 12);
    expect(s.p90).toBeCloseTo(9.75, 12);
    expect(s.p95).toBeCloseTo(11.125, 12);
    expect(s.p99).toBeCloseTo(12.225, 12);
    expect(s.mean).toBeCloseTo(4.375, 12);
    expect(s.std).toBeCloseTo(4.641524534029741, 12);
  });

  it('two values [10, 20]: p50 15, p90 19, p99 19.9', () => {
    expect(percentile([20, 10], 0.5)).toBe(15);
    expect(percentile([20, 10], 0.9)).toBeCloseTo(19, 12);
    expect(percentile([20, 10], 0.99)).toBeCloseTo(19.9, 12);
  });

  it('one value: every statistic is that value, std 0', () => {
    expect(summarize([4.25])).toEqual({ n: 1, min: 4.25, max: 4.25, mean: 4.25, std: 0, p10: 4.25, p50: 4.25, p90: 4.25, p95: 4.25, p99: 4.25 });
  });

  it('median of an even series is the mean of the middle two; percentileSorted does not sort', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(percentileSorted([1, 2, 3, 4], 0.9)).toBeCloseTo(3.7, 12);
  });

  it('sample standard deviation uses n - 1', () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    expect(stdDev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });

  it('EXPECTED FAILURE - empty series, NaN element, fraction out of range', () => {
    expect(() => summarize([])).toThrow(new RangeError('summary of an empty series'));
    expect(() => percentile([1, Number.NaN], 0.5)).toThrow(new RangeError('percentile: element 1 is NaN, not a finite number'));
    expect(() => percentile([1, 2], 1.5)).toThrow(new RangeError('percentile fraction must be in [0, 1], got 1.5'));
  });
});

describe('histogram', () => {
  it('equal-width bins, the last one closed', () => {
    expect(histogram([0, 1, 2, 3, 4], 2)).toEqual({ edges: [0, 2, 4], counts: [2, 3] });
    expect(histogram([0, 1, 2, 3, 4], 4)).toEqual({ edges: [0, 1, 2, 3, 4], counts: [1, 1, 1, 2] });
  });
  it('a constant series is one bin', () => {
    expect(histogram([3, 3, 3], 10)).toEqual({ edges: [3, 3], counts: [3] });
  });
});

describe('bootstrapMedianRatio', () => {
  const a = Array.from({ length: 40 }, (_, i) => 10 + (i % 10) * 0.1);
  it('the same series: the interval contains 1', () => {
    const r = bootstrapMedianRatio(a, a);
    expect(r.lo).toBeLessThanOrEqual(1);
    expect(r.hi).toBeGreaterThanOrEqual(1);
  });
  it('a series 20% slower: the interval excludes 1 and contains 1.2', () => {
    const r = bootstrapMedianRatio(a, a.map((x) => x * 1.2));
    expect(r.lo).toBeGreaterThan(1);
    expect(r.lo).toBeLessThanOrEqual(1.2 + 1e-12);
    expect(r.hi).toBeGreaterThanOrEqual(1.2 - 1e-12);
  });
  it('is reproducible (seeded)', () => {
    const b = a.map((x, i) => x + (i % 3) * 0.05);
    expect(bootstrapMedianRatio(a, b, 200, 0.9, 7)).toEqual(bootstrapMedianRatio(a, b, 200, 0.9, 7));
  });
});

describe('mulberry32', () => {
  it('gives the same series for the same seed', () => {
    const r = mulberry32(42);
    expect([r(), r()]).toEqual([0.6011037519201636, 0.44829055899754167]);
  });
});
