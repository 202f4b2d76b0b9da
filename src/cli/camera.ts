/**
 * `reef camera MODEL --source SRC`: live inference on a camera, stream, video file or test pattern.
 */
import type { Command } from 'commander';
import { createWriteStream, type WriteStream } from 'node:fs';
import { runCamera, type FrameResult } from '../camera/camera.js';
import { openVision, TASKS, type Task, type VisionResult } from '../tasks/vision.js';
import { RESIZE_FILTERS, RESIZE_MODES, type ResizeFilter, type ResizeMode } from '../tasks/resize.js';
import { ReefError } from '../errors.js';
import { checkWritable, parsePositiveInt, type CliIO } from './io.js';
import { parseChoice, parseFraction } from './eval.js';

export interface CameraCliOptions {
  source?: string;
  size?: string;
  fps?: string;
  inputFormat?: string;
  realtime?: boolean;
  frames?: string;
  duration?: string;
  task?: string;
  labels?: string;
  scoreThreshold: string;
  topK: string;
  resize?: string;
  resizeFilter?: string;
  threads?: string;
  xnnpack: boolean;
  events?: string;
  eventStart: string;
  eventEnd: string;
  json?: boolean;
}

function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected WIDTHxHEIGHT (e.g. 640x480) for --size but received "${text}"`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

function parsePositive(name: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a positive number for ${name} but received "${text}"`);
  return v;
}

/** The task result as printed in JSON lines (boxes rounded to 0.1 px, masks summarised). */
export function resultJson(r: VisionResult): Record<string, unknown> {
  const r1 = (v: number) => Math.round(v * 10) / 10;
  switch (r.task) {
    case 'classify': return { top: r.top };
    case 'detect': return { detections: r.detections.map((d) => ({ label: d.label, index: d.index, score: d.score, box: { xmin: r1(d.box.xmin), ymin: r1(d.box.ymin), xmax: r1(d.box.xmax), ymax: r1(d.box.ymax) } })) };
    case 'segment': return { mask: { width: r.mask.width, height: r.mask.height, classes: r.classes } };
    case 'embed': return { embedding: { dims: r.embedding.length } };
  }
}

function brief(r: VisionResult): string {
  switch (r.task) {
    case 'classify': return r.top[0] ? `${r.top[0].label ?? r.top[0].index} ${r.top[0].score.toFixed(2)}` : '';
    case 'detect': return `${r.detections.length} objects${r.detections.length ? `: ${r.detections.slice(0, 3).map((d) => `${d.label ?? d.index} ${d.score.toFixed(2)}`).join(', ')}` : ''}`;
    case 'segment': return r.classes.slice(0, 3).map((c) => `${c.label ?? c.index} ${(c.fraction * 100).toFixed(0)}%`).join(', ');
    case 'embed': return `${r.embedding.length}-d embedding`;
  }
}

export async function cameraCommand(model: string, opts: CameraCliOptions, io: CliIO): Promise<void> {
  if (!opts.source) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --source (/dev/videoN, rtsp://..., http://..., a video file or lavfi:PATTERN) but received nothing');
  const size = opts.size ? parseSize(opts.size) : undefined;
  const fps = opts.fps ? parsePositive('--fps', opts.fps) : undefined;
  const frames = opts.frames ? parsePositiveInt('--frames', opts.frames) : undefined;
  const durationS = opts.duration ? parsePositive('--duration', opts.duration) : undefined;
  const task = parseChoice<Task>('--task', opts.task, TASKS);
  const resize = parseChoice<ResizeMode>('--resize', opts.resize, RESIZE_MODES);
  const filter = parseChoice<ResizeFilter>('--resize-filter', opts.resizeFilter, RESIZE_FILTERS);
  const threshold = parseFraction('--score-threshold', opts.scoreThreshold);
  const topK = parsePositiveInt('--top-k', opts.topK);
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  const eventStart = parsePositiveInt('--event-start', opts.eventStart);
  const eventEnd = parsePositiveInt('--event-end', opts.eventEnd);
  if (opts.events) await checkWritable('--events', opts.events);

  const runner = await openVision(model, { threads, xnnpack: opts.xnnpack }, { task, labelsFile: opts.labels, resize, filter, topK, detect: { scoreThreshold: threshold } });
  let events: WriteStream | null = null;
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let lastStatus = 0;
  try {
    if (opts.events) events = createWriteStream(opts.events, { flags: 'w' });
    const summary = await runCamera(runner, {
      source: opts.source, size, fps, inputFormat: opts.inputFormat, realtime: opts.realtime, frames, durationS, signal: ac.signal,
      events: events ? { start: eventStart, end: eventEnd, onEvent: (e) => events?.write(JSON.stringify(e) + '\n') } : undefined,
      onReconnect: (n, why) => io.err(`camera: source lost (${why.split('\n').pop()}); reconnecting (${n})\n`),
      onResult: (r: FrameResult) => {
        if (opts.json) {
          const r2 = (v: number) => Math.round(v * 100) / 100;
          io.out(JSON.stringify({ frame: r.frame, ts: r.ts, latency_ms: r2(r.latency_ms), invoke_ms: r2(r.invoke_ms), task: r.result.task, ...resultJson(r.result) }) + '\n');
        } else {
          const now = Date.now();
          if (now - lastStatus > 250) {
            lastStatus = now;
            io.err(`\rframe ${r.frame}  processed ${r.processed + 1}  latency ${r.latency_ms.toFixed(0)} ms  invoke ${r.invoke_ms.toFixed(0)} ms  ${brief(r.result)}`.padEnd(100));
          }
        }
      },
    });
    if (opts.json) {
      io.out(JSON.stringify({ summary }) + '\n');
    } else {
      io.err('\n');
      io.out(`${summary.source} (${summary.width}x${summary.height}): ${summary.processed} processed, ${summary.dropped} dropped of ${summary.received} frames ` +
        `in ${summary.duration_s.toFixed(1)} s (${summary.stopped})\n`);
      io.out(`  fps ${summary.fps.toFixed(1)}  invoke p50 ${summary.invoke_p50_ms.toFixed(1)} ms  pre p50 ${summary.pre_p50_ms.toFixed(1)} ms  ` +
        `latency p50 ${summary.latency_p50_ms.toFixed(1)} ms  p99 ${summary.latency_p99_ms.toFixed(1)} ms  reconnects ${summary.reconnects}  events ${summary.events}\n`);
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (events) await new Promise<void>((r) => events?.end(r));
    await runner.session.dispose();
  }
}

export function registerCamera(program: Command, io: CliIO): void {
  program
    .command('camera')
    .description('live inference on a camera, RTSP/HTTP stream, video file or ffmpeg test pattern (always the newest frame)')
    .argument('<model>', 'a .tflite model or a .reef bundle')
    .option('--source <src>', '/dev/videoN, rtsp://..., http://... (MJPEG), a video file, or lavfi:PATTERN')
    .option('--size <WxH>', 'frame size (ffmpeg scales); default the source\'s')
    .option('--fps <n>', 'frame rate asked of the device or resampled to')
    .option('--input-format <f>', 'V4L2 input format (mjpeg, yuyv422, ...)')
    .option('--realtime', 'play files at their own rate')
    .option('--frames <n>', 'stop after n processed frames')
    .option('--duration <s>', 'stop after s seconds')
    .option('--task <task>', `force the task: ${TASKS.join(', ')}`)
    .option('--labels <file>', 'label file')
    .option('--score-threshold <s>', 'detections: keep those scoring at least this', '0.5')
    .option('-k, --top-k <n>', 'classification: classes per frame', '3')
    .option('--resize <mode>', RESIZE_MODES.join(', '))
    .option('--resize-filter <f>', RESIZE_FILTERS.join(', '))
    .option('--threads <n>', 'CPU threads')
    .option('--no-xnnpack', 'use TFLite\'s built-in kernels instead of XNNPACK')
    .option('--events <file.jsonl>', 'write events (a label seen for --event-start frames, gone for --event-end frames)')
    .option('--event-start <n>', 'consecutive frames that start an event', '3')
    .option('--event-end <n>', 'frames without the label that end it', '5')
    .option('--json', 'one JSON line per processed frame, then {"summary":...}')
    .action(async (model: string, opts: CameraCliOptions) => cameraCommand(model, opts, io));
}
