/**
 * `npm run bench:runtime`: reef's runtime against its own baseline and against
 * tfjs-tflite-node, measured side by side in one run (see docs/TARGETS.md):
 *
 *   (1) the plain native loop of TfLiteInterpreterInvoke (session.invokeLoop)
 *   (2) session.run() end to end, awaited one at a time
 *   (3) tfjs-tflite-node's own binding, `new Interpreter(model, { threads })`
 *       + infer() (synchronous, on the JS thread)
 *   (4) throughput of a pool of 2 interpreters against a pool of 1, K runs
 *       queued at once
 *
 * (1), (2) and (3) are interleaved in rounds so that a burst of load from
 * other work on the machine hits all three alike. Reports, never asserts: a
 * missed target prints MISSED and the exit code stays 0.
 *
 * Usage: npm run bench:runtime [-- --json] [-- --budget <ms>]
 */
import { native } from '../src/native.js';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { load, type Session } from '../src/index.js';
import { randomFeeds } from '../src/bench/inputs.js';
import { median } from '../src/bench/stats.js';
import type { TypedArray } from '../src/types.js';

const SHARED = process.env.REEF_SHARED ?? join(import.meta.dirname, '..', '..', 'shared');
const MODELS = [
  { file: join(SHARED, 'models/edgetpu/tf2_mobilenet_v2_1.0_224_ptq.tflite'), tfjsTarget: true },
  { file: join(SHARED, 'models/tflite/vww_96_int8.tflite'), tfjsTarget: false },
];
const THREADS = 1;
const ROUNDS = 5;
const POOL_ROUNDS = 3;

const TARGET = { overheadRatio: 1.05, overheadMs: 0.05, tfjsSpeedup: 8, poolScaling: 1.7 } as const;

/** tfjs-tflite-node's native surface (node_modules/tfjs-tflite-node/binding/node_tflite_binding.cc). */
interface TfjsTensorInfo {
  data(): TypedArray;
  readonly name: string;
}
interface TfjsInterpreter {
  getInputs(): TfjsTensorInfo[];
  infer(): boolean;
}
interface TfjsAddon {
  Interpreter: new (model: ArrayBuffer, options: { threads?: number }) => TfjsInterpreter;
}

interface Args {
  json: boolean;
  /** Wall-clock budget per measurement (ms), before rounding to whole runs. */
  budgetMs: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, budgetMs: 1500 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') args.json = true;
    else if (argv[i] === '--budget') args.budgetMs = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}; usage: bench/runtime.ts [--json] [--budget <ms>]`);
  }
  if (!(args.budgetMs > 0)) throw new Error('--budget must be a positive number of ms');
  return args;
}

const progress = process.stderr.isTTY
  ? (s: string): void => void process.stderr.write(`\r\x1b[K${s}`)
  : (): void => undefined;

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.round(x)));
}

interface Measure {
  medianMs: number;
  n: number;
}

interface ModelResult {
  model: string;
  input: string;
  threads: number;
  xnnpack: boolean;
  invokeLoop: Measure;
  run: Measure;
  /** Invoke time inside run() (addon-measured): (2) - this is reef's hand-off and copies. */
  invokeInRun: Measure;
  tfjs: Measure | { error: string };
  pool: { k: number; pool1Ips: number; pool2Ips: number };
  ratios: {
    runOverInvoke: number;
    runMinusInvokeMs: number;
    tfjsOverRun: number | null;
    pool2OverPool1: number;
  };
  targets: {
    overhead: { target: string; met: boolean };
    tfjs: { target: string; met: boolean } | null;
    pool: { target: string; met: boolean };
  };
}

async function timeRuns(session: Session, feeds: TypedArray[], n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    into.push(performance.now() - t0);
  }
}

/** The invoke time the addon measures inside run() (runTimed), to split (2) - (1) into invoke and hand-off. */
async function invokeInRun(session: Session, feeds: TypedArray[], n: number, into: number[]): Promise<void> {
  for (let i = 0; i < n; i++) into.push((await session.runTimed(feeds)).invokeMs);
}

async function throughput(session: Session, feeds: TypedArray[], k: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: k }, () => session.run(feeds)));
  return k / ((performance.now() - t0) / 1000);
}

function loadTfjs(): TfjsAddon {
  const require = createRequire(import.meta.url);
  return require('tfjs-tflite-node/build/Release/node_tflite_binding.node') as TfjsAddon;
}

async function benchModel(file: string, tfjsTarget: boolean, args: Args): Promise<ModelResult> {
  const name = basename(file, '.tflite');
  const bytes = await readFile(file);
  const session = await load(bytes, { threads: THREADS, xnnpack: true, pool: 1 });
  const feeds = randomFeeds(session.inputs, 1);
  const input = session.inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(', ');

  // Warm up, and leave the random data in the input tensors for invokeLoop.
  progress(`${name}: warm-up`);
  for (let i = 0; i < 5; i++) await session.run(feeds);
  const estMs = median(await session.invokeLoop(5));
  const perRound = clamp(args.budgetMs / estMs / ROUNDS, 4, 400);

  let tfjs: TfjsInterpreter | null = null;
  let tfjsError: string | null = null;
  let tfjsPerRound = 0;
  const tfjsTimes: number[] = [];
  try {
    tfjs = new (loadTfjs().Interpreter)(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), { threads: THREADS });
    tfjs.getInputs().forEach((t, i) => t.data().set(feeds[i] as never));
    tfjs.infer();
    const t0 = performance.now();
    tfjs.infer();
    tfjsPerRound = clamp(args.budgetMs / (performance.now() - t0) / ROUNDS, 2, 400);
  } catch (e) {
    tfjsError = (e as Error).message;
    tfjs = null;
  }

  const loopTimes: number[] = [];
  const runTimes: number[] = [];
  const inRunTimes: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    progress(`${name}: round ${r + 1}/${ROUNDS} (invoke loop, run, tfjs-tflite-node)`);
    loopTimes.push(...(await session.invokeLoop(perRound)));
    await timeRuns(session, feeds, perRound, runTimes);
    await invokeInRun(session, feeds, Math.ceil(perRound / 2), inRunTimes);
    if (tfjs) {
      for (let i = 0; i < tfjsPerRound; i++) {
        const t0 = performance.now();
        tfjs.infer();
        tfjsTimes.push(performance.now() - t0);
      }
    }
  }
  await session.dispose();
  tfjs = null;

  // (4) pools: same K queued at once, alternating pool 1 and pool 2.
  const k = clamp((args.budgetMs / estMs) / 2, 16, 2000);
  const p1 = await load(bytes, { threads: THREADS, xnnpack: true, pool: 1 });
  const p2 = await load(bytes, { threads: THREADS, xnnpack: true, pool: 2 });
  await throughput(p1, feeds, 8);
  await throughput(p2, feeds, 8);
  const ips1: number[] = [];
  const ips2: number[] = [];
  for (let r = 0; r < POOL_ROUNDS; r++) {
    progress(`${name}: pool round ${r + 1}/${POOL_ROUNDS} (${k} runs queued at once)`);
    ips1.push(await throughput(p1, feeds, k));
    ips2.push(await throughput(p2, feeds, k));
  }
  await Promise.all([p1.dispose(), p2.dispose()]);
  progress('');

  const loop = median(loopTimes);
  const run = median(runTimes);
  const tf = tfjsTimes.length ? median(tfjsTimes) : null;
  const pool1Ips = median(ips1);
  const pool2Ips = median(ips2);
  const runOverInvoke = run / loop;
  const runMinusInvokeMs = run - loop;
  const tfjsOverRun = tf === null ? null : tf / run;
  const pool2OverPool1 = pool2Ips / pool1Ips;
  return {
    model: name,
    input,
    threads: THREADS,
    xnnpack: true,
    invokeLoop: { medianMs: loop, n: loopTimes.length },
    run: { medianMs: run, n: runTimes.length },
    invokeInRun: { medianMs: median(inRunTimes), n: inRunTimes.length },
    tfjs: tf === null ? { error: tfjsError ?? 'no runs' } : { medianMs: tf, n: tfjsTimes.length },
    pool: { k, pool1Ips, pool2Ips },
    ratios: { runOverInvoke, runMinusInvokeMs, tfjsOverRun, pool2OverPool1 },
    targets: {
      overhead: {
        target: `(2)/(1) <= ${TARGET.overheadRatio} or (2)-(1) <= ${TARGET.overheadMs * 1000} us`,
        met: runOverInvoke <= TARGET.overheadRatio || runMinusInvokeMs <= TARGET.overheadMs,
      },
      tfjs: tfjsTarget
        ? { target: `(3)/(2) >= ${TARGET.tfjsSpeedup}`, met: tfjsOverRun !== null && tfjsOverRun >= TARGET.tfjsSpeedup }
        : null,
      pool: { target: `pool 2 / pool 1 >= ${TARGET.poolScaling}`, met: pool2OverPool1 >= TARGET.poolScaling },
    },
  };
}

function verdict(t: { met: boolean } | null): string {
  if (t === null) return '(no target)';
  return t.met ? 'ok' : 'MISSED';
}

function ms(x: number): string {
  return x >= 10 ? x.toFixed(2) : x >= 1 ? x.toFixed(3) : x.toFixed(4);
}

function printText(results: ModelResult[], env: Record<string, unknown>): void {
  const lines: string[] = [];
  lines.push(`reef bench:runtime  ${String(env.cpu)} x${String(env.cores)}, node ${String(env.node)}, TFLite ${String(env.tflite)}; threads=${THREADS}, XNNPACK on; medians`);
  const ls = Number(env.loadAvg1mStart);
  const le = Number(env.loadAvg1mEnd);
  lines.push(`load average (1 min) ${ls.toFixed(2)} at start, ${le.toFixed(2)} at end, ${String(env.wallSeconds === 0 ? '' : `${Number(env.wallSeconds).toFixed(1)} s wall`)}`);
  if (ls > 0.5) lines.push(`note: other work was using the CPU when the run started; the pool ratio needs ${String(env.cores)} idle cores`);
  const wake = env.wakeUs as Record<string, number>;
  lines.push(`floor: a thread that slept waits ${Object.entries(wake).map(([k, v]) => `${v.toFixed(0)} us after ${k}`).join(', ')} to wake on this machine` +
    ' (plain C++ condition variable); an async run() wakes the JS thread once per run');
  for (const r of results) {
    lines.push('');
    lines.push(`${r.model}  (${r.input})`);
    lines.push(`  (1) native invoke loop   ${ms(r.invokeLoop.medianMs).padStart(9)} ms  n=${r.invokeLoop.n}`);
    lines.push(`  (2) session.run()        ${ms(r.run.medianMs).padStart(9)} ms  n=${r.run.n}`);
    lines.push(`      invoke inside run()  ${ms(r.invokeInRun.medianMs).padStart(9)} ms  n=${r.invokeInRun.n}  (so (2) - (1) = ${((r.invokeInRun.medianMs - r.invokeLoop.medianMs) * 1000).toFixed(1)} us slower invoke + ${((r.run.medianMs - r.invokeInRun.medianMs) * 1000).toFixed(1)} us hand-off and copies)`);
    if ('medianMs' in r.tfjs) lines.push(`  (3) tfjs-tflite-node     ${ms(r.tfjs.medianMs).padStart(9)} ms  n=${r.tfjs.n}`);
    else lines.push(`  (3) tfjs-tflite-node     failed: ${r.tfjs.error}`);
    lines.push(`  (4) pool of 1 ${r.pool.pool1Ips.toFixed(1)} inf/s, pool of 2 ${r.pool.pool2Ips.toFixed(1)} inf/s  (K=${r.pool.k} queued at once)`);
    lines.push(`  (2)/(1)  = ${r.ratios.runOverInvoke.toFixed(3)}  (${(r.ratios.runMinusInvokeMs * 1000).toFixed(1)} us per run)   target ${r.targets.overhead.target}   ${verdict(r.targets.overhead)}`);
    lines.push(`  (3)/(2)  = ${r.ratios.tfjsOverRun === null ? 'n/a' : `${r.ratios.tfjsOverRun.toFixed(2)}x`}   ${r.targets.tfjs ? `target ${r.targets.tfjs.target}   ` : ''}${verdict(r.targets.tfjs)}`);
    lines.push(`  pool 2/1 = ${r.ratios.pool2OverPool1.toFixed(2)}x   target ${r.targets.pool.target}   ${verdict(r.targets.pool)}`);
  }
  const missed = results.flatMap((r) =>
    [['overhead', r.targets.overhead], ['tfjs', r.targets.tfjs], ['pool', r.targets.pool]]
      .filter(([, t]) => t !== null && !(t as { met: boolean }).met)
      .map(([k]) => `${r.model}:${String(k)}`));
  lines.push('');
  lines.push(missed.length ? `MISSED: ${missed.join(', ')}` : 'all targets met');
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  for (const m of MODELS) {
    if (!existsSync(m.file)) throw new Error(`shared model missing: ${m.file} (set REEF_SHARED to the shared/ folder)`);
  }
  const started = performance.now();
  const loadStart = loadavg()[0];
  const results: ModelResult[] = [];
  for (const m of MODELS) results.push(await benchModel(m.file, m.tfjsTarget, args));
  const first = await load(MODELS[1].file, { threads: THREADS });
  const env = {
    cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version,
    tflite: first.library.version, library: first.library.path, device: first.device?.id ?? null,
    wallSeconds: 0, loadAvg1mStart: loadStart, loadAvg1mEnd: loadavg()[0],
    wakeUs: { '0.4 ms': native().wakeLatency(400, 51), '12 ms': native().wakeLatency(12000, 21) },
  };
  await first.dispose();
  env.wallSeconds = (performance.now() - started) / 1000;
  if (args.json) {
    process.stdout.write(JSON.stringify({ env, targets: TARGET, results }, null, 2) + '\n');
  } else {
    printText(results, env);
  }
}

await main();
