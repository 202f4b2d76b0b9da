/**
 * reef camera --web in a real headless Chromium (Debian's, through playwright-core): the page gets
 * the MJPEG frames and draws, for each picture, the results the WebSocket sent for that frame; and
 * the same classifier run in the browser by @tensorflow/tfjs-tflite (WASM, served from the npm
 * package, offline) gives reef's top-1 on a still picture.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import WebSocket from 'ws';
import sharp from 'sharp';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { cli } from '../cli.js';
import { main } from '../../src/cli/index.js';
import { sharedPath } from '../shared.js';

const SSD = sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const CLASSIFIER = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
const VIDEO = sharedPath('video/vtest_h264_crf28.mp4');
const BURGER = sharedPath('images/misc/burger.jpg');

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => { await browser?.close(); });

/**
 * Starts `reef camera ... --web 0` in-process; resolves with the URL it prints, the run, and stop():
 * what Ctrl-C does (the SIGINT handler the command registered, called directly: no signal is sent).
 */
async function startCamera(...args: string[]): Promise<{ url: string; run: Promise<{ code: number; out: string; err: string }>; stop(): void }> {
  const before = new Set(process.listeners('SIGINT'));
  let out = '';
  let err = '';
  let onUrl!: (u: string) => void;
  const urlP = new Promise<string>((r) => { onUrl = r; });
  const run = main(['node', 'reef', 'camera', ...args, '--web', '0'], {
    out: (s) => { out += s; },
    err: (s) => { err += s; const m = /live view at (http:\/\/\S+)/.exec(err); if (m) onUrl(m[1]); },
  }).then((code) => ({ code, out, err }));
  const url = await Promise.race([urlP, run.then((r) => { throw new Error(`camera ended before serving: ${r.err}`); })]);
  const handler = process.listeners('SIGINT').find((l) => !before.has(l));
  if (!handler) throw new Error('reef camera registered no SIGINT handler');
  return { url, run, stop: () => (handler as (s: string) => void)('SIGINT') };
}

/** The first part of the MJPEG stream: its headers and JPEG bytes. */
function firstPart(url: string): Promise<{ type: string; headers: string; jpeg: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('stream.mjpg', url), (res) => {
      let buf = Buffer.alloc(0);
      res.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) return;
        const headers = buf.subarray(0, h).toString();
        const len = Number(/Content-Length: (\d+)/.exec(headers)?.[1]);
        if (buf.length >= h + 4 + len) {
          req.destroy();
          resolve({ type: res.headers['content-type'] as string, headers, jpeg: buf.subarray(h + 4, h + 4 + len) });
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('reef camera --web', () => {
  it('serves MJPEG frames and a WebSocket feed; the page paints the frames and draws exactly the boxes sent for each one', async () => {
    const { url, run, stop } = await startCamera(SSD, '--source', VIDEO, '--realtime', '--duration', '120', '--score-threshold', '0.4');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // a WebSocket client of our own records what the server sends
    const sent: Array<Record<string, unknown>> = [];
    const ws = new WebSocket(new URL('ws', url.replace('http', 'ws')));
    ws.on('message', (d) => sent.push(JSON.parse(String(d)) as Record<string, unknown>));
    const part = await firstPart(url);
    expect(part.type).toBe('multipart/x-mixed-replace; boundary=reefframe');
    expect(part.headers).toMatch(/^--reefframe\r\nContent-Type: image\/jpeg\r\nContent-Length: \d+\r\nX-Reef-Frame: \d+$/);
    expect(await sharp(part.jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 768, height: 576 });

    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { reef: { frames: number; drawn: unknown[] } }).reef.frames >= 5 &&
      (window as unknown as { reef: { drawn: unknown[] } }).reef.drawn.length > 0, undefined, { timeout: 60_000 });
    const seen = await page.evaluate(() => {
      const r = (window as unknown as { reef: { frames: number; results: number; drawnFrame: number; drawn: Array<{ x: number; y: number; w: number; h: number; rgb: number[]; label: string }>; byFrame: Map<number, unknown> } }).reef;
      const cv = document.getElementById('view') as HTMLCanvasElement;
      const g = cv.getContext('2d') as CanvasRenderingContext2D;
      // the pixel in the middle of each box's left edge: the box's own colour
      const edges = r.drawn.map((d) => [...g.getImageData(d.x, d.y + Math.floor(d.h / 2), 1, 1).data.slice(0, 3)]);
      return { frames: r.frames, results: r.results, drawnFrame: r.drawnFrame, drawn: r.drawn, msg: r.byFrame.get(r.drawnFrame), edges, size: [cv.width, cv.height],
        fps: document.getElementById('fps')?.textContent, latency: document.getElementById('latency')?.textContent };
    });
    expect(seen.size).toEqual([768, 576]);
    expect(seen.frames).toBeGreaterThanOrEqual(5);
    const msg = seen.msg as { frame: number; task: string; detections: Array<{ index: number; label: string; box: Record<string, number> }> };
    // the overlay is the result the server sent for the frame painted
    expect(sent.find((m) => m.frame === seen.drawnFrame)).toEqual(msg);
    expect(msg.task).toBe('detect');
    expect(seen.drawn.map((d) => [d.label, d.x, d.y, d.x + d.w, d.y + d.h])).toEqual(
      msg.detections.map((d) => [d.label, Math.round(d.box.xmin), Math.round(d.box.ymin), Math.round(d.box.xmax), Math.round(d.box.ymax)]));
    expect(seen.edges).toEqual(seen.drawn.map((d) => d.rgb));
    expect(Number(seen.fps)).toBeGreaterThan(0);
    expect(Number(seen.latency)).toBeGreaterThan(0);
    await page.close();
    ws.close();
    stop();
    const r = await run;
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/processed, \d+ dropped of \d+ frames in [\d.]+ s \(signal\)\n/);
  });

  it('the same model in the browser (tfjs-tflite, WASM, offline): on a still picture its top-1 is reef\'s', async () => {
    const { url, run, stop } = await startCamera(CLASSIFIER, '--source', BURGER, '--fps', '5', '--duration', '120');
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    await page.goto(url);
    await page.waitForFunction(() => {
      const b = (window as unknown as { reefBrowser: { model: unknown; error: string | null } }).reefBrowser;
      return b.model !== null || b.error !== null;
    }, undefined, { timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { reefBrowser: { error: string | null } }).reefBrowser.error), consoleErrors.join('\n')).toBeNull();
    await page.waitForFunction(() => (window as unknown as { reef: { results: number } }).reef.results >= 2, undefined, { timeout: 30_000 });
    const runFrame = () => page.evaluate(() => (window as unknown as { reefBrowser: { runFrame(): Promise<unknown> } }).reefBrowser.runFrame()) as Promise<{
      frame: number; browser: { top: Array<{ index: number; label: string }>; ms: number }; reef: { top: Array<{ index: number; label: string }>; ms: number } | null }>;
    let res = await runFrame();
    for (let i = 0; i < 5 && res.reef === null; i++) res = await runFrame(); // the frame's result not seen by the page yet
    expect(res.reef).not.toBeNull();
    expect(res.browser.top[0].index).toBe(res.reef!.top[0].index);
    // fed the very bytes reef fed, the uint8 model gives the very score (dequantized alike)
    expect((res.browser.top[0] as unknown as { score: number }).score).toBe((res.reef!.top[0] as unknown as { score: number }).score);
    expect([res.browser.top[0].index, res.browser.top[0].label]).toEqual([934, 'cheeseburger']);
    expect(res.browser.ms).toBeGreaterThan(0);
    expect(await page.textContent('#browserTop')).toMatch(/^frame \d+, [\d.]+ ms in the browser \(device: [\d.]+ ms\)\n/);
    await page.close();
    stop();
    const r = await run;
    expect(r.code, r.err).toBe(0);
  });

  it('BAD CALL - a --web port in use or out of range: usage errors, nothing left running', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await cli('camera', CLASSIFIER, '--source', BURGER, '--frames', '2', '--web', String(port));
      expect([r.code, r.err.split('\n')[0]]).toEqual([2, `reef: REEF_INVALID_ARGUMENT: Expected a free port for --web but received 127.0.0.1:${port}: the port is in use (pick another, or 0 for any)`]);
    } finally {
      busy.close();
    }
    const bad = await cli('camera', CLASSIFIER, '--source', BURGER, '--web', '70000');
    expect([bad.code, bad.err.split('\n')[0]]).toEqual([2, 'reef: REEF_INVALID_ARGUMENT: Expected a port from 0 to 65535 for --web but received "70000"']);
  });
});
