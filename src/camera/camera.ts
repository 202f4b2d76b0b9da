/**
 * Live inference on a camera or video: ffmpeg delivers raw RGB frames; the newest frame always waits
 * in a one-frame slot (a frame arriving while the model is busy replaces the waiting one and is
 * counted as dropped); the model takes the slot's frame when it is free; latency runs from frame
 * arrival to result. Live sources that end are reopened with backoff (counted); files end the run.
 */
import type { VisionRunner, VisionResult } from '../tasks/vision.js';
import type { Box, Placement } from '../tasks/resize.js';
import { ReefError } from '../errors.js';
import { checkSource, probeSize, sourceKind, startFfmpeg, type SourceOptions } from './source.js';
import { EventTracker, type CameraEvent } from './events.js';

export interface CameraOptions extends SourceOptions {
  /** Stop after this many processed frames. */
  frames?: number;
  /** Stop after this many seconds. */
  durationS?: number;
  /** Reopen a live source that ends (default: true for devices and URLs, false for files and patterns). */
  reconnect?: boolean;
  /** Events: start after `start` consecutive frames with a label, end after `end` frames without. */
  events?: { start: number; end: number; onEvent(e: CameraEvent): void };
  /** Classification results count as "seen" for events at this score or above (default 0.5). */
  classifyThreshold?: number;
  onResult?(r: FrameResult): void;
  /** Called when the source is lost and reopened. */
  onReconnect?(attempt: number, error: string): void;
  signal?: AbortSignal;
}

export interface FrameResult {
  /** Index of the frame among all frames received (0-based); gaps are dropped frames. */
  frame: number;
  /** Index among processed frames (0-based). */
  processed: number;
  /** Arrival time of the frame, ms since the epoch. */
  ts: number;
  latency_ms: number;
  pre_ms: number;
  /** Hand-over to the runner thread and back, less the invoke (includes native pre-processing). */
  handoff_ms: number;
  invoke_ms: number;
  post_ms: number;
  /** Time the frame waited in the slot. */
  wait_ms: number;
  result: VisionResult;
  /** How the frame was fitted to the model input (maps boxes and masks to the frame's pixels). */
  placement: Placement;
  /** The frame the result is for (RGB, the source's size). */
  pixels: { rgb: Uint8Array; width: number; height: number };
}

export interface CameraSummary {
  source: string;
  width: number;
  height: number;
  received: number;
  processed: number;
  dropped: number;
  reconnects: number;
  duration_s: number;
  fps: number;
  invoke_p50_ms: number;
  pre_p50_ms: number;
  /** Hand-over to the runner thread and back less the invoke (with native pre-processing, it is in here). */
  handoff_p50_ms: number;
  /** Whether frames were pre-processed natively on the runner thread. */
  native_preprocess: boolean;
  post_p50_ms: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  events: number;
  /** Why the run stopped. */
  stopped: 'frames' | 'duration' | 'signal' | 'source-ended';
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Labels seen in a result with their best score and box (for events). */
export function labelsSeen(r: VisionResult, classifyThreshold = 0.5): Map<string, { score: number; box: Box | null }> {
  const seen = new Map<string, { score: number; box: Box | null }>();
  if (r.task === 'detect') {
    for (const d of r.detections) {
      const label = d.label ?? `class ${d.index}`;
      const cur = seen.get(label);
      if (!cur || d.score > cur.score) seen.set(label, { score: d.score, box: d.box });
    }
  } else if (r.task === 'classify' && r.top[0] && r.top[0].score >= classifyThreshold) {
    seen.set(r.top[0].label ?? `class ${r.top[0].index}`, { score: r.top[0].score, box: null });
  }
  return seen;
}

/** Runs the camera loop until a stop condition; resolves with the summary. */
export async function runCamera(runner: VisionRunner, o: CameraOptions): Promise<CameraSummary> {
  checkSource(o);
  const size = o.size ?? probeSize(o) ?? (sourceKind(o.source) === 'device' ? { width: 640, height: 480 } : null);
  if (!size) throw new ReefError('REEF_SOURCE_FAILED', `cannot tell the frame size of ${o.source} (ffprobe found no video stream); pass --size WxH`);
  const live = o.reconnect ?? ['device', 'rtsp', 'http'].includes(sourceKind(o.source));
  const channels = runner.inputSize.channels;

  let received = 0;
  let processed = 0;
  let dropped = 0;
  let reconnects = 0;
  let eventsCount = 0;
  const invokes: number[] = [];
  const pres: number[] = [];
  const handoffs: number[] = [];
  const posts: number[] = [];
  const latencies: number[] = [];
  let firstArrival = 0;
  let lastResult = 0;
  let slot: { rgb: Uint8Array; arrival: number; index: number } | null = null;
  let busy = false;
  let stopping = false;
  let stopped: CameraSummary['stopped'] = 'source-ended';
  let sourceDone = false;
  let failure: unknown = null;
  let current: { stop(): void } | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;
  const epochOffset = Date.now() - performance.now();
  const tracker = o.events ? new EventTracker(o.events.start, o.events.end, (e) => { eventsCount++; o.events?.onEvent(e); }) : null;

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const maybeFinish = () => {
    if (busy) return;
    if (stopping || (sourceDone && slot === null)) resolveDone();
  };
  const stop = (why: CameraSummary['stopped']) => {
    if (stopping) return;
    stopping = true;
    stopped = why;
    if (reconnectTimer) clearTimeout(reconnectTimer);
    current?.stop();
    maybeFinish();
  };

  const toGray = (rgb: Uint8Array): Uint8Array => {
    const g = new Uint8Array(rgb.length / 3);
    for (let i = 0; i < g.length; i++) g[i] = Math.round(0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]);
    return g;
  };

  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      while (slot && !stopping) {
        const f = slot;
        slot = null;
        const start = performance.now();
        const { result, timings, placement } = await runner.runPixels(channels === 1 ? toGray(f.rgb) : f.rgb, size.width, size.height);
        const end = performance.now();
        const r: FrameResult = {
          frame: f.index, processed, ts: Math.round(epochOffset + f.arrival), latency_ms: end - f.arrival,
          pre_ms: timings.pre, handoff_ms: timings.handoff, invoke_ms: timings.invoke, post_ms: timings.post, wait_ms: start - f.arrival, result, placement,
          pixels: { rgb: f.rgb, width: size.width, height: size.height },
        };
        processed++;
        lastResult = end;
        invokes.push(timings.invoke); pres.push(timings.pre); handoffs.push(timings.handoff); posts.push(timings.post); latencies.push(r.latency_ms);
        o.onResult?.(r);
        tracker?.update(r.processed, r.ts, labelsSeen(result, o.classifyThreshold));
        if (o.frames !== undefined && processed >= o.frames) stop('frames');
      }
    } catch (e) {
      failure = e;
      stop('signal');
    } finally {
      busy = false;
      maybeFinish();
    }
  };

  let attempt = 0;
  const open = () => {
    current = startFfmpeg(o, size, {
      frame(rgb, arrival) {
        if (stopping) return;
        attempt = 0;
        if (received === 0) firstArrival = arrival;
        if (slot) dropped++;
        slot = { rgb, arrival, index: received++ };
        void pump();
      },
      end(code, error) {
        if (stopping) return;
        if (live) {
          reconnects++;
          attempt++;
          o.onReconnect?.(reconnects, error || `ffmpeg exited with code ${code}`);
          const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt - 1, 6));
          reconnectTimer = setTimeout(() => { if (!stopping) open(); }, delay);
          return;
        }
        if (code !== 0 && received === 0) {
          failure = new ReefError('REEF_SOURCE_FAILED', `ffmpeg could not read ${o.source}: ${error || `exit code ${code}`}`);
          stop('source-ended');
          return;
        }
        sourceDone = true;
        maybeFinish();
      },
    });
  };

  const onAbort = () => stop('signal');
  o.signal?.addEventListener('abort', onAbort);
  const timer = o.durationS !== undefined ? setTimeout(() => stop('duration'), o.durationS * 1000) : null;
  const t0 = performance.now();
  open();
  try {
    await done;
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    (current as { stop(): void } | null)?.stop();
  }
  if (slot) dropped++; // a frame still waiting when the run stopped was never processed
  slot = null;
  const endTs = Date.now();
  tracker?.close(processed, endTs);
  if (failure) throw failure;
  const span = processed > 0 ? (lastResult - firstArrival) / 1000 : 0;
  return {
    source: o.source, width: size.width, height: size.height, received, processed, dropped, reconnects,
    duration_s: (performance.now() - t0) / 1000, fps: span > 0 ? processed / span : 0,
    invoke_p50_ms: pct(invokes, 50), pre_p50_ms: pct(pres, 50), handoff_p50_ms: pct(handoffs, 50), native_preprocess: runner.nativePreprocess, post_p50_ms: pct(posts, 50),
    latency_p50_ms: pct(latencies, 50), latency_p99_ms: pct(latencies, 99), events: eventsCount, stopped,
  };
}
