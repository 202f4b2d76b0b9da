/**
 * `reef bench` end to end on a real shared model (vww_96_int8): the JSON fields
 * exist, are numbers and are consistent with each other. No timed assertions.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult, Stats } from '../../src/bench/report.js';
import { runBench, sharedModel, sharedPath } from './helpers.js';

const STAT_KEYS = ['n', 'min', 'max', 'mean', 'std', 'p10', 'p50', 'p90', 'p95', 'p99'] as const;

function checkStats(s: Stats, n: number): void {
  for (const k of STAT_KEYS) {
    expect(typeof s[k], k).toBe('number');
    expect(Number.isFinite(s[k]), k).toBe(true);
  }
  expect(s.n).toBe(n);
  expect(s.min).toBeGreaterThan(0);
  expect(s.min).toBeLessThanOrEqual(s.p10);
  expect(s.p10).toBeLessThanOrEqual(s.p50);
  expect(s.p50).toBeLessThanOrEqual(s.p90);
  expect(s.p90).toBeLessThanOrEqual(s.p95);
  expect(s.p95).toBeLessThanOrEqual(s.p99);
  expect(s.p99).toBeLessThanOrEqual(s.max);
  expect(s.mean).toBeGreaterThanOrEqual(s.min);
  expect(s.mean).toBeLessThanOrEqual(s.max);
  expect(s.std).toBeGreaterThanOrEqual(0);
}

function checkResult(r: BenchResult, model: string, runs: number): void {
  expect(r.model).toBe(model);
  expect(r.backend).toBe('tflite-native');
  expect(r.runs).toBe(runs);
  checkStats(r.latency_ms, runs);
  checkStats(r.invoke_ms, runs);
  expect(r.series.latency_ms).toHaveLength(runs);
  expect(r.series.invoke_ms).toHaveLength(runs);
  // The invoke is inside run(): run by run, and so at every percentile.
  r.series.latency_ms.forEach((lat, i) => expect(r.series.invoke_ms[i]).toBeLessThanOrEqual(lat));
  expect(r.invoke_ms.p50).toBeLessThanOrEqual(r.latency_ms.p50);
  expect(r.invoke_ms.min).toBeLessThanOrEqual(r.latency_ms.min);
  expect(r.overhead_ms.p50).toBeGreaterThanOrEqual(0);
  expect(r.overhead_ms.ratio).toBeGreaterThanOrEqual(1);
  expect(r.throughput_ips).toBeGreaterThan(0);
  // Single stream cannot beat one run per mean latency (up to the JSON's rounding: ips to 0.01, ms to 1e-4).
  if (r.throughput.mode === 'single-stream') expect(r.throughput_ips).toBeLessThanOrEqual(1000 / (r.latency_ms.mean - 5e-5) + 0.005);
  for (const k of ['init_ms', 'first_inference_ms', 'first_invoke_ms', 'peak_rss_mb'] as const) {
    expect(typeof r[k], k).toBe('number');
    expect(r[k], k).toBeGreaterThan(0);
  }
  expect(r.first_invoke_ms).toBeLessThanOrEqual(r.first_inference_ms);
  expect(r.load_ms.model + r.load_ms.interpreters).toBeLessThanOrEqual(r.init_ms);
  expect(r.rss_mb.start).toBeGreaterThan(0);
  expect(r.rss_mb.growth).toBe(Number((r.rss_mb.end - r.rss_mb.start).toFixed(1)));
  expect(r.peak_rss_mb).toBeGreaterThanOrEqual(r.rss_mb.max_sampled - 0.1);
  expect(r.env.tflite_version).toBe('2.9.0');
  expect(r.env.model_sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(r.env.threads).toBe(r.threads);
  expect(r.env.delegate).toBe(r.xnnpack ? 'xnnpack' : 'none');
  expect(r.env.cores).toBeGreaterThan(0);
  expect(typeof r.env.reef_version).toBe('string');
}

describe('reef bench on vww_96_int8', () => {
  const model = sharedModel('tflite/vww_96_int8.tflite');
  const dir = mkdtempSync(join(tmpdir(), 'reef-bench-e2e-'));

  it('--json: every stable field, consistent; the table prints the overhead', async () => {
    const r = await runBench([model, '--runs', '40', '--warmup', '3', '--threads', '1', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as BenchResult;
    checkResult(result, model, 40);
    expect(result).toMatchObject({ threads: 1, xnnpack: true, delegate: 'xnnpack', workers: 1, warmup: 3, inputs: 'random (seed 1)' });
    writeFileSync(join(dir, 'a.json'), r.out);

    const text = await runBench([model, '--runs', '20', '--warmup', '2', '--threads', '1']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^ +overhead +\d+\.\d+ ms per run at p50 \(latency p50 \/ invoke p50 = \d\.\d{3}\), mean -?\d+\.\d+ ms$/m);
    expect(text.out).toMatch(/^ +latency( +\d+\.\d+){8}$/m);
  });

  it('a sweep --threads 1,2 --xnnpack on,off: four results in order, one table, one plot', async () => {
    const plot = join(dir, 'sweep.svg');
    const r = await runBench([model, '--runs', '15', '--warmup', '2', '--threads', '1,2', '--xnnpack', 'on,off', '--json', '--plot', plot]);
    expect(r.code).toBe(0);
    const results = JSON.parse(r.out) as BenchResult[];
    expect(results.map((x) => [x.threads, x.xnnpack])).toEqual([[1, true], [1, false], [2, true], [2, false]]);
    for (const x of results) checkResult(x, model, 15);
    writeFileSync(join(dir, 'sweep.json'), r.out);
    const svg = readFileSync(plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline class="cdf"/g)).toHaveLength(4);
  });

  it('--workers 2: offline throughput with its own latency under load', async () => {
    const r = await runBench([model, '--runs', '20', '--warmup', '2', '--threads', '1', '--workers', '2', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as BenchResult;
    checkResult(result, model, 20);
    expect(result.workers).toBe(2);
    expect(result.throughput).toMatchObject({ mode: 'offline', workers: 2, in_flight: 4, runs: 40 });
    checkStats(result.throughput.latency_ms, 40);
    expect(result.throughput_ips).toBe(result.throughput.ips);
  });

  it('--input: real samples from a folder of images', async () => {
    const folder = sharedPath('images/person96');
    const r = await runBench([model, '--runs', '4', '--warmup', '1', '--threads', '1', '--input', folder, '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as BenchResult;
    expect(result.inputs).toBe(`2 sample(s) from ${folder}`);
    expect(result.runs).toBe(4);
  });

  it('--compare a.json sweep.json: one column per result, ratios, noise notes', async () => {
    const r = await runBench(['--compare', join(dir, 'a.json'), join(dir, 'sweep.json')]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0].trim().split(/ {2,}/)).toEqual([
      'a.json', 'sweep.json [t1]', 'sweep.json [t1 no-xnnpack]', 'sweep.json [t2]', 'sweep.json [t2 no-xnnpack]',
    ]);
    expect(lines[1]).toMatch(/^latency p50 ms +\d+\.\d+( +\d+\.\d+ \(x\d+\.\d\d\)){4}$/);
    expect(r.out).toMatch(/^sweep\.json \[t1\]: latency p50 x\d+\.\d{3}, (within run-to-run noise|(faster|slower) than a\.json beyond noise) /m);
    const json = await runBench(['--compare', join(dir, 'a.json'), join(dir, 'sweep.json'), '--json']);
    expect((JSON.parse(json.out) as { labels: string[] }).labels).toHaveLength(5);
  });
});
