/**
 * The runtime fuzzer: mutates real models (fuzz/mutate.ts), loads and invokes each through reef in
 * a child process (fuzz/child.ts), and sorts what happened. Acceptable: the model ran, or reef
 * refused it with a documented ReefError code. Findings: a signal (native crash), a hang (no answer
 * within the timeout), an internal error (not a ReefError), an undocumented code.
 * Case i of seed s uses the PRNG seeded with (s, i) alone, so `--seed s --case i` redoes it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../src/bench/inputs.js';
import { ERROR_CODES } from '../src/errors.js';
import { mutate, type Mutation, type MutationKind } from './mutate.js';
import type { ChildAnswer } from './child.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(HERE, '..');

export interface FuzzOptions {
  /** Absolute paths of the valid models to mutate. */
  models: string[];
  count: number;
  seed: number;
  /** Run only this case number (to reproduce one). */
  only?: number;
  /** A case with no answer in this time is a hang. Default 20 s. */
  timeoutMs?: number;
  onCase?: (c: FuzzCase) => void;
}

export type Verdict = 'ran' | 'loaded' | 'refused' | 'crash' | 'hang' | 'internal' | 'undocumented';

export interface FuzzCase {
  case: number;
  model: string;
  kind: MutationKind;
  what: string;
  xnnpack: boolean;
  verdict: Verdict;
  /** 'ran', the ReefError code, the signal or exit status, 'timeout', 'internal'. */
  outcome: string;
  stage?: string;
  message?: string;
}

export interface FuzzSummary {
  count: number;
  seed: number;
  models: string[];
  ms: number;
  /** Cases per verdict. */
  verdicts: Record<Verdict, number>;
  /** Cases per outcome ('ran', 'loaded', each ReefError code; crashes by signal). */
  outcomes: Record<string, number>;
  /** Cases per mutation kind. */
  kinds: Record<string, number>;
  /** Every crash, hang, internal error or undocumented code. */
  findings: FuzzCase[];
}

/** True for the verdicts the runtime promises never to give. */
export const isFinding = (v: Verdict): boolean => v === 'crash' || v === 'hang' || v === 'internal' || v === 'undocumented';

/** The models fuzzed by default: every CPU model in ../shared/models (Edge TPU-compiled ones only refuse). */
export function defaultModels(): string[] {
  const root = join(REPO_ROOT, '..', 'shared', 'models');
  const out: string[] = [];
  for (const dir of ['tflite', 'tflite/ops', 'edgetpu']) {
    for (const f of readdirSync(join(root, dir)).sort()) {
      if (f.endsWith('.tflite') && !f.endsWith('_edgetpu.tflite') && f !== 'invalid_model_invoking_error.tflite') out.push(join(root, dir, f));
    }
  }
  return out;
}

/** The PRNG seed of case `i` under `seed`. */
export const caseSeed = (seed: number, i: number): number => (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;

class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  #pending: ((a: ChildAnswer | { exit: string }) => void) | null = null;
  #stderr = '';
  dead = false;

  constructor() {
    this.proc = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'child.ts')], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const p = this.#pending;
      this.#pending = null;
      p?.(JSON.parse(line) as ChildAnswer);
    });
    this.proc.stderr.on('data', (d: Buffer) => { this.#stderr = (this.#stderr + d.toString()).slice(-2000); });
    this.proc.on('exit', (code, signal) => {
      this.dead = true;
      const p = this.#pending;
      this.#pending = null;
      p?.({ exit: signal ?? `exit ${code}` });
    });
    this.proc.stdin.on('error', () => { /* the exit handler reports it */ });
  }

  get stderr(): string {
    return this.#stderr;
  }

  ask(req: object, timeoutMs: number): Promise<ChildAnswer | { exit: string } | 'timeout'> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#pending = null; resolve('timeout'); }, timeoutMs);
      this.#pending = (a) => { clearTimeout(timer); resolve(a); };
      this.proc.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  /** Ends the child by its pid and waits for it to go. */
  async stop(): Promise<void> {
    if (this.dead) return;
    const gone = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.stdin.end();
    const t = setTimeout(() => { if (!this.dead) process.kill(this.proc.pid!, 'SIGKILL'); }, 2000);
    await gone;
    clearTimeout(t);
  }
}

/** The mutation, model index and delegate choice of case `i` (the same every time). */
export function fuzzCase(originals: Uint8Array[], seed: number, i: number): { model: number; mutation: Mutation; xnnpack: boolean } {
  const rng = mulberry32(caseSeed(seed, i));
  const model = Math.floor(rng() * originals.length);
  const mutation = mutate(originals[model]!, rng);
  return { model, mutation, xnnpack: rng() < 0.5 };
}

/** Run the fuzzer; resolves with the summary (findings included, never thrown). */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const t0 = performance.now();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const originals = opts.models.map((m) => new Uint8Array(readFileSync(m)));
  const names = opts.models.map((m) => relative(join(REPO_ROOT, '..', 'shared'), m));
  const summary: FuzzSummary = {
    count: 0, seed: opts.seed, models: names, ms: 0,
    verdicts: { ran: 0, loaded: 0, refused: 0, crash: 0, hang: 0, internal: 0, undocumented: 0 },
    outcomes: {}, kinds: {}, findings: [],
  };
  let child = new Child();
  try {
    const first = opts.only ?? 0;
    const last = opts.only !== undefined ? opts.only + 1 : opts.count;
    for (let i = first; i < last; i++) {
      const { model: k, mutation: m, xnnpack } = fuzzCase(originals, opts.seed, i);
      if (child.dead) child = new Child();
      const answer = await child.ask({ id: i, model: Buffer.from(m.bytes).toString('base64'), xnnpack, seed: caseSeed(opts.seed, i) }, timeoutMs);
      const c: FuzzCase = { case: i, model: names[k]!, kind: m.kind, what: m.what, xnnpack, verdict: 'ran', outcome: 'ran' };
      if (answer === 'timeout') {
        Object.assign(c, { verdict: 'hang', outcome: 'timeout', message: `no answer in ${timeoutMs} ms` });
        await child.stop().catch(() => undefined);
        if (!child.dead) process.kill(child.proc.pid!, 'SIGKILL');
        child = new Child();
      } else if ('exit' in answer) {
        Object.assign(c, { verdict: 'crash', outcome: answer.exit, message: child.stderr.trim().split('\n').slice(-5).join(' | ') });
        child = new Child();
      } else {
        c.outcome = answer.outcome;
        c.stage = answer.stage;
        if (answer.message !== undefined) c.message = answer.message;
        if (answer.outcome === 'ran' || answer.outcome === 'loaded') c.verdict = answer.outcome;
        else if (answer.outcome === 'internal') c.verdict = 'internal';
        else c.verdict = answer.outcome in ERROR_CODES && answer.outcome !== 'REEF_INVALID_STATE' ? 'refused' : 'undocumented';
      }
      summary.count++;
      summary.verdicts[c.verdict]++;
      summary.outcomes[c.outcome] = (summary.outcomes[c.outcome] ?? 0) + 1;
      summary.kinds[c.kind] = (summary.kinds[c.kind] ?? 0) + 1;
      if (isFinding(c.verdict)) summary.findings.push(c);
      opts.onCase?.(c);
    }
  } finally {
    await child.stop();
  }
  summary.ms = Math.round(performance.now() - t0);
  return summary;
}
