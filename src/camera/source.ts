/**
 * Camera and video sources through ffmpeg: V4L2 devices, RTSP (over TCP), HTTP MJPEG, video files and
 * ffmpeg's test patterns, decoded to raw RGB frames of a fixed size on ffmpeg's stdout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ReefError } from '../errors.js';

export interface SourceOptions {
  /** /dev/videoN, rtsp://..., http(s)://... (MJPEG), a video file, or lavfi:PATTERN (e.g. lavfi:testsrc=size=320x240:rate=30). */
  source: string;
  /** Frame size to deliver (ffmpeg scales); default: the source's own (probed), 640x480 for devices. */
  size?: { width: number; height: number };
  /** Frames per second asked of a device, or the rate a file is resampled to. */
  fps?: number;
  /** V4L2 input format (mjpeg, yuyv422, ...). */
  inputFormat?: string;
  /** Play files at their own rate (ffmpeg -re) instead of as fast as they decode. */
  realtime?: boolean;
  /** The ffmpeg binary (default: ffmpeg on PATH). */
  ffmpeg?: string;
}

export type SourceKind = 'device' | 'rtsp' | 'http' | 'file' | 'image' | 'lavfi';

/** Still pictures a camera run can loop (ffmpeg's image2 demuxer). */
const IMAGE_EXTENSIONS = /\.(jpe?g|png|bmp|webp|tiff?)$/i;

export function sourceKind(source: string): SourceKind {
  if (source.startsWith('/dev/video')) return 'device';
  if (/^rtsps?:\/\//i.test(source)) return 'rtsp';
  if (/^https?:\/\//i.test(source)) return 'http';
  if (source.startsWith('lavfi:')) return 'lavfi';
  return IMAGE_EXTENSIONS.test(source) ? 'image' : 'file';
}

/** The ffmpeg arguments that read `o.source` and write raw RGB frames of `size` to stdout. */
export function ffmpegArgs(o: SourceOptions, size: { width: number; height: number }): string[] {
  const kind = sourceKind(o.source);
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  switch (kind) {
    case 'device':
      args.push('-f', 'v4l2');
      if (o.inputFormat) args.push('-input_format', o.inputFormat);
      if (o.size) args.push('-video_size', `${o.size.width}x${o.size.height}`);
      if (o.fps) args.push('-framerate', String(o.fps));
      args.push('-i', o.source);
      break;
    case 'rtsp':
      args.push('-rtsp_transport', 'tcp', '-i', o.source);
      break;
    case 'http':
      // multipart/x-mixed-replace (IP cameras) is recognised by its content type
      args.push('-i', o.source);
      break;
    case 'lavfi':
      if (o.realtime) args.push('-re');
      args.push('-f', 'lavfi', '-i', o.source.slice('lavfi:'.length));
      break;
    case 'file':
      if (o.realtime) args.push('-re');
      args.push('-i', o.source);
      break;
    case 'image':
      // A still picture as a camera: looped at --fps (default 10), always at that rate.
      args.push('-re', '-loop', '1', '-framerate', String(o.fps ?? 10), '-i', o.source);
      break;
  }
  const vf = [`scale=${size.width}:${size.height}`];
  if (o.fps && kind !== 'device' && kind !== 'image') vf.unshift(`fps=${o.fps}`);
  args.push('-an', '-vf', vf.join(','), '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  return args;
}

/** Asks ffprobe for a source's frame size; null when it cannot tell. */
export function probeSize(o: SourceOptions): { width: number; height: number } | null {
  const kind = sourceKind(o.source);
  if (kind === 'device') return null;
  const probe = (o.ffmpeg ?? 'ffmpeg').replace(/ffmpeg$/, 'ffprobe');
  const args = ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0:s=x'];
  if (kind === 'lavfi') args.push('-f', 'lavfi', o.source.slice(6));
  else {
    if (kind === 'rtsp') args.push('-rtsp_transport', 'tcp');
    args.push(o.source);
  }
  const r = spawnSync(probe, args, { encoding: 'utf8', timeout: 15_000 });
  const m = /^(\d+)x(\d+)/m.exec(r.stdout ?? '');
  return m ? { width: Number(m[1]), height: Number(m[2]) } : null;
}

/** Checks the source and ffmpeg before anything starts. */
export function checkSource(o: SourceOptions): void {
  const kind = sourceKind(o.source);
  if ((kind === 'file' || kind === 'image' || kind === 'device') && !existsSync(o.source)) {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot open camera source ${o.source}: no such file or device`);
  }
  const v = spawnSync(o.ffmpeg ?? 'ffmpeg', ['-version'], { encoding: 'utf8', timeout: 10_000 });
  if (v.error || v.status !== 0) {
    throw new ReefError('REEF_SOURCE_FAILED', `cannot run ${o.ffmpeg ?? 'ffmpeg'}: ${v.error?.message ?? `exit ${v.status}`} (install the Debian package ffmpeg)`);
  }
}

export interface FrameSink {
  /** A whole frame arrived (the buffer is the caller's to keep). */
  frame(rgb: Uint8Array, arrival: number): void;
  /** ffmpeg ended; `error` holds its last words when it failed. */
  end(code: number | null, error: string): void;
}

/** One ffmpeg process delivering frames of `size` to `sink`. `stop()` ends it (SIGTERM by PID). */
export function startFfmpeg(o: SourceOptions, size: { width: number; height: number }, sink: FrameSink): { child: ChildProcess; stop(): void } {
  const frameBytes = size.width * size.height * 3;
  const child = spawn(o.ffmpeg ?? 'ffmpeg', ffmpegArgs(o, size), { stdio: ['ignore', 'pipe', 'pipe'] });
  let pending = Buffer.alloc(frameBytes);
  let filled = 0;
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(frameBytes - filled, chunk.length - off);
      chunk.copy(pending, filled, off, off + n);
      filled += n;
      off += n;
      if (filled === frameBytes) {
        const done = pending;
        pending = Buffer.alloc(frameBytes);
        filled = 0;
        sink.frame(new Uint8Array(done.buffer, done.byteOffset, done.byteLength), performance.now());
      }
    }
  });
  child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2000); });
  let ended = false;
  const finish = (code: number | null, err: string) => { if (!ended) { ended = true; sink.end(code, err); } };
  child.on('error', (e) => finish(null, e.message));
  child.on('close', (code) => finish(code, stderr.trim()));
  return {
    child,
    stop() {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGTERM');
    },
  };
}
