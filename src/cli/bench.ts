/**
 * `reef bench <model>`: latency (SingleStream), throughput (Offline, --workers),
 * reef's own overhead, memory and the environment, as a table, --json or
 * --plot; `reef bench --compare a.json b.json ...` side by side.
 */
import type { Command } from 'commander';
import { ReefError } from '../errors.js';
import { hostProfile } from '../devices.js';
import { probeEnv } from '../bench/env.js';
import { checkSettings, expandSweep, sweep, type BenchPoint, type BenchProgress, type BenchSettings } from '../bench/run.js';
import { formatResult, formatSweep, toResult, type BenchResult } from '../bench/report.js';
import { plotLatency } from '../bench/plot.js';
import { compareResults, formatComparison, readResults } from '../bench/compare.js';
import { checkWritable, parsePositiveInt, writeAtomic, type CliIO } from './io.js';
import { parseWatchdog, WATCHDOG_HELP } from './options.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { convertOnnxFile } from '../convert/index.js';

/** Options as commander hands them over (strings until parsed). */
export interface BenchCliOptions {
  runs?: string;
  duration?: string;
  warmup: string;
  workers: string;
  threads?: string;
  xnnpack?: string | boolean;
  variant?: string;
  input?: string;
  seed: string;
  json?: boolean;
  plot?: string;
  compare?: string[];
  progress?: boolean;
  library?: string;
  device?: string;
  edgetpu?: string;
  watchdog?: string;
  backend?: string;
}

const DEFAULT_RUNS = 100;

/** Parses "1,2,4" into distinct positive integers, in order. */
export function parseIntList(name: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p) || Number(p) < 1) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a positive integer or comma-separated positive integers for ${name} but received "${text}"`);
    }
    if (!out.includes(Number(p))) out.push(Number(p));
  }
  return out;
}

const ON = new Set(['on', 'true', 'yes', '1']);
const OFF = new Set(['off', 'false', 'no', '0']);

/** Parses "on,off" (also true/false, yes/no, 1/0) into distinct booleans, in order. */
export function parseOnOffList(name: string, text: string): boolean[] {
  const out: boolean[] = [];
  for (const p of text.split(',').map((s) => s.trim().toLowerCase())) {
    const v = ON.has(p) ? true : OFF.has(p) ? false : null;
    if (v === null) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected on, off or "on,off" for ${name} but received "${text}"`);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

function parseNonNegativeInt(name: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a non-negative integer for ${name} but received "${text}"`);
  }
  return Number(text);
}

function parseSeconds(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a positive number of seconds for ${name} but received "${text}"`);
  }
  return n;
}


/** Everything the command needs, checked; pure apart from the device profile lookup. */
export interface BenchPlan {
  settings: BenchSettings;
  points: BenchPoint[];
}

/** Turns the command-line options into settings and sweep points; throws REEF_INVALID_ARGUMENT on bad values. */
export function planBench(opts: BenchCliOptions): BenchPlan {
  const runs = opts.runs === undefined ? undefined : parsePositiveInt('--runs', opts.runs);
  const durationMs = opts.duration === undefined ? undefined : parseSeconds('--duration', opts.duration) * 1000;
  const warmup = parseNonNegativeInt('--warmup', opts.warmup);
  const workersText = opts.workers.trim();
  const workers = Number(workersText);
  if (!/^\d+$/.test(workersText) || workers < 1 || workers > 64) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an integer from 1 to 64 for --workers but received "${opts.workers}"`);
  }
  const seed = parseNonNegativeInt('--seed', opts.seed);
  const threads = opts.threads === undefined
    ? [hostProfile(opts.device)?.defaultThreads ?? 1]
    : parseIntList('--threads', opts.threads);
  if (threads.some((t) => t > 256)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected thread counts from 1 to 256 for --threads but received "${opts.threads ?? ''}"`);
  }
  const xnnpack = opts.xnnpack === undefined || opts.xnnpack === true ? [true]
    : opts.xnnpack === false ? [false] : parseOnOffList('--xnnpack', opts.xnnpack);
  const settings: BenchSettings = {
    runs: runs ?? (durationMs === undefined ? DEFAULT_RUNS : undefined),
    durationMs, warmup, workers, seed, input: opts.input, library: opts.library, device: opts.device,
    ...(opts.edgetpu !== undefined ? { edgetpu: opts.edgetpu } : {}),
    ...(opts.watchdog !== undefined ? { watchdogMs: parseWatchdog(opts.watchdog) } : {}),
  };
  checkSettings(settings);
  const variants: Array<string | null> = opts.variant === undefined ? [null]
    : [...new Set(opts.variant.split(',').map((v) => v.trim()))];
  if (variants.some((v) => v === '')) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected variant names (e.g. cpu-int8,cpu-float) for --variant but received "${opts.variant ?? ''}"`);
  }
  const points = expandSweep<BenchPoint>({ threads: threads[0], xnnpack: xnnpack[0], variant: variants[0] ?? null }, { threads, xnnpack, variant: variants });
  return { settings, points };
}

/** A progress line on stderr: redrawn in place on a TTY, a line per second otherwise (--progress). */
function progressLine(io: CliIO, tty: boolean, total: number): (p: BenchProgress, point: BenchPoint, index: number) => void {
  let last = 0;
  return (p, point, index) => {
    const now = Date.now();
    const end = p.total !== null && p.done >= p.total;
    if (now - last < (tty ? 100 : 1000) && !end) return;
    last = now;
    const where = `[${index + 1}/${total}] threads=${point.threads} xnnpack=${point.xnnpack ? 'on' : 'off'}`;
    const what = p.phase === 'load' ? 'loading'
      : `${p.phase} ${p.done}${p.total !== null ? `/${p.total}` : ''} runs, ${(p.elapsedMs / 1000).toFixed(1)} s`;
    io.err(tty ? `\r\x1b[K${where} ${what}` : `${where} ${what}\n`);
  };
}

/**
 * Runs `reef bench`: measures every point of the sweep, then prints a table
 * (or JSON) and writes the plot. Returns the results.
 */
export async function benchCommand(model: string | undefined, opts: BenchCliOptions, io: CliIO): Promise<BenchResult[]> {
  if (opts.compare !== undefined && model !== undefined) {
    // MODEL --compare FILE...: bench here, then set this run beside the files (e.g. a board's, from
    // `reef deploy --bench --bench-out FILE`). The files are checked before the long run.
    for (const f of opts.compare) await readFile(f).catch(() => { throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read result file ${f}: no such file`); });
    const local = await benchCommand(model, { ...opts, compare: undefined, json: true }, { out: () => undefined, err: (t) => io.err(t) });
    const dir = await mkdtemp(join(tmpdir(), 'reef-compare-'));
    try {
      const here = join(dir, 'this-machine.json');
      await writeFile(here, JSON.stringify(local.length === 1 ? local[0] : local));
      const c = compareResults(await readResults([here, ...opts.compare]));
      io.out(opts.json ? JSON.stringify(c, null, 2) + '\n' : formatComparison(c));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return local;
  }
  if (opts.compare !== undefined) {
    const results = await readResults(opts.compare);
    const c = compareResults(results);
    io.out(opts.json ? JSON.stringify(c, null, 2) + '\n' : formatComparison(c));
    return results.map((r) => r.result);
  }
  if (model === undefined) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a model file (or --compare <files...>) but received none');
  }
  const plan = planBench(opts);
  if (opts.plot !== undefined) await checkWritable('--plot', opts.plot);
  const isOnnx = model.toLowerCase().endsWith('.onnx');
  if (opts.backend !== undefined && opts.backend !== 'tflite' && opts.backend !== 'onnx') {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected tflite or onnx for --backend but received "${opts.backend}"`);
  }
  if (opts.backend === 'onnx' && !isOnnx) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an .onnx model for --backend onnx but received ${model}`);
  if (opts.backend === 'tflite' && isOnnx) {
    // The same network through reef's converter: bench the converted (and checked) float TFLite model.
    const converted = await convertOnnxFile(model);
    const dir = await mkdtemp(join(tmpdir(), 'reef-bench-'));
    const file = join(dir, basename(model).replace(/\.onnx$/i, '.tflite'));
    try {
      await writeFile(file, converted.bytes);
      const results = await benchCommand(file, { ...opts, backend: undefined }, io);
      return results;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const tty = process.stderr.isTTY === true;
  const onProgress = tty || opts.progress ? progressLine(io, tty, plan.points.length) : undefined;
  const measurements = await sweep(model, plan.points, plan.settings, onProgress);
  if (onProgress && tty) io.err('\r\x1b[K');
  const results: BenchResult[] = [];
  for (const m of measurements) results.push(toResult(m, await probeEnv()));

  if (opts.plot !== undefined) {
    const svg = plotLatency(
      results.map((r) => ({ label: `threads ${r.threads}, XNNPACK ${r.xnnpack ? 'on' : 'off'}`, values: r.series.latency_ms })),
      { title: `reef bench: ${model} (session.run() latency)` },
    );
    await writeAtomic([[opts.plot, svg]]);
  }
  if (opts.json) {
    io.out(JSON.stringify(results.length === 1 ? results[0] : results) + '\n');
  } else {
    io.out(results.length === 1 ? formatResult(results[0]) : formatSweep(results));
    if (opts.plot !== undefined) io.out(`plot written to ${opts.plot}\n`);
  }
  return results;
}

/** Registers `reef bench` on the program. */
export function registerBench(program: Command, io: CliIO): void {
  program
    .command('bench')
    .description('measure latency, throughput, reef\'s overhead and memory of a model on this device')
    .argument('[model]', 'a .tflite model, a .reef bundle or an .onnx model')
    .option('--runs <n>', `measured runs (default ${DEFAULT_RUNS}; with --duration, whichever limit comes first)`)
    .option('--duration <s>', 'measure for this many seconds')
    .option('--warmup <n>', 'unmeasured runs first (the first of them is timed as "first inference")', '10')
    .option('--workers <k>', 'interpreters for the Offline throughput phase (1: single stream only)', '1')
    .option('--threads <list>', 'CPU threads per interpreter; a list sweeps (e.g. 1,2,4). Default: the device profile\'s')
    .option('--xnnpack <list>', 'XNNPACK delegate on, off, or "on,off" to sweep (default on)')
    .option('--variant <list>', 'for a .reef bundle: the variant(s) to run, e.g. cpu-int8,cpu-float to sweep (default: the one chosen for this host)')
    .option('--no-xnnpack', 'same as --xnnpack off')
    .option('--input <path>', 'real samples: an image, a raw .bin of the input\'s bytes, or a folder of them (default: random data)')
    .option('--seed <n>', 'seed of the random input data', '1')
    .option('--json', 'print JSON (one object; an array for a sweep; the comparison with --compare)')
    .option('--plot <file.svg>', 'write the latency histogram and CDF as SVG')
    .option('--compare <files...>', 'compare results written by --json, side by side, with ratios to the first; with a MODEL, bench it here first and compare this run with the files')
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .option('--library <path>', 'libtensorflowlite_c to load')
    .option('--device <id>', 'device profile to use instead of the detected one')
    .option('--edgetpu <spec>', 'Edge TPU for compiled models: usb, pci, :N, usb:N, pci:N, or off (default: any)')
    .option('--watchdog <ms>', WATCHDOG_HELP)
    .option('--backend <b>', 'for an .onnx model: onnx (onnxruntime, the default) or tflite (reef\'s converted TFLite model)')
    .action(async (model: string | undefined, opts: BenchCliOptions) => {
      await benchCommand(model, opts, io);
    });
}
