/**
 * reef camera with real ffmpeg: test patterns, the shared pedestrian video, and an HTTP MJPEG camera
 * stand-in (a loopback server speaking multipart/x-mixed-replace, as IP cameras do) that drops the
 * connection to exercise reconnecting.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { sharedPath } from '../shared.js';
import { cli } from '../cli.js';

const CLASSIFIER = sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite');
const SSD = sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const dir = mkdtempSync(join(tmpdir(), 'reef-camera-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Line = { frame: number; ts: number; latency_ms: number; task: string; detections?: Array<{ label: string; box: Record<string, number> }>; summary?: Record<string, number | string> };
const lines = (out: string): Line[] => out.trim().split('\n').map((l) => JSON.parse(l) as Line);

describe('reef camera', () => {
  it('an ffmpeg test pattern, --frames 8: one JSON line per processed frame, frames in order, then a summary where received = processed + dropped', async () => {
    const r = await cli('camera', CLASSIFIER, '--source', 'lavfi:testsrc=size=320x240:rate=25', '--frames', '8', '--json', '--labels', sharedPath('labels/imagenet_labels.txt'));
    expect(r.code, r.err).toBe(0);
    const ls = lines(r.out);
    const frames = ls.filter((l) => !l.summary);
    const summary = ls[ls.length - 1].summary!;
    expect(frames).toHaveLength(8);
    expect(frames.every((f, i) => f.task === 'classify' && (i === 0 || f.frame > frames[i - 1].frame) && f.latency_ms > 0)).toBe(true);
    expect(summary.processed).toBe(8);
    expect(summary.received).toBe((summary.processed as number) + (summary.dropped as number));
    expect([summary.width, summary.height, summary.stopped]).toEqual([320, 240, 'frames']);
  });

  it('the newest frame wins: a 200 fps pattern played in real time against a slow model drops frames and the processed frame numbers skip ahead', async () => {
    const r = await cli('camera', SSD, '--source', 'lavfi:testsrc=size=160x120:rate=200', '--realtime', '--frames', '5', '--json');
    expect(r.code, r.err).toBe(0);
    const ls = lines(r.out);
    const frames = ls.filter((l) => !l.summary).map((l) => l.frame);
    const s = ls[ls.length - 1].summary!;
    expect(s.dropped as number).toBeGreaterThan(0);
    expect(s.received).toBe((s.processed as number) + (s.dropped as number));
    // every gap between processed frames is made of dropped frames, never queued ones
    expect(frames.slice(1).some((f, i) => f - frames[i] > 1)).toBe(true);
  });

  it('events on the shared pedestrian video: "person" starts after 3 frames and ends when the run stops, with its best snapshot', async () => {
    const events = join(dir, 'events.jsonl');
    const r = await cli('camera', SSD, '--source', sharedPath('video/vtest_h264_crf28.mp4'), '--frames', '6', '--events', events, '--json');
    expect(r.code, r.err).toBe(0);
    const ev = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; label: string; frame: number; reason?: string; best: { score: number; box: Record<string, number> } });
    const person = ev.filter((e) => e.label === 'person');
    expect(person.map((e) => [e.type, e.frame])).toEqual([['start', 2], ['end', 6]]);
    expect(person[1].reason).toBe('stopped');
    expect(person[1].best.score).toBeGreaterThanOrEqual(0.5);
    expect(person[1].best.box.xmax).toBeLessThanOrEqual(768);
    const s = lines(r.out).pop()!.summary!;
    expect(s.events).toBe(ev.length);
  });

  it('stream loss: an HTTP MJPEG camera that hangs up after 3 frames is reopened (counted) and the run goes on', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } }).jpeg().toBuffer();
    let connections = 0;
    const server: Server = createServer((req, res) => {
      connections++;
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=frame' });
      let sent = 0;
      const t = setInterval(() => {
        res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
        res.write(jpeg);
        res.write('\r\n');
        if (++sent === 3) { clearInterval(t); res.destroy(); }
      }, 30);
      res.on('close', () => clearInterval(t));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await cli('camera', CLASSIFIER, '--source', `http://127.0.0.1:${port}/video`, '--size', '64x48', '--frames', '5', '--json');
      expect(r.code, r.err).toBe(0);
      const s = lines(r.out).pop()!.summary!;
      expect(s.processed).toBe(5);
      expect(s.reconnects as number).toBeGreaterThanOrEqual(1);
      expect(connections).toBeGreaterThanOrEqual(2);
      expect(r.err).toMatch(/source lost .*; reconnecting \(1\)/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it('BAD CALL - no source, a missing file, a bad --size, a file that is not video: coded errors', async () => {
    const r1 = await cli('camera', CLASSIFIER, '--json');
    expect([r1.code, JSON.parse(r1.out).error.code]).toEqual([2, 'REEF_INVALID_ARGUMENT']);
    const r2 = await cli('camera', CLASSIFIER, '--source', join(dir, 'none.mp4'), '--json');
    expect(JSON.parse(r2.out).error.code).toBe('REEF_FILE_NOT_FOUND');
    const r3 = await cli('camera', CLASSIFIER, '--source', 'lavfi:testsrc', '--size', '64by48', '--json');
    expect(JSON.parse(r3.out).error.message).toBe('Expected WIDTHxHEIGHT (e.g. 640x480) for --size but received "64by48"');
    const notVideo = join(dir, 'notes.mp4');
    writeFileSync(notVideo, 'this is not a video');
    const r4 = await cli('camera', CLASSIFIER, '--source', notVideo, '--size', '64x48', '--json');
    expect([r4.code, JSON.parse(r4.out).error.code]).toEqual([1, 'REEF_SOURCE_FAILED']);
  });
});
