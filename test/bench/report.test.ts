/**
 * From raw measurements to the JSON result, the tables, the SVG plot and the
 * comparison, on synthetic measurements (no model, no timing).
 */
import { describe, expect, it } from 'vitest';
import { toResult, formatResult, formatSweep, fmtMs, type BenchResult } from '../../src/bench/report.js';
import { compareResults, formatComparison, noiseVerdict, rangesOverlap } from '../../src/bench/compare.js';
import { logTicks, niceTicks, plotLatency } from '../../src/bench/plot.js';
import type { BenchMeasurement } from '../../src/bench/run.js';
import type { HostEnv } from '../../src/bench/env.js';

const host: HostEnv = {
  platform: 'linux', arch: 'arm64', kernel: '6.1.0', node: 'v20.0.0',
  cpu: { model: 'Cortex-A72', cores: 4, hardware: 'BCM2835' }, board: 'Raspberry Pi 4 Model B Rev 1.4',
  governor: 'performance', freqMHz: { cur: 1800, min: 600, max: 1800 },
  thermal: [{ zone: 'thermal_zone0', type: 'cpu-thermal', celsius: 51.5 }], throttled: null, coreThrottleCount: null, loadAvg: [1.5, 1.25, 1], warnings: [],
};

function measurement(latencyMs: number[], invokeMs: number[], extra: Partial<BenchMeasurement> = {}): BenchMeasurement {
  return {
    model: '/models/m.tflite', sha256: 'ab'.repeat(32), point: { threads: 2, xnnpack: true, variant: null },
    library: { path: '/lib/libtensorflowlite_c.so', version: '2.9.0', xnnpack: true }, device: 'raspberry-pi-4',
    delegate: { name: 'xnnpack', reason: 'default' },
    inputs: 'random (seed 1)', load: { readMs: 1, modelMs: 2, interpretersMs: 3, initMs: 6.5 },
    first: { latencyMs: 9, invokeMs: 8 }, warmup: 10, latencyMs, invokeMs,
    wallMs: latencyMs.reduce((a, b) => a + b, 0) + 1, offline: null,
    rss: { startMb: 100, endMb: 100.5, maxMb: 101, peakMb: 120.25 }, ...extra,
  };
}

const created = new Date('2026-01-02T03:04:05.000Z');

describe('toResult', () => {
  // 20 runs: latency 1.0, 1.1, ..., 2.9 ms; invoke 0.2 ms less each (paired overhead 0.2).
  const lat = Array.from({ length: 20 }, (_, i) => 1 + i * 0.1);
  const inv = lat.map((x) => x - 0.2);
  const r = toResult(measurement(lat, inv), host, '0.1.0', created);

  it('has the stable fields with the right numbers', () => {
    expect(r).toMatchObject({
      schema: 'reef-bench/1', model: '/models/m.tflite', backend: 'tflite-native', delegate: 'xnnpack', threads: 2,
      xnnpack: true, variant: null, workers: 1, runs: 20, warmup: 10,
      init_ms: 6.5, load_ms: { read: 1, model: 2, interpreters: 3 }, first_inference_ms: 9, first_invoke_ms: 8,
      peak_rss_mb: 120.3, rss_mb: { start: 100, end: 100.5, growth: 0.5, max_sampled: 101 },
      created: '2026-01-02T03:04:05.000Z',
    });
    // n = 20, h = 19p: p50 = 1.95, p90 = x[17] + 0.1*0.1 = 2.71, p99 = x[18] + 0.81*0.1 = 2.881
    expect(r.latency_ms).toEqual({ n: 20, min: 1, max: 2.9, mean: 1.95, std: 0.5916, p10: 1.19, p50: 1.95, p90: 2.71, p95: 2.805, p99: 2.881 });
    expect(r.invoke_ms.p50).toBe(1.75);
    expect(r.overhead_ms).toEqual({ p50: 0.2, mean: 0.2, ratio: 1.1143 });
    expect(r.throughput).toMatchObject({ mode: 'single-stream', workers: 1, in_flight: 1, runs: 20 });
    expect(r.throughput_ips).toBe(Number((20 / ((39 + 1) / 1000)).toFixed(2))); // 500
    expect(r.series.latency_ms).toHaveLength(20);
  });

  it('a model XNNPACK refused: the result says built-in kernels ran, and why', () => {
    const reason = "XNNPACK refused this model (interpreter creation failed: no detail from TensorFlow Lite); TensorFlow Lite's built-in kernels run it";
    const f = toResult(measurement(lat, inv, { delegate: { name: 'none', reason } }), host, '0.1.0', created);
    expect([f.xnnpack, f.delegate, f.delegate_reason, f.env.delegate]).toEqual([true, 'none', reason, 'none']);
    expect(f.env.warnings).toContain(`XNNPACK was asked for but did not run: ${reason}`);
  });

  it('env carries the host, library, delegate, threads, profile, reef version and sha256', () => {
    expect(r.env).toEqual({
      cpu: 'Cortex-A72', cores: 4, hardware: 'BCM2835', board: 'Raspberry Pi 4 Model B Rev 1.4', platform: 'linux', arch: 'arm64',
      kernel: '6.1.0', node: 'v20.0.0', governor: 'performance', freq_mhz: { cur: 1800, min: 600, max: 1800 },
      thermal: [{ zone: 'thermal_zone0', type: 'cpu-thermal', celsius: 51.5 }], throttled: null, core_throttle_count: null,
      load_avg: [1.5, 1.25, 1],
      tflite_version: '2.9.0', tflite_library: '/lib/libtensorflowlite_c.so', xnnpack_available: true, delegate: 'xnnpack',
      threads: 2, device_profile: 'raspberry-pi-4', reef_version: '0.1.0', model_sha256: 'ab'.repeat(32), warnings: [],
    });
  });

  it('offline: throughput from the offline phase; warnings for oversubscription and few runs', () => {
    const off = toResult(measurement([1, 2, 3], [0.5, 1.5, 2], {
      offline: { workers: 4, inFlight: 8, latencyMs: [2, 2, 2, 2], invokeMs: [1, 1, 1, 1], wallMs: 2 },
    }), host, '0.1.0', created);
    expect(off.workers).toBe(4);
    expect(off.throughput).toMatchObject({ mode: 'offline', workers: 4, in_flight: 8, runs: 4, ips: 2000 });
    expect(off.throughput_ips).toBe(2000);
    expect(off.overhead_ms).toEqual({ p50: 0.5, mean: 0.6667, ratio: 1.3333 });
    expect(off.env.warnings).toEqual([
      '4 worker(s) x 2 thread(s) is more than the 4 cores: threads compete for cores',
      'only 3 measured run(s): p90 and above are interpolated from few values',
    ]);
  });

  it('the tables for people', () => {
    const text = formatResult(r);
    expect(text.split('\n').slice(0, 2)).toEqual([
      'reef bench  m.tflite  (sha256 abababababab)',
      '  tflite-native, XNNPACK, 2 threads; 20 runs after 10 warm-up; inputs random (seed 1)',
    ]);
    expect(text).toMatch(/^ +latency +1\.000 +1\.950 +2\.710 +2\.805 +2\.881 +2\.900 +1\.950 +0\.5916$/m);
    expect(text).toContain('  overhead    0.2000 ms per run at p50 (latency p50 / invoke p50 = 1.114), mean 0.2000 ms\n');
    const sweep = formatSweep([r, { ...r, threads: 4, xnnpack: false }]);
    const rows = sweep.split('\n').filter((l) => /^\s+\d/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^\s+4\s+off\s+1\.950\s+2\.710\s+2\.881\s+1\.750\s+0\.2000 \(11\.4%\)/);
  });

  it('fmtMs keeps about four significant digits', () => {
    expect([fmtMs(0.012345), fmtMs(1.23456), fmtMs(12.3456), fmtMs(123.456)]).toEqual(['0.0123', '1.235', '12.35', '123.5']);
  });
});

describe('plot', () => {
  it('niceTicks uses 1-2-5 steps', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.37, 0.52, 5)).toEqual([0.4, 0.45, 0.5]); // raw step 0.03 -> 0.05
  });
  it('one histogram polygon and one CDF polyline per series, valid standalone SVG', () => {
    const svg = plotLatency([
      { label: 'a <1 thread>', values: [1, 2, 2, 3, 3, 3, 4] },
      { label: 'b', values: [2, 3, 4] },
    ], { title: 'test', bins: 5 });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polygon class="hist"/g)).toHaveLength(2);
    expect(svg.match(/<polyline class="cdf"/g)).toHaveLength(2);
    expect(svg).toContain('a &lt;1 thread&gt;: p50 3 ms, p99 3.94 ms (n=7)');
    // The CDF of series b has 1 + 2 * 3 points.
    const cdfB = /<polyline class="cdf" points="([^"]+)"[^>]*stroke="#d62728"/.exec(svg);
    expect(cdfB?.[1].split(' ')).toHaveLength(7);
  });
  it('EXPECTED FAILURE - nothing to plot', () => {
    expect(() => plotLatency([{ label: 'x', values: [] }])).toThrow('nothing to plot: every series is empty');
  });
});

describe('compare', () => {
  const base = Array.from({ length: 30 }, (_, i) => 10 + (i % 6) * 0.2);
  const a = toResult(measurement(base, base.map((x) => x - 0.1)), host, '0.1.0', created);
  const same = toResult(measurement(base.map((x, i) => x + ((i % 2) * 0.02 - 0.01)), base), host, '0.1.0', created);
  const slow = toResult(measurement(base.map((x) => x * 1.5), base), host, '0.1.0', created);

  it('p10-p90 overlap rule', () => {
    expect(rangesOverlap({ p10: 1, p90: 2 }, { p10: 2, p90: 3 })).toBe(true);
    expect(rangesOverlap({ p10: 1, p90: 2 }, { p10: 2.01, p90: 3 })).toBe(false);
  });

  it('bootstrap verdicts from the series; overlap rule when a file has no series', () => {
    expect(noiseVerdict(a, same)).toMatchObject({ method: 'bootstrap', withinNoise: true });
    const v = noiseVerdict(a, slow);
    expect(v.method).toBe('bootstrap');
    expect(v.withinNoise).toBe(false);
    expect(v.ratio).toBeCloseTo(1.5, 12);
    const noSeries = (r: BenchResult): BenchResult => ({ ...r, series: undefined as unknown as BenchResult['series'] });
    expect(noiseVerdict(noSeries(a), noSeries(slow))).toEqual({ ratio: v.ratio, method: 'p10-p90 overlap', interval: null, withinNoise: false });
    expect(noiseVerdict(noSeries(a), noSeries(same))).toMatchObject({ method: 'p10-p90 overlap', withinNoise: true });
  });

  it('side by side with ratios to the first, and a note per result', () => {
    const c = compareResults([{ label: 'a.json', result: a }, { label: 'same.json', result: same }, { label: 'slow.json', result: slow }]);
    expect(c.labels).toEqual(['a.json', 'same.json', 'slow.json']);
    const p50 = c.rows.find((r) => r.metric === 'latency p50 ms');
    expect(p50?.ratios[0]).toBe(1);
    expect(p50?.ratios[2]).toBeCloseTo(1.5, 3);
    expect(c.notes).toEqual([]);
    const text = formatComparison(c);
    // base series 10, 10.2, ..., 11 repeated: median 10.5
    expect(text).toMatch(/^latency p50 ms +10\.50 +10\.50 \(x1\.00\) +15\.75 \(x1\.50\)$/m);
    expect(text).toMatch(/^same\.json: latency p50 x1\.00\d, within run-to-run noise \(95% bootstrap interval of the median ratio [\d.]+-[\d.]+ contains 1\)$/m);
    expect(text).toMatch(/^slow\.json: latency p50 x1\.500, slower than a\.json beyond noise \(95% bootstrap interval of the median ratio [\d.]+-[\d.]+ excludes 1\)$/m);
  });

  it('notes different models and CPUs', () => {
    const other = { ...slow, env: { ...slow.env, model_sha256: 'cd'.repeat(32), cpu: 'AMD EPYC', cores: 2 } };
    expect(compareResults([{ label: 'a', result: a }, { label: 'b', result: other }]).notes).toEqual([
      '2 different models (by sha256): the ratios compare models, not settings',
      'different CPUs: Cortex-A72 x4 / AMD EPYC x2',
    ]);
  });
});

describe('plot scales', () => {
  it('log axis when the values span more than 20x, with 1-2-5 ticks', () => {
    const svg = plotLatency([{ label: 'on', values: [0.3, 0.31, 0.5] }, { label: 'off', values: [10, 12, 16] }]);
    expect(svg).toContain('latency (ms, log scale)');
    expect(logTicks(0.3, 16)).toEqual([0.5, 1, 2, 5, 10]);
    const linear = plotLatency([{ label: 'x', values: [1, 2, 3] }]);
    expect(linear).toContain('latency (ms)</text>');
  });
});
