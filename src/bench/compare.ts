/**
 * `reef bench --compare a.json b.json ...`: results side by side, each as a
 * ratio to the first, with a note when a difference is within the run-to-run
 * noise.
 *
 * Noise rule: two latency results are "within noise" when the 95% bootstrap
 * interval of median(b)/median(a) (from the per-run series) contains 1, or,
 * when either file has no series, when their p10-p90 ranges overlap.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ReefError } from '../errors.js';
import { fmtMs, type BenchResult } from './report.js';
import { bootstrapMedianRatio, type Interval } from './stats.js';

/** A result and where it came from. */
export interface LabelledResult {
  label: string;
  result: BenchResult;
}

function isResult(v: unknown): v is BenchResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const lat = r.latency_ms as Record<string, unknown> | undefined;
  const inv = r.invoke_ms as Record<string, unknown> | undefined;
  return typeof r.model === 'string' && typeof lat === 'object' && lat !== null && typeof inv === 'object' && inv !== null &&
    ['p10', 'p50', 'p90', 'p99'].every((k) => typeof lat[k] === 'number') && typeof inv.p50 === 'number' &&
    typeof r.throughput_ips === 'number';
}

function pointOf(r: BenchResult): string {
  return `t${r.threads}${r.xnnpack ? '' : ' no-xnnpack'}${r.variant ? ` ${r.variant}` : ''}`;
}

/**
 * Reads result files written by `reef bench --json` (one result, or an array from a sweep).
 * Each result gets a label: the file name, plus the point when the file holds several.
 */
export async function readResults(paths: string[]): Promise<LabelledResult[]> {
  if (paths.length < 2) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected at least 2 result files for --compare but received ${paths.length}`);
  }
  const out: LabelledResult[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read result file ${path}: no such file`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `${path} is not JSON (${(e as Error).message}); --compare takes files written by \`reef bench --json\``);
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    if (list.length === 0 || !list.every(isResult)) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `${path} is not a reef bench result (expected model, latency_ms.p10/p50/p90/p99, invoke_ms.p50, throughput_ips); write it with \`reef bench --json\``);
    }
    for (const r of list) out.push({ label: list.length === 1 ? basename(path) : `${basename(path)} [${pointOf(r)}]`, result: r });
  }
  return out;
}

/** How one result's latency relates to the baseline's. */
export interface NoiseVerdict {
  /** median(this) / median(baseline) of the end-to-end latency. */
  ratio: number;
  method: 'bootstrap' | 'p10-p90 overlap';
  interval: Interval | null;
  withinNoise: boolean;
}

/** True when the closed ranges [a.p10, a.p90] and [b.p10, b.p90] share a point. */
export function rangesOverlap(a: { p10: number; p90: number }, b: { p10: number; p90: number }): boolean {
  return a.p10 <= b.p90 && b.p10 <= a.p90;
}

/** Is `b`'s latency distinguishable from `a`'s? (see the module comment for the rule). */
export function noiseVerdict(a: BenchResult, b: BenchResult): NoiseVerdict {
  const ratio = b.latency_ms.p50 / a.latency_ms.p50;
  const sa = a.series?.latency_ms;
  const sb = b.series?.latency_ms;
  if (Array.isArray(sa) && Array.isArray(sb) && sa.length >= 5 && sb.length >= 5) {
    const interval = bootstrapMedianRatio(sa, sb, 1000, 0.95, 1);
    return { ratio, method: 'bootstrap', interval, withinNoise: interval.lo <= 1 && 1 <= interval.hi };
  }
  return { ratio, method: 'p10-p90 overlap', interval: null, withinNoise: rangesOverlap(a.latency_ms, b.latency_ms) };
}

interface Metric {
  name: string;
  get: (r: BenchResult) => number;
  fmt: (x: number) => string;
}

const METRICS: Metric[] = [
  { name: 'latency p50 ms', get: (r) => r.latency_ms.p50, fmt: fmtMs },
  { name: 'latency p90 ms', get: (r) => r.latency_ms.p90, fmt: fmtMs },
  { name: 'latency p99 ms', get: (r) => r.latency_ms.p99, fmt: fmtMs },
  { name: 'invoke p50 ms', get: (r) => r.invoke_ms.p50, fmt: fmtMs },
  { name: 'overhead p50 ms', get: (r) => r.overhead_ms?.p50 ?? r.latency_ms.p50 - r.invoke_ms.p50, fmt: fmtMs },
  { name: 'throughput inf/s', get: (r) => r.throughput_ips, fmt: (x) => x.toFixed(1) },
  { name: 'init ms', get: (r) => r.init_ms, fmt: fmtMs },
  { name: 'first inference ms', get: (r) => r.first_inference_ms, fmt: fmtMs },
  { name: 'peak RSS MB', get: (r) => r.peak_rss_mb, fmt: (x) => x.toFixed(1) },
];

/** The comparison as data: per metric the values and ratios to the first result, and the noise verdicts. */
export interface Comparison {
  labels: string[];
  rows: Array<{ metric: string; values: Array<number | null>; ratios: Array<number | null> }>;
  verdicts: Array<NoiseVerdict | null>;
  /** What makes the results less comparable (different models, CPUs, TFLite builds). */
  notes: string[];
}

function distinct(values: Array<string | number | null | undefined>): string[] {
  return [...new Set(values.map((v) => String(v ?? 'unknown')))];
}

function comparabilityNotes(rs: BenchResult[]): string[] {
  const notes: string[] = [];
  const models = distinct(rs.map((r) => r.env?.model_sha256 ?? r.model));
  if (models.length > 1) notes.push(`${models.length} different models (by sha256): the ratios compare models, not settings`);
  const cpus = distinct(rs.map((r) => (r.env ? `${r.env.cpu} x${r.env.cores}` : null)));
  if (cpus.length > 1) notes.push(`different CPUs: ${cpus.join(' / ')}`);
  const libs = distinct(rs.map((r) => r.env?.tflite_version));
  if (libs.length > 1) notes.push(`different TFLite versions: ${libs.join(' / ')}`);
  return notes;
}

/** Compares every result with the first. */
export function compareResults(results: LabelledResult[]): Comparison {
  const base = results[0].result;
  return {
    labels: results.map((r) => r.label),
    rows: METRICS.map((m) => {
      const b = typeof m.get(base) === 'number' ? m.get(base) : null;
      const values = results.map((r) => {
        const v = m.get(r.result);
        return typeof v === 'number' && Number.isFinite(v) ? v : null;
      });
      return { metric: m.name, values, ratios: values.map((v) => (v === null || b === null || b === 0 ? null : v / b)) };
    }),
    verdicts: results.map((r, i) => (i === 0 ? null : noiseVerdict(base, r.result))),
    notes: comparabilityNotes(results.map((r) => r.result)),
  };
}

/** The side-by-side table, ratios to the first column, and a noise note per result. */
export function formatComparison(c: Comparison): string {
  const header = ['', ...c.labels];
  const rows = c.rows.map((row) => {
    const metric = METRICS.find((m) => m.name === row.metric);
    return [row.metric, ...row.values.map((v, i) => {
      if (v === null) return '-';
      const s = metric ? metric.fmt(v) : String(v);
      const r = row.ratios[i];
      return i === 0 || r === null ? s : `${s} (x${r.toFixed(2)})`;
    })];
  });
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((r) => r[col].length)));
  const lines = all.map((r) => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join('  ').trimEnd());
  lines.push('');
  lines.push(`ratios are to ${c.labels[0]}; latency and time: < 1 is faster; throughput: > 1 is faster`);
  c.verdicts.forEach((v, i) => {
    if (!v) return;
    const how = v.method === 'bootstrap' && v.interval
      ? `95% bootstrap interval of the median ratio ${v.interval.lo.toFixed(3)}-${v.interval.hi.toFixed(3)}`
      : 'p10-p90 latency ranges';
    const verdict = v.withinNoise
      ? `within run-to-run noise (${how}${v.method === 'bootstrap' ? ' contains 1' : ' overlap'})`
      : `${v.ratio < 1 ? 'faster' : 'slower'} than ${c.labels[0]} beyond noise (${how}${v.method === 'bootstrap' ? ' excludes 1' : ' do not overlap'})`;
    lines.push(`${c.labels[i]}: latency p50 x${v.ratio.toFixed(3)}, ${verdict}`);
  });
  for (const note of c.notes) lines.push(`note: ${note}`);
  return lines.join('\n') + '\n';
}
