/**
 * `reef camera MODEL --source SRC`: live inference on a camera, stream, video file or test pattern.
 */
import type { Command } from 'commander';
import { createWriteStream, type WriteStream } from 'node:fs';
import { runCamera, type FrameResult } from '../camera/camera.js';
import { load } from '../runtime/session.js';
import { modelMetadata, visionRunner } from '../tasks/vision.js';
import { readLabels } from '../labels.js';
import { ReefError } from '../errors.js';
import { MqttEventSink, parseMqttUrl, type MqttStats } from '../camera/mqtt.js';
import type { CameraEvent } from '../camera/events.js';
import { browserModel, CameraWebView, liveViewFields } from '../camera/web.js';
import { checkWritable, parsePositiveInt, type CliIO } from './io.js';
import { addVisionOptions, briefResult, parseVisionOptions, resultJson, visionOptions, type VisionCliOptions } from './vision.js';

export interface CameraCliOptions extends VisionCliOptions {
  source?: string;
  size?: string;
  fps?: string;
  inputFormat?: string;
  realtime?: boolean;
  frames?: string;
  duration?: string;
  labels?: string;
  topK: string;
  threads?: string;
  xnnpack: boolean;
  events?: string;
  mqtt?: string;
  web?: string | boolean;
  host?: string;
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

const DEFAULT_WEB_PORT = 8080;

function parsePort(text: string): number {
  const v = Number(text);
  if (!/^\d{1,5}$/.test(text) || v > 65535) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a port from 0 to 65535 for --web but received "${text}"`);
  return v;
}

export async function cameraCommand(model: string, opts: CameraCliOptions, io: CliIO): Promise<void> {
  if (!opts.source) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --source (/dev/videoN, rtsp://..., http://..., a video file or lavfi:PATTERN) but received nothing');
  const size = opts.size ? parseSize(opts.size) : undefined;
  const fps = opts.fps ? parsePositive('--fps', opts.fps) : undefined;
  const frames = opts.frames ? parsePositiveInt('--frames', opts.frames) : undefined;
  const durationS = opts.duration ? parsePositive('--duration', opts.duration) : undefined;
  const vision = parseVisionOptions(opts);
  const topK = parsePositiveInt('--top-k', opts.topK);
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  const eventStart = parsePositiveInt('--event-start', opts.eventStart);
  const eventEnd = parsePositiveInt('--event-end', opts.eventEnd);
  if (opts.events) await checkWritable('--events', opts.events);
  const mqttTarget = opts.mqtt !== undefined ? parseMqttUrl(opts.mqtt) : undefined;
  const webPort = opts.web === undefined || opts.web === false ? undefined : opts.web === true ? DEFAULT_WEB_PORT : parsePort(opts.web);

  const session = await load(model, { threads, xnnpack: opts.xnnpack });
  let runner;
  try {
    const labels = opts.labels ? await readLabels(opts.labels) : session.bundle?.labels ?? (await modelMetadata(model))?.labels ?? null;
    runner = await visionRunner(session, model, { ...visionOptions(vision, labels), labels, topK });
  } catch (e) {
    await session.dispose();
    throw e;
  }
  let events: WriteStream | null = null;
  let web: CameraWebView | null = null;
  const doneTimes: number[] = [];
  let mqttSink: MqttEventSink | null = null;
  let mqttStats: MqttStats | null = null;
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  let lastStatus = 0;
  try {
    if (webPort !== undefined) {
      web = await CameraWebView.start({ host: opts.host, port: webPort, title: `${model} on ${opts.source}`, ...browserModel(model, runner) });
      io.err(`camera: live view at ${web.url}\n`);
    }
    if (opts.events) events = createWriteStream(opts.events, { flags: 'w' });
    if (mqttTarget) {
      mqttSink = new MqttEventSink(mqttTarget, {
        onStatus: (s, detail) => io.err(s === 'lost' ? `camera: MQTT broker lost (${detail}); reconnecting, events wait\n` : `camera: MQTT broker ${detail} connected again\n`),
      });
    }
    const onEvent = (e: CameraEvent) => {
      events?.write(JSON.stringify(e) + '\n');
      mqttSink?.publish(e);
    };
    const summary = await runCamera(runner, {
      source: opts.source, size, fps, inputFormat: opts.inputFormat, realtime: opts.realtime, frames, durationS, signal: ac.signal,
      events: events || mqttSink ? { start: eventStart, end: eventEnd, onEvent } : undefined,
      onReconnect: (n, why) => io.err(`camera: source lost (${why.split('\n').pop()}); reconnecting (${n})\n`),
      onResult: (r: FrameResult) => {
        if (web) {
          const now = performance.now();
          doneTimes.push(now);
          while (doneTimes.length > 1 && now - doneTimes[0] > 2000) doneTimes.shift();
          const fps = doneTimes.length > 1 ? ((doneTimes.length - 1) * 1000) / (now - doneTimes[0]) : 0;
          const r2 = (v: number) => Math.round(v * 100) / 100;
          web.publish({
            frame: r.frame, rgb: r.pixels.rgb, width: r.pixels.width, height: r.pixels.height,
            message: liveViewFields(r, {
              frame: r.frame, processed: r.processed, ts: r.ts, width: r.pixels.width, height: r.pixels.height, fps: r2(fps),
              latency_ms: r2(r.latency_ms), invoke_ms: r2(r.invoke_ms), pre_ms: r2(r.pre_ms), post_ms: r2(r.post_ms),
              task: r.result.task, ...resultJson(r.result, { boxDecimals: 1, embedding: false }),
            }),
          });
        }
        if (opts.json) {
          const r2 = (v: number) => Math.round(v * 100) / 100;
          io.out(JSON.stringify({ frame: r.frame, ts: r.ts, latency_ms: r2(r.latency_ms), invoke_ms: r2(r.invoke_ms), task: r.result.task, ...resultJson(r.result, { boxDecimals: 1, embedding: false }) }) + '\n');
        } else {
          const now = Date.now();
          if (now - lastStatus > 250) {
            lastStatus = now;
            io.err(`\rframe ${r.frame}  processed ${r.processed + 1}  latency ${r.latency_ms.toFixed(0)} ms  invoke ${r.invoke_ms.toFixed(0)} ms  ${briefResult(r.result)}`.padEnd(100));
          }
        }
      },
    });
    if (mqttSink) { mqttStats = await mqttSink.close(); mqttSink = null; }
    const mqttSummary = mqttStats ? { mqtt: { published: mqttStats.published, reconnects: mqttStats.reconnects, dropped: mqttStats.dropped, pending: mqttStats.pending } } : {};
    if (opts.json) {
      io.out(JSON.stringify({ summary: { ...summary, ...mqttSummary } }) + '\n');
    } else {
      io.err('\n');
      io.out(`${summary.source} (${summary.width}x${summary.height}): ${summary.processed} processed, ${summary.dropped} dropped of ${summary.received} frames ` +
        `in ${summary.duration_s.toFixed(1)} s (${summary.stopped})\n`);
      io.out(`  fps ${summary.fps.toFixed(1)}  invoke p50 ${summary.invoke_p50_ms.toFixed(1)} ms  pre p50 ${summary.pre_p50_ms.toFixed(1)} ms  hand-off p50 ${summary.handoff_p50_ms.toFixed(1)} ms (${summary.native_preprocess ? 'native' : 'TypeScript'} pre-processing)  ` +
        `latency p50 ${summary.latency_p50_ms.toFixed(1)} ms  p99 ${summary.latency_p99_ms.toFixed(1)} ms  reconnects ${summary.reconnects}  events ${summary.events}\n`);
      if (mqttStats) {
        io.out(`  mqtt ${mqttTarget?.url}/${mqttTarget?.topic}: ${mqttStats.published} published, ${mqttStats.reconnects} reconnects, ${mqttStats.dropped} dropped, ${mqttStats.pending} undelivered\n`);
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (events) await new Promise<void>((r) => events?.end(r));
    if (web) await web.close();
    if (mqttSink) await mqttSink.close(0);
    await runner.session.dispose();
  }
}

export function registerCamera(program: Command, io: CliIO): void {
  const cmd = program
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
    .option('--labels <file>', 'label file')
    .option('-k, --top-k <n>', 'classification: classes per frame', '3')
    .option('--threads <n>', 'CPU threads')
    .option('--no-xnnpack', 'use TFLite\'s built-in kernels instead of XNNPACK')
    .option('--events <file.jsonl>', 'write events (a label seen for --event-start frames, gone for --event-end frames)')
    .option('--web [port]', `serve a live view (MJPEG video, results drawn from a WebSocket feed) on this port (default ${DEFAULT_WEB_PORT}; 0 picks one)`)
    .option('--host <addr>', 'address the live view listens on (default 127.0.0.1)')
    .option('--mqtt <url>', 'publish events to an MQTT broker: mqtt://host:port/TOPIC (TOPIC/events, TOPIC/available)')
    .option('--event-start <n>', 'consecutive frames that start an event', '3')
    .option('--event-end <n>', 'frames without the label that end it', '5')
    .option('--json', 'one JSON line per processed frame, then {"summary":...}');
  addVisionOptions(cmd, { scoreThreshold: '0.5' });
  cmd.action(async (model: string, opts: CameraCliOptions) => cameraCommand(model, opts, io));
}
