/**
 * The measuring: one benchmark of one model in one configuration (a "point"
 * of a sweep), and sweeps over points.
 *
 * SingleStream (MLPerf's term): one run at a time, each awaited before the next
 * starts; per run the end-to-end time of `session.runTimed()` (= `run()`, which
 * only unwraps its result) and the invoke time the addon measures next to
 * TfLiteInterpreterInvoke. Offline: K interpreters fed as fast as they take
 * work (2K runs kept in flight, so an interpreter that finishes finds the next
 * job queued), inferences per second and latency under that load.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ReefError } from '../errors.js';
import { load, type LoadOptions, type Session } from '../runtime/session.js';
import type { LibraryInfo } from '../native.js';
import type { TypedArray } from '../types.js';
import { loadSamples, randomFeeds } from './inputs.js';

/** One configuration of a sweep. `variant` names a .reef bundle's variant (null: the model file itself, or the bundle's choice). */
export interface BenchPoint {
  threads: number;
  xnnpack: boolean;
  variant: string | null;
}

/** The sweep axes: every value of every axis, in the Cartesian product. */
export type SweepAxes<P> = { [K in keyof P]?: ReadonlyArray<P[K]> };

/**
 * Every combination of the axes' values over a base point, the first axis
 * varying slowest. An axis that is absent or empty keeps the base value.
 * Generic over the point type, so a new axis (e.g. bundle variants) is one
 * more key.
 * @example
 * expandSweep({ threads: 1, xnnpack: true, variant: null }, { threads: [1, 2], xnnpack: [true, false] });
 * // [{threads:1,xnnpack:true,...}, {threads:1,xnnpack:false,...}, {threads:2,xnnpack:true,...}, {threads:2,xnnpack:false,...}]
 */
export function expandSweep<P extends object>(base: P, axes: SweepAxes<P>): P[] {
  let points: P[] = [{ ...base }];
  for (const key of Object.keys(axes) as Array<keyof P>) {
    const values = axes[key];
    if (!values || values.length === 0) continue;
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

/** How long to measure and how to feed the model. */
export interface BenchSettings {
  /** Measured runs (SingleStream). With durationMs too, whichever limit comes first. */
  runs?: number;
  /** Measure for this long (ms). */
  durationMs?: number;
  /** Unmeasured runs before measuring. */
  warmup: number;
  /** Interpreters for the Offline phase; 1 = no Offline phase (throughput from SingleStream). */
  workers: number;
  /** Seed of the random inputs. */
  seed: number;
  /** Real samples (a file or a folder) instead of random data. */
  input?: string;
  library?: string;
  device?: string;
  /** Edge TPU device spec for compiled models (usb, pci, :N, usb:N, pci:N, off). */
  edgetpu?: string;
  /** Abandon an invoke that makes no progress for this long (ms; 0 = off); the runtime's default otherwise. */
  watchdogMs?: number;
}

/** The load options of one bench point. */
function loadOptions(settings: BenchSettings, point: BenchPoint, pool: number): LoadOptions {
  return {
    threads: point.threads, xnnpack: point.xnnpack, pool, library: settings.library, device: settings.device,
    ...(settings.edgetpu !== undefined ? { edgetpu: settings.edgetpu } : {}),
    ...(settings.watchdogMs !== undefined ? { watchdogMs: settings.watchdogMs } : {}),
    ...(point.variant !== null ? { variant: point.variant } : {}),
  };
}

/** Progress of a measurement, for a progress line. */
export interface BenchProgress {
  phase: 'load' | 'warmup' | 'single-stream' | 'offline';
  done: number;
  /** null when the phase runs for a duration. */
  total: number | null;
  elapsedMs: number;
}

/** Raw measurements of one point. All times in ms. */
export interface BenchMeasurement {
  model: string;
  sha256: string;
  point: BenchPoint;
  library: LibraryInfo;
  /** The delegate that really ran (XNNPACK may refuse a model: then TFLite's built-in kernels did), and why. */
  delegate: { name: 'xnnpack' | 'edgetpu' | 'none'; reason: string };
  device: string | null;
  inputs: string;
  load: { readMs: number; modelMs: number; interpretersMs: number; initMs: number };
  first: { latencyMs: number; invokeMs: number };
  warmup: number;
  /** SingleStream series, one value per run, in run order. */
  latencyMs: number[];
  invokeMs: number[];
  /** Wall time of the SingleStream loop (the sum of latencies plus the loop's own bookkeeping). */
  wallMs: number;
  offline: null | { workers: number; inFlight: number; latencyMs: number[]; invokeMs: number[]; wallMs: number };
  rss: { startMb: number; endMb: number; maxMb: number; peakMb: number };
}

const MB = 1024 * 1024;

function rssMb(): number {
  return process.memoryUsage.rss() / MB;
}

/** Runs a full GC when node was started with --expose-gc, so RSS growth is not just uncollected garbage. */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Peak RSS of this process so far (getrusage ru_maxrss; kB on Linux). */
function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Checks the settings once, before anything is loaded. */
export function checkSettings(s: BenchSettings): void {
  if (s.runs !== undefined && (!Number.isInteger(s.runs) || s.runs < 1)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a positive integer for runs but received ${String(s.runs)}`);
  }
  if (s.durationMs !== undefined && !(Number.isFinite(s.durationMs) && s.durationMs > 0)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a positive number of seconds for duration but received ${String(s.durationMs / 1000)}`);
  }
  if (s.runs === undefined && s.durationMs === undefined) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected runs or a duration but received neither');
  }
  if (!Number.isInteger(s.warmup) || s.warmup < 0) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a non-negative integer for warmup but received ${String(s.warmup)}`);
  }
  if (!Number.isInteger(s.workers) || s.workers < 1 || s.workers > 64) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an integer from 1 to 64 for workers but received ${String(s.workers)}`);
  }
}

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

type Limit = (done: number, elapsedMs: number) => boolean;

function limitOf(s: BenchSettings, scale = 1): Limit {
  const runs = s.runs === undefined ? Infinity : s.runs * scale;
  const dur = s.durationMs ?? Infinity;
  return (done, elapsed) => done < runs && elapsed < dur;
}

async function singleStream(
  session: Session, samples: TypedArray[][], limit: Limit, onRun: (done: number, elapsedMs: number) => void,
): Promise<{ latencyMs: number[]; invokeMs: number[]; wallMs: number; rss: number[] }> {
  const latencyMs: number[] = [];
  const invokeMs: number[] = [];
  const rss: number[] = [];
  const t0 = performance.now();
  let elapsed = 0;
  let lastRss = 0;
  for (let i = 0; limit(i, elapsed); i++) {
    const feeds = samples[i % samples.length];
    const ts = performance.now();
    const r = await session.runTimed(feeds);
    const te = performance.now();
    latencyMs.push(te - ts);
    invokeMs.push(r.invokeMs);
    elapsed = te - t0;
    // RSS costs ~15 us to read: sample every 50 ms, not every run.
    if (elapsed - lastRss >= 50) {
      rss.push(rssMb());
      lastRss = elapsed;
    }
    onRun(i + 1, elapsed);
  }
  return { latencyMs, invokeMs, wallMs: performance.now() - t0, rss };
}

/** Keeps `inFlight` runs queued on the session until `limit` says stop; resolves when all have finished. */
function offline(
  session: Session, samples: TypedArray[][], inFlight: number, limit: Limit,
  onRun: (done: number, elapsedMs: number) => void,
): Promise<{ latencyMs: number[]; invokeMs: number[]; wallMs: number }> {
  const latencyMs: number[] = [];
  const invokeMs: number[] = [];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let submitted = 0;
    let completed = 0;
    let failed = false;
    const submit = (): void => {
      const feeds = samples[submitted % samples.length];
      submitted++;
      const ts = performance.now();
      session.runTimed(feeds).then(({ invokeMs: inv }) => {
        const te = performance.now();
        latencyMs.push(te - ts);
        invokeMs.push(inv);
        completed++;
        onRun(completed, te - t0);
        if (failed) return;
        if (limit(submitted, te - t0)) submit();
        else if (completed === submitted) resolve({ latencyMs, invokeMs, wallMs: performance.now() - t0 });
      }, (e: unknown) => {
        if (!failed) {
          failed = true;
          reject(e);
        }
      });
    };
    for (let k = 0; k < inFlight && limit(submitted, 0); k++) submit();
  });
}

/**
 * Benchmarks one model at one point: load (timed), first inference, warm-up,
 * SingleStream, then Offline when `settings.workers` > 1.
 * @example
 * const m = await measure('model.tflite', { threads: 1, xnnpack: true, variant: null },
 *   { runs: 100, warmup: 10, workers: 1, seed: 1 });
 * console.log(summarize(m.latencyMs).p50);
 */
export async function measure(
  model: string, point: BenchPoint, settings: BenchSettings, onProgress?: (p: BenchProgress) => void,
): Promise<BenchMeasurement> {
  checkSettings(settings);
  const progress = onProgress ?? ((): void => undefined);
  progress({ phase: 'load', done: 0, total: null, elapsedMs: 0 });
  const t0 = performance.now();
  const session = await load(model, loadOptions(settings, point, 1));
  const initMs = performance.now() - t0;
  let offlineSession: Session | null = null;
  try {
    const sha256 = await sha256File(model);
    const samples = settings.input === undefined
      ? [randomFeeds(session.inputs, settings.seed)]
      : await loadSamples(settings.input, session.inputs);
    const inputs = settings.input === undefined ? `random (seed ${settings.seed})` : `${samples.length} sample(s) from ${settings.input}`;

    const f0 = performance.now();
    const firstRun = await session.runTimed(samples[0]);
    const first = { latencyMs: performance.now() - f0, invokeMs: firstRun.invokeMs };

    const w0 = performance.now();
    for (let i = 1; i < settings.warmup; i++) {
      await session.runTimed(samples[i % samples.length]);
      progress({ phase: 'warmup', done: i + 1, total: settings.warmup, elapsedMs: performance.now() - w0 });
    }
    collectGarbage();
    const startMb = rssMb();
    const ss = await singleStream(session, samples, limitOf(settings), (done, elapsedMs) =>
      progress({ phase: 'single-stream', done, total: settings.durationMs === undefined ? settings.runs ?? null : null, elapsedMs }));
    collectGarbage();
    const endMb = rssMb();

    let off: BenchMeasurement['offline'] = null;
    if (settings.workers > 1) {
      offlineSession = await load(model, loadOptions(settings, point, settings.workers));
      const inFlight = settings.workers * 2;
      const warm = Math.max(settings.warmup, 1) * settings.workers;
      await offline(offlineSession, samples, inFlight, (n) => n < warm, () => undefined);
      const r = await offline(offlineSession, samples, inFlight, limitOf(settings, settings.workers), (done, elapsedMs) =>
        progress({ phase: 'offline', done, total: settings.durationMs === undefined && settings.runs !== undefined ? settings.runs * settings.workers : null, elapsedMs }));
      off = { workers: settings.workers, inFlight, ...r };
    }
    return {
      model,
      sha256,
      point: { ...point },
      library: session.library,
      delegate: { name: session.delegate.name, reason: session.delegate.reason },
      device: session.device?.id ?? null,
      inputs,
      load: { ...session.timings, initMs },
      first,
      warmup: settings.warmup,
      latencyMs: ss.latencyMs,
      invokeMs: ss.invokeMs,
      wallMs: ss.wallMs,
      offline: off,
      rss: { startMb, endMb, maxMb: ss.rss.reduce((a, b) => Math.max(a, b), Math.max(startMb, endMb)), peakMb: peakRssMb() },
    };
  } finally {
    await Promise.all([session.dispose(), offlineSession?.dispose()]);
  }
}

/**
 * Benchmarks every point in order (never two at once: they would share the cores).
 * @example
 * const all = await sweep('m.tflite', expandSweep(base, { threads: [1, 2] }), settings);
 */
export async function sweep(
  model: string, points: BenchPoint[], settings: BenchSettings,
  onProgress?: (p: BenchProgress, point: BenchPoint, index: number) => void,
): Promise<BenchMeasurement[]> {
  checkSettings(settings);
  const out: BenchMeasurement[] = [];
  for (const [i, p] of points.entries()) {
    out.push(await measure(model, p, settings, onProgress ? (pr) => onProgress(pr, p, i) : undefined));
  }
  return out;
}
