/**
 * One owner per queue: a bounded queue in front of a Session. The session is fed at most
 * `capacity` runs at a time (its pool's capacity: each interpreter invoking one run and holding
 * the next); everything else waits here, in arrival order, where it can be refused at once when
 * the queue is full (503) and dropped without being run when its deadline passes (504).
 * Triton core `PolicyQueue::Enqueue` fails fast the same way.
 */
import { performance } from 'node:perf_hooks';
import { ReefError } from '../errors.js';
import type { Outputs, Session } from '../runtime/session.js';
import type { TypedArray } from '../types.js';

export interface SchedulerOptions {
  /** Runs that may wait for an interpreter; 0 = none wait. */
  maxQueue: number;
  /** Called once for every run dropped because its deadline passed while it waited. */
  onExpire?: () => void;
  /** Runs handed to the session at once. Default: 2 per interpreter. */
  capacity?: number;
}

export interface RunResult {
  outputs: Outputs;
  invokeMs: number;
  queueMs: number;
}

/** Runs of one request: when one fails, the others still waiting are dropped. */
export interface RunGroup {
  failed: boolean;
}

interface Job {
  feeds: TypedArray[];
  group: RunGroup;
  enqueued: number;
  timer: NodeJS.Timeout | null;
  settled: boolean;
  resolve: (r: RunResult) => void;
  reject: (e: unknown) => void;
}

export class Scheduler {
  readonly maxQueue: number;
  readonly capacity: number;
  readonly #session: Session;
  readonly #onExpire: (() => void) | undefined;
  #waiting: Job[] = [];
  #head = 0;
  #inFlight = 0;
  #live = 0;
  #idle: Array<() => void> = [];
  /** Runs dropped because their deadline passed while waiting. */
  expired = 0;

  constructor(session: Session, opts: SchedulerOptions) {
    this.#session = session;
    this.maxQueue = opts.maxQueue;
    this.#onExpire = opts.onExpire;
    this.capacity = opts.capacity ?? session.poolSize * 2;
  }

  /** Runs waiting for the session. */
  get queued(): number {
    return this.#live;
  }

  /** Runs handed to the session and not yet settled. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Admits `n` runs or refuses them all (REEF_SERVE_OVERLOADED) before any work: the runs that
   * cannot start at once must fit in the queue. When nothing waits, a request's own runs are
   * always admitted (however many: rows beyond --max-queue are fed as interpreters free up), so
   * the refusal only ever means "full now", never "can never fit" (the row cap is rowsFor's).
   */
  admit(n: number, what: string): void {
    if (this.maxQueue === 0 && n > this.capacity) {
      throw new ReefError('REEF_SERVE_BAD_REQUEST',
        `${what}: the request has ${n} rows, more than the ${this.capacity} runs this server takes at once with --max-queue 0; send at most ${this.capacity} rows or raise --max-queue`);
    }
    const free = this.queued === 0 ? Math.max(0, this.capacity - this.#inFlight) : 0;
    if (this.queued === 0 && (this.maxQueue > 0 || n <= free)) return;
    if (this.queued + Math.max(0, n - free) > this.maxQueue) {
      throw new ReefError('REEF_SERVE_OVERLOADED',
        `${what}: the queue is full (${this.queued} of ${this.maxQueue} waiting, ${this.#inFlight} running); retry later`);
    }
  }

  /** Queues one run; `deadline` is a performance.now() time (Infinity for none). */
  submit(feeds: TypedArray[], group: RunGroup, deadline: number): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const job: Job = { feeds, group, enqueued: performance.now(), timer: null, settled: false, resolve, reject };
      if (this.queued === 0 && this.#inFlight < this.capacity) {
        this.#start(job);
        return;
      }
      if (Number.isFinite(deadline)) {
        const wait = Math.max(0, deadline - job.enqueued);
        job.timer = setTimeout(() => this.#expire(job), wait);
      }
      this.#waiting.push(job);
      this.#live++;
    });
  }

  /** Resolves when nothing waits and nothing runs. */
  idle(): Promise<void> {
    if (this.queued === 0 && this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Refuses everything still waiting (used when the server stops without draining). */
  rejectWaiting(err: ReefError): void {
    for (let i = this.#head; i < this.#waiting.length; i++) this.#settle(this.#waiting[i], null, err);
    this.#waiting = [];
    this.#head = 0;
    this.#live = 0;
    this.#checkIdle();
  }

  #expire(job: Job): void {
    if (job.settled) return;
    this.expired++;
    this.#live--;
    this.#onExpire?.();
    job.group.failed = true;
    this.#settle(job, null, new ReefError('REEF_SERVE_DEADLINE',
      `the request's deadline passed after ${Math.round(performance.now() - job.enqueued)} ms in the queue; its work was dropped, not run`));
    // The job stays in the array and is skipped when it reaches the head.
  }

  #settle(job: Job, result: RunResult | null, err?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.timer) clearTimeout(job.timer);
    if (result) job.resolve(result);
    else job.reject(err);
  }

  #start(job: Job): void {
    if (job.timer) clearTimeout(job.timer);
    const queueMs = performance.now() - job.enqueued;
    this.#inFlight++;
    this.#session.runTimed(job.feeds).then(
      (r) => this.#settle(job, { outputs: r.outputs, invokeMs: r.invokeMs, queueMs }),
      (e: unknown) => { job.group.failed = true; this.#settle(job, null, e); },
    ).finally(() => {
      this.#inFlight--;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.capacity && this.#head < this.#waiting.length) {
      const job = this.#waiting[this.#head++];
      if (job.settled) continue;
      this.#live--;
      if (job.group.failed) {
        this.#settle(job, null, new ReefError('REEF_SERVE_BAD_REQUEST', 'another run of the same request failed'));
        continue;
      }
      this.#start(job);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.queued === 0 && this.#inFlight === 0 && this.#idle.length) {
      for (const f of this.#idle.splice(0)) f();
    }
  }
}
