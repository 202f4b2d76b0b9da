/**
 * Benchmark results: the JSON for scripts (stable field names, see
 * docs/bench.md) and the tables for people.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { reefVersion } from '../paths.js';
import type { HostEnv } from './env.js';
import type { BenchMeasurement } from './run.js';
import { median, summarize, type Summary } from './stats.js';

/** Version of the JSON layout; bumped only when a stable field changes meaning. */
export const RESULT_SCHEMA = 'reef-bench/1';

/** Summary statistics in the JSON (ms for times). */
export type Stats = Summary;

/** The environment block of a result. */
export interface ResultEnv {
  cpu: string;
  cores: number;
  hardware: string | null;
  board: string | null;
  platform: string;
  arch: string;
  kernel: string;
  node: string;
  governor: string | null;
  freq_mhz: HostEnv['freqMHz'];
  thermal: HostEnv['thermal'];
  throttled: HostEnv['throttled'];
  core_throttle_count: number | null;
  /** 1, 5 and 15 minute load averages when the point finished (includes the benchmark itself). */
  load_avg: [number, number, number] | null;
  tflite_version: string;
  tflite_library: string;
  xnnpack_available: boolean;
  delegate: 'xnnpack' | 'edgetpu' | 'none';
  threads: number;
  device_profile: string | null;
  reef_version: string;
  model_sha256: string;
  warnings: string[];
}

/** One benchmark result: one model at one point. */
export interface BenchResult {
  schema: string;
  model: string;
  backend: 'tflite-native' | 'onnxruntime';
  /** The delegate that ran: 'none' when XNNPACK was off, absent, or refused the model. */
  delegate: 'xnnpack' | 'edgetpu' | 'none';
  /** Why that delegate (e.g. "XNNPACK refused this model (...)"). */
  delegate_reason: string;
  threads: number;
  xnnpack: boolean;
  variant: string | null;
  workers: number;
  runs: number;
  warmup: number;
  inputs: string;
  /** End to end: session.run(), from the call to the resolved promise. */
  latency_ms: Stats;
  /** TfLiteInterpreterInvoke alone, measured in the addon. */
  invoke_ms: Stats;
  /** What reef adds: per-run latency minus invoke (paired), and latency p50 / invoke p50. */
  overhead_ms: { p50: number; mean: number; ratio: number };
  throughput_ips: number;
  throughput: {
    mode: 'single-stream' | 'offline';
    workers: number;
    in_flight: number;
    runs: number;
    ips: number;
    latency_ms: Stats;
    invoke_ms: Stats;
  };
  /** load(): read + model + interpreter creation, wall time. */
  init_ms: number;
  load_ms: { read: number; model: number; interpreters: number };
  first_inference_ms: number;
  first_invoke_ms: number;
  /** Peak RSS of the process so far (getrusage), MB. */
  peak_rss_mb: number;
  rss_mb: { start: number; end: number; growth: number; max_sampled: number };
  series: { latency_ms: number[]; invoke_ms: number[] };
  env: ResultEnv;
  created: string;
}


const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

function roundStats(s: Summary): Stats {
  return {
    n: s.n, min: round(s.min), max: round(s.max), mean: round(s.mean), std: round(s.std),
    p10: round(s.p10), p50: round(s.p50), p90: round(s.p90), p95: round(s.p95), p99: round(s.p99),
  };
}

/**
 * Turns raw measurements into the JSON result.
 * @example
 * const result = toResult(await measure(model, point, settings), await probeEnv());
 * console.log(JSON.stringify(result));
 */
export function toResult(m: BenchMeasurement, host: HostEnv, version = reefVersion(), now = new Date()): BenchResult {
  const lat = summarize(m.latencyMs);
  const inv = summarize(m.invokeMs);
  const paired = m.latencyMs.map((x, i) => x - m.invokeMs[i]);
  const onnx = m.model.toLowerCase().endsWith('.onnx');
  const delegate = m.delegate.name;
  const single = {
    mode: 'single-stream' as const, workers: 1, in_flight: 1, runs: m.latencyMs.length,
    ips: round(m.latencyMs.length / (m.wallMs / 1000), 2), latency_ms: roundStats(lat), invoke_ms: roundStats(inv),
  };
  const throughput = m.offline === null ? single : {
    mode: 'offline' as const, workers: m.offline.workers, in_flight: m.offline.inFlight, runs: m.offline.latencyMs.length,
    ips: round(m.offline.latencyMs.length / (m.offline.wallMs / 1000), 2),
    latency_ms: roundStats(summarize(m.offline.latencyMs)), invoke_ms: roundStats(summarize(m.offline.invokeMs)),
  };
  return {
    schema: RESULT_SCHEMA,
    model: m.model,
    backend: onnx ? 'onnxruntime' : 'tflite-native',
    delegate,
    delegate_reason: m.delegate.reason,
    threads: m.point.threads,
    xnnpack: m.point.xnnpack,
    variant: m.point.variant,
    workers: m.offline?.workers ?? 1,
    runs: m.latencyMs.length,
    warmup: m.warmup,
    inputs: m.inputs,
    latency_ms: roundStats(lat),
    invoke_ms: roundStats(inv),
    overhead_ms: { p50: round(median(paired)), mean: round(paired.reduce((a, b) => a + b, 0) / paired.length), ratio: round(lat.p50 / inv.p50) },
    throughput_ips: throughput.ips,
    throughput,
    init_ms: round(m.load.initMs, 3),
    load_ms: { read: round(m.load.readMs, 3), model: round(m.load.modelMs, 3), interpreters: round(m.load.interpretersMs, 3) },
    first_inference_ms: round(m.first.latencyMs),
    first_invoke_ms: round(m.first.invokeMs),
    peak_rss_mb: round(m.rss.peakMb, 1),
    rss_mb: { start: round(m.rss.startMb, 1), end: round(m.rss.endMb, 1), growth: round(round(m.rss.endMb, 1) - round(m.rss.startMb, 1), 1), max_sampled: round(m.rss.maxMb, 1) },
    series: { latency_ms: m.latencyMs.map((x) => round(x)), invoke_ms: m.invokeMs.map((x) => round(x)) },
    env: {
      cpu: host.cpu.model, cores: host.cpu.cores, hardware: host.cpu.hardware, board: host.board,
      platform: host.platform, arch: host.arch, kernel: host.kernel, node: host.node,
      governor: host.governor, freq_mhz: host.freqMHz, thermal: host.thermal, throttled: host.throttled,
      core_throttle_count: host.coreThrottleCount, load_avg: host.loadAvg,
      tflite_version: m.library.version, tflite_library: m.library.path, xnnpack_available: m.library.xnnpack,
      delegate, threads: m.point.threads, device_profile: m.device, reef_version: version, model_sha256: m.sha256,
      warnings: [...host.warnings, ...pointWarnings(m, host)],
    },
    created: now.toISOString(),
  };
}

function pointWarnings(m: BenchMeasurement, host: HostEnv): string[] {
  const w: string[] = [];
  const workers = m.offline?.workers ?? 1;
  if (host.cpu.cores > 0 && m.point.threads * workers > host.cpu.cores) {
    w.push(`${workers} worker(s) x ${m.point.threads} thread(s) is more than the ${host.cpu.cores} cores: threads compete for cores`);
  }
  if (m.point.xnnpack && m.delegate.name === 'none') w.push(`XNNPACK was asked for but did not run: ${m.delegate.reason}`);
  if (m.latencyMs.length < 20) w.push(`only ${m.latencyMs.length} measured run(s): p90 and above are interpolated from few values`);
  return w;
}

/** Formats a time in ms with about four significant digits. */
export function fmtMs(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 10 ? x.toFixed(2) : a >= 1 ? x.toFixed(3) : x.toFixed(4);
}

function fmtIps(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

function table(rows: string[][], rightAlign: (col: number) => boolean): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (rightAlign(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

/** One line describing the environment. */
export function envLine(e: ResultEnv): string {
  const temp = e.thermal.length ? e.thermal.map((z) => `${z.type ?? z.zone} ${z.celsius.toFixed(1)} C`).join(', ') : 'n/a';
  return `${e.cpu} x${e.cores}${e.board ? ` (${e.board})` : ''}, ${e.platform}-${e.arch} ${e.kernel}, node ${e.node}; ` +
    `governor ${e.governor ?? 'n/a'}; temperature ${temp}${e.throttled ? `; throttled=${e.throttled.raw}` : ''}; ` +
    `load ${e.load_avg ? e.load_avg.map((x) => x.toFixed(2)).join(' ') : 'n/a'}; ` +
    `TFLite ${e.tflite_version}; profile ${e.device_profile ?? 'none'}; reef ${e.reef_version}`;
}

function pointLabel(r: BenchResult): string {
  return `${r.delegate === 'xnnpack' ? 'XNNPACK' : r.delegate === 'edgetpu' ? 'Edge TPU' : 'built-in kernels'}, ${r.threads} thread${r.threads === 1 ? '' : 's'}${r.variant ? `, variant ${r.variant}` : ''}`;
}

/** The table for one result. */
export function formatResult(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`reef bench  ${basename(r.model)}  (sha256 ${r.env.model_sha256.slice(0, 12)})`);
  lines.push(`  ${r.backend}, ${pointLabel(r)}; ${r.runs} runs after ${r.warmup} warm-up; inputs ${r.inputs}`);
  lines.push('');
  lines.push(`  load        model ${fmtMs(r.load_ms.model)} ms (read ${fmtMs(r.load_ms.read)} ms), interpreter ${fmtMs(r.load_ms.interpreters)} ms; init total ${fmtMs(r.init_ms)} ms`);
  lines.push(`  first run   ${fmtMs(r.first_inference_ms)} ms (invoke ${fmtMs(r.first_invoke_ms)} ms)`);
  lines.push('');
  const cols = ['min', 'p50', 'p90', 'p95', 'p99', 'max', 'mean', 'std'] as const;
  const row = (name: string, s: Stats): string[] => [name, ...cols.map((c) => fmtMs(s[c]))];
  lines.push(...table([['ms', ...cols], row('latency', r.latency_ms), row('invoke', r.invoke_ms)], (c) => c > 0).map((l) => `  ${l}`));
  lines.push('');
  lines.push(`  overhead    ${fmtMs(r.overhead_ms.p50)} ms per run at p50 (latency p50 / invoke p50 = ${r.overhead_ms.ratio.toFixed(3)}), mean ${fmtMs(r.overhead_ms.mean)} ms`);
  const t = r.throughput;
  lines.push(t.mode === 'offline'
    ? `  throughput  ${fmtIps(t.ips)} inf/s offline with ${t.workers} workers (${t.in_flight} in flight, ${t.runs} runs); latency under load p50 ${fmtMs(t.latency_ms.p50)} p90 ${fmtMs(t.latency_ms.p90)} p99 ${fmtMs(t.latency_ms.p99)} ms`
    : `  throughput  ${fmtIps(t.ips)} inf/s single stream (use --workers K for K interpreters)`);
  lines.push(`  memory      peak RSS ${r.peak_rss_mb.toFixed(1)} MB; RSS ${r.rss_mb.start.toFixed(1)} -> ${r.rss_mb.end.toFixed(1)} MB over the runs (${r.rss_mb.growth >= 0 ? '+' : ''}${r.rss_mb.growth.toFixed(1)} MB)`);
  lines.push(`  env         ${envLine(r.env)}`);
  for (const w of r.env.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n') + '\n';
}

/** One table for a sweep: a row per point. */
export function formatSweep(results: BenchResult[]): string {
  if (results.length === 0) return '';
  const first = results[0];
  const lines: string[] = [];
  lines.push(`reef bench  ${basename(first.model)}  (sha256 ${first.env.model_sha256.slice(0, 12)}); ${first.runs} runs after ${first.warmup} warm-up; inputs ${first.inputs}`);
  lines.push('');
  const header = ['threads', 'xnnpack', ...(results.some((r) => r.variant) ? ['variant'] : []),
    'p50 ms', 'p90 ms', 'p99 ms', 'invoke p50', 'overhead p50', 'inf/s', 'init ms', 'first ms', 'peak MB'];
  const rows = results.map((r) => [
    String(r.threads), r.xnnpack ? (r.delegate === 'none' ? 'refused' : 'on') : 'off', ...(results.some((x) => x.variant) ? [r.variant ?? '-'] : []),
    fmtMs(r.latency_ms.p50), fmtMs(r.latency_ms.p90), fmtMs(r.latency_ms.p99), fmtMs(r.invoke_ms.p50),
    `${fmtMs(r.overhead_ms.p50)} (${((r.overhead_ms.ratio - 1) * 100).toFixed(1)}%)`,
    `${fmtIps(r.throughput_ips)}${r.throughput.mode === 'offline' ? ` (${r.throughput.workers}w)` : ''}`,
    fmtMs(r.init_ms), fmtMs(r.first_inference_ms), r.peak_rss_mb.toFixed(1),
  ]);
  lines.push(...table([header, ...rows], (c) => c >= 2).map((l) => `  ${l}`));
  lines.push('');
  lines.push(`  env  ${envLine(first.env)}`);
  const warnings = [...new Set(results.flatMap((r) => r.env.warnings))];
  for (const w of warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n') + '\n';
}
