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
import { readFileSync } from 'node:fs';
import { boxToPhoto, placement, resizePixels } from '../../src/tasks/resize.js';
import { decodeSsdPostprocess } from '../../src/tasks/detect/ssd.js';
import { classAreas, maskToPhoto, vocColor, type Mask } from '../../src/tasks/segment.js';

const SSD = sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const CLASSIFIER = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
const VIDEO = sharedPath('video/vtest_h264_crf28.mp4');
const BURGER = sharedPath('images/misc/burger.jpg');
const DEEPLAB = sharedPath('models/edgetpu/deeplabv3_mnv2_dm05_pascal_quant.tflite');
const CATS = sharedPath('images/misc/cats_and_dogs.jpg');
const COCO = readFileSync(sharedPath('labels/coco_labels.txt'), 'utf8').split('\n');

/** The live view's run-length mask, read here on its own terms (docs/camera.md): varint class, varint run length, base64. */
function readRle(rle: string, width: number, height: number): Mask {
  const b = Buffer.from(rle, 'base64');
  const data = new Uint8Array(width * height);
  let i = 0;
  let o = 0;
  const varint = () => { let v = 0; let shift = 0; let c; do { c = b[i++]; v += (c & 0x7f) << shift; shift += 7; } while (c & 0x80); return v; };
  while (i < b.length) { const v = varint(); const n = varint(); data.fill(v, o, o + n); o += n; }
  expect(o).toBe(width * height);
  return { width, height, data };
}

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

  it('segmentation: the painted frame\'s mask (from its WebSocket message) drawn over the picture exactly as reef maps it (center-crop), legend = the classes on it', async () => {
    const { url, run, stop } = await startCamera(DEEPLAB, '--source', CATS, '--fps', '2', '--duration', '120', '--resize', 'center-crop');
    const sent: Array<Record<string, unknown>> = [];
    const ws = new WebSocket(new URL('ws', url.replace('http', 'ws')));
    ws.on('message', (d) => sent.push(JSON.parse(String(d)) as Record<string, unknown>));
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { reef: { legend: unknown[] } }).reef.legend.length > 0, undefined, { timeout: 60_000 });
    const seen = await page.evaluate(() => {
      const r = (window as unknown as { reef: { drawnFrame: number; legend: Array<{ index: number; pixels: number }> } }).reef;
      const view = document.getElementById('view') as HTMLCanvasElement;
      const ov = document.getElementById('overlay') as HTMLCanvasElement;
      const W = ov.width, H = ov.height;
      const px = (ov.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, W, H).data;
      // every 5th pixel both ways, and the whole of row 301 (across both crop edges)
      const samples: number[][] = [];
      const at = (x: number, y: number) => { const o = (y * W + x) * 4; samples.push([x, y, px[o], px[o + 1], px[o + 2], px[o + 3]]); };
      for (let y = 2; y < H; y += 5) for (let x = 1; x < W; x += 5) at(x, y);
      for (let x = 0; x < W; x++) at(x, 301);
      const box = (e: Element) => { const b = e.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; };
      return {
        drawnFrame: r.drawnFrame, legend: r.legend.map((c) => [c.index, c.pixels]), samples, size: [W, H], view: [view.width, view.height],
        boxes: [box(view), box(ov)], opacity: getComputedStyle(ov).opacity,
        legendText: [...document.querySelectorAll('#legend li')].map((li) => [Number((li as HTMLElement).dataset.index), li.textContent]),
      };
    });
    expect(pageErrors).toEqual([]);
    for (let i = 0; i < 50 && !sent.some((m) => m.frame === seen.drawnFrame); i++) await new Promise((r) => setTimeout(r, 100));
    const msg = sent.find((m) => m.frame === seen.drawnFrame) as { task: string; width: number; height: number; placement: unknown;
      mask: { width: number; height: number; classes: Array<{ index: number; pixels: number }>; model: { width: number; height: number; rle: string } } };
    expect(msg.task).toBe('segment');
    expect([msg.width, msg.height, msg.mask.model.width, msg.mask.model.height]).toEqual([1200, 600, 513, 513]);
    const p = placement(1200, 600, 513, 513, 'center-crop');
    expect(msg.placement).toEqual({ mode: 'center-crop', width: 513, height: 513, src: p.src, dst: p.dst });
    const model = readRle(msg.mask.model.rle, 513, 513);
    const photo = maskToPhoto(model, p);
    // the model's mask, mapped as `reef run` maps it, is the mask whose areas the message reports
    expect(classAreas(photo).map((c) => [c.index, c.pixels])).toEqual(msg.mask.classes.map((c) => [c.index, c.pixels]));
    expect(msg.mask.classes.map((c) => c.index).sort((a, b) => a - b)).toEqual([0, 8, 12]); // background, cat, dog
    // the overlay covers the picture exactly, translucent
    expect(seen.size).toEqual([1200, 600]);
    expect(seen.view).toEqual([1200, 600]);
    expect(seen.boxes[1]).toEqual(seen.boxes[0]);
    expect(seen.opacity).toBe('0.5');
    // each sampled pixel: the class of reef's mask there, in its VOC colour; background and the parts
    // of the picture the model did not see (left and right of the centre crop) uncovered
    const byColour = new Map(Array.from({ length: 256 }, (_, i) => [vocColor(i).join(','), i]));
    const inside = (x: number, y: number) => x + 0.5 >= p.src.x && x + 0.5 <= p.src.x + p.src.width && y + 0.5 >= p.src.y && y + 0.5 <= p.src.y + p.src.height;
    const drawnClass = ([, , r, g, b, a]: number[]) => (a === 0 && r + g + b === 0 ? 'none' : a === 255 ? byColour.get(`${r},${g},${b}`) ?? `rgb ${r},${g},${b}` : `alpha ${a}`);
    const expected = ([x, y]: number[]) => (!inside(x, y) || photo.data[y * 1200 + x] === 0 ? 'none' : photo.data[y * 1200 + x]);
    const wrong = seen.samples.filter((s) => drawnClass(s) !== expected(s));
    expect(wrong.slice(0, 5).map((s) => ({ at: s.slice(0, 2), drawn: drawnClass(s), mask: expected(s) }))).toEqual([]);
    const drawnSet = new Set(seen.samples.map(drawnClass));
    expect([...drawnSet].sort()).toEqual([12, 8, 'none'].sort()); // both animals drawn
    expect(seen.samples.some((s) => !inside(s[0], s[1]) && photo.data[s[1] * 1200 + s[0]] !== 0)).toBe(true); // the crop edge matters here
    // the legend: every class on the part of the picture the model saw, most pixels first, with its pixels
    const counts = new Map<number, number>();
    for (let y = 0; y < 600; y++) for (let x = 0; x < 1200; x++) if (inside(x, y)) counts.set(photo.data[y * 1200 + x], (counts.get(photo.data[y * 1200 + x]) ?? 0) + 1);
    const legend = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    expect(seen.legend).toEqual(legend);
    const total = legend.reduce((a, c) => a + c[1], 0);
    expect(seen.legendText).toEqual(legend.map(([i, n]) => [i, `class ${i}${i === 0 ? ' (not coloured)' : ''} ${((100 * n) / total).toFixed(1)}%`]));
    await page.close();
    ws.close();
    stop();
    const r = await run;
    expect(r.code, r.err).toBe(0);
  }, 150_000);

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

  it('a detector in the browser (tfjs-tflite, WASM): fed reef\'s very bytes, read as reef reads them; on a still picture the same labels in the same order as the device', async () => {
    const { url, run, stop } = await startCamera(SSD, '--source', CATS, '--fps', '4', '--duration', '120');
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => {
      const b = (window as unknown as { reefBrowser: { model: unknown; error: string | null } }).reefBrowser;
      return b.model !== null || b.error !== null;
    }, undefined, { timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { reefBrowser: { error: string | null } }).reefBrowser.error)).toBeNull();
    await page.waitForFunction(() => (window as unknown as { reef: { results: number } }).reef.results >= 2, undefined, { timeout: 30_000 });
    type Det = { index: number; label: string; score: number; box: { xmin: number; ymin: number; xmax: number; ymax: number } };
    type Raw = { boxes: number[]; classes: number[]; scores: number[]; count: number[] };
    const runFrame = () => page.evaluate(() => (window as unknown as { reefBrowser: { runFrame(): Promise<unknown> } }).reefBrowser.runFrame()) as Promise<{
      frame: number; browser: { detections: Det[]; ms: number; raw: Raw; input: { bytes: number; fnv1a: string } }; reef: { detections: Det[]; ms: number } | null }>;
    let res = await runFrame();
    for (let i = 0; i < 5 && res.reef === null; i++) res = await runFrame();
    expect(res.reef).not.toBeNull();
    const reef = res.reef!.detections;
    const inBrowser = res.browser.detections;
    // the Task Library's golden for this photo and model: cat, cat, cat, dog (reef's default threshold 0.5)
    expect(reef.map((d) => d.label)).toEqual(['cat', 'cat', 'cat', 'dog']);
    expect(inBrowser.map((d) => [d.index, d.label])).toEqual(reef.map((d) => [d.index, d.label]));
    // 1. the browser was fed the bytes reef feeds: reef's resize of the frame (a still: every frame alike)
    const png = await sharp(Buffer.from(await (await fetch(new URL('frame.png', url))).arrayBuffer())).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([png.info.width, png.info.height]).toEqual([1200, 600]);
    const fed = resizePixels(new Uint8Array(png.data), 3, placement(1200, 600, 300, 300, 'squash'));
    let h = 0x811c9dc5;
    for (const v of fed) h = Math.imul(h ^ v, 0x01000193) >>> 0;
    expect(res.browser.input).toEqual({ bytes: 300 * 300 * 3, fnv1a: h.toString(16).padStart(8, '0') });
    // 2. the page reads the outputs as reef does: reef's decoder on the browser's own raw outputs gives exactly the page's detections
    const raw = res.browser.raw;
    const views = [{ name: 'boxes', shape: [1, 10, 4], data: raw.boxes }, { name: 'classes', shape: [1, 10], data: raw.classes },
      { name: 'scores', shape: [1, 10], data: raw.scores }, { name: 'count', shape: [1], data: raw.count }];
    const p = placement(1200, 600, 300, 300, 'squash');
    expect(inBrowser).toEqual(decodeSsdPostprocess(views, { scoreThreshold: 0.5 }).map((d) => ({ index: d.index, label: COCO[d.index], score: d.score, box: boxToPhoto(d.box, p) })));
    // 3. browser and device: the same objects in the same order. tfjs-tflite's TFLite build (2022) rounds
    // this uint8 model's arithmetic differently from reef's TFLite on the same bytes: scores differ by up
    // to 3 quantization steps (1/256) and boxes by up to 3 px here, the Task Library's own C++ box tolerance
    const step = 1 / 256;
    for (const [i, d] of inBrowser.entries()) {
      expect(Math.abs(d.score - reef[i].score) / step, `score of #${i}: ${d.score} vs ${reef[i].score}`).toBeLessThanOrEqual(3 + 1e-9);
      for (const k of ['xmin', 'ymin', 'xmax', 'ymax'] as const) expect(Math.abs(d.box[k] - reef[i].box[k]), `${k} of #${i}`).toBeLessThanOrEqual(3);
    }
    expect(res.browser.ms).toBeGreaterThan(0);
    const text = await page.textContent('#browserTop');
    expect(text).toMatch(/^frame \d+, [\d.]+ ms in the browser \(device: [\d.]+ ms\): 4 objects\n0\.\d{3}  cat  \[\d+,\d+ - \d+,\d+\]\n/);
    expect(await page.textContent('#reefTop')).toMatch(/^frame \d+, [\d.]+ ms invoke: 4 objects\n0\.\d{3}  cat  \[/);
    expect(pageErrors).toEqual([]);
    await page.close();
    stop();
    const r = await run;
    expect(r.code, r.err).toBe(0);
  }, 150_000);

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
