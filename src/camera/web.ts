/**
 * The camera's live web view: an HTTP server (loopback by default) with a page that shows the video
 * as MJPEG (`/stream.mjpg`, multipart/x-mixed-replace) and draws the results on top, client-side,
 * from a WebSocket feed (`/ws`: one JSON message per processed frame with the results, fps and
 * latency). Only processed frames are sent, so the picture and the boxes belong together; a client
 * that cannot keep up skips frames (newest wins), it never makes a queue.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { WebSocketServer, type WebSocket } from 'ws';
import { ReefError } from '../errors.js';
import { cameraPage } from './web-page.js';
import { maskToRle } from '../tasks/segment.js';
import { ssdPostprocessRoles } from '../tasks/detect/ssd.js';
import { inputFeed } from '../image/preprocess.js';
import type { VisionRunner } from '../tasks/vision.js';
import type { FrameResult } from './camera.js';

export interface WebViewOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Shown on the page. */
  title: string;
  /** The .tflite file to offer the page for in-browser inference (tfjs-tflite); none when absent. */
  modelFile?: string;
  /** What the page needs to feed that model as reef does (`/info`). */
  info?: Record<string, unknown>;
}

export interface WebFrame {
  /** The frame number (the camera's received-frame index). */
  frame: number;
  rgb: Uint8Array;
  width: number;
  height: number;
  /** Everything the page needs about the frame: results, timings (JSON-ready). */
  message: Record<string, unknown>;
}

const BOUNDARY = 'reefframe';

/**
 * The model file and the feeding facts the page needs to run the same model in the browser
 * (a plain .tflite classifier, or a detector ending in TFLite_Detection_PostProcess: which output is
 * which, and the filters reef applies); none for what the page cannot feed as reef does.
 */
export function browserModel(model: string, runner: VisionRunner): { modelFile?: string; info?: Record<string, unknown> } {
  const { norm, resize, bgr } = runner.preprocessing;
  if (!model.endsWith('.tflite') || runner.session.bundle || bgr || runner.layout !== 'nhwc') return {};
  const { width, height, channels } = runner.inputSize;
  const input = runner.input;
  const outputs = runner.session.outputs;
  const roles = runner.task === 'detect' && runner.decoder === 'ssd-postprocess' ? ssdPostprocessRoles(outputs.map((o) => o.shape)) : null;
  return {
    modelFile: model,
    info: {
      task: runner.task, resize, width, height, channels, dtype: input.dtype, mean: norm.mean, std: norm.std,
      scale: input.quantization.scale, zeroPoint: input.quantization.zeroPoint, feed: inputFeed(input, norm), labels: runner.labels,
      output: outputs[0]?.quantization ?? { scale: 0, zeroPoint: 0 },
      ...(roles ? {
        detect: {
          decoder: 'ssd-postprocess', ...runner.detectFilters,
          outputs: { boxes: outputs[roles.boxes].name, classes: outputs[roles.classes].name, scores: outputs[roles.scores].name, count: outputs[roles.count].name },
        },
      } : {}),
    },
  };
}

/**
 * What the page needs beyond the task's JSON to draw a frame's result as reef mapped it: the
 * placement (the frame's region the model saw and where it went in the input: resize mode), and for
 * segmentation the mask as the model gave it (`mask.model`: its output's resolution, run lengths, see
 * maskToRle), which the page maps onto the picture itself.
 */
export function liveViewFields(r: Pick<FrameResult, 'result' | 'placement'>, message: Record<string, unknown>): Record<string, unknown> {
  const p = r.placement;
  const out: Record<string, unknown> = { ...message, placement: { mode: p.mode, width: p.width, height: p.height, src: p.src, dst: p.dst } };
  if (r.result.task === 'segment') {
    const m = r.result.modelMask;
    out.mask = { ...(message.mask as Record<string, unknown>), model: { width: m.width, height: m.height, rle: maskToRle(m) } };
  }
  return out;
}

/** Files the page loads for in-browser inference, from the npm packages that ship them. */
function vendorFiles(): Map<string, string> {
  const req = createRequire(import.meta.url);
  const out = new Map<string, string>();
  const add = (name: string, pkg: string, rel: string) => {
    try {
      out.set(name, join(dirname(req.resolve(`${pkg}/package.json`)), rel));
    } catch { /* not installed: the page says in-browser inference is unavailable */ }
  };
  add('tf-core.min.js', '@tensorflow/tfjs-core', 'dist/tf-core.min.js');
  add('tf-backend-cpu.min.js', '@tensorflow/tfjs-backend-cpu', 'dist/tf-backend-cpu.min.js');
  add('tf-tflite.min.js', '@tensorflow/tfjs-tflite', 'dist/tf-tflite.min.js');
  for (const f of ['tflite_web_api_cc.js', 'tflite_web_api_cc.wasm', 'tflite_web_api_cc_simd.js', 'tflite_web_api_cc_simd.wasm', 'tflite_web_api_client.js']) {
    add(`tflite-wasm/${f}`, '@tensorflow/tfjs-tflite', `wasm/${f}`);
  }
  return out;
}

export class CameraWebView {
  private readonly mjpeg = new Set<ServerResponse>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private encoding = false;
  private latestJpeg: { jpeg: Buffer; frame: number } | null = null;
  private latest: WebFrame | null = null;
  readonly stats = { messages: 0, jpegs: 0, skipped: 0 };
  url = '';

  private constructor(private readonly server: Server, private readonly opts: WebViewOptions, private readonly vendor: Map<string, string>) {}

  /** Starts listening; resolves with the view (its `url` set). */
  static async start(opts: WebViewOptions): Promise<CameraWebView> {
    const host = opts.host ?? '127.0.0.1';
    let view: CameraWebView | null = null;
    const server = createServer((req, res) => { void view?.handle(req, res); });
    view = new CameraWebView(server, opts, vendorFiles());
    const v = view;
    server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') { socket.destroy(); return; }
      v.wss.handleUpgrade(req, socket, head, (ws) => v.wss.emit('connection', ws, req));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new ReefError('REEF_INVALID_ARGUMENT',
        `Expected a free port for --web but received ${host}:${opts.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message} (pick another, or 0 for any)`)));
      server.listen(opts.port, host, () => resolve());
    });
    const addr = server.address() as { port: number };
    v.url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/`;
    return v;
  }

  get clients(): { mjpeg: number; ws: number } {
    return { mjpeg: this.mjpeg.size, ws: this.wss.clients.size };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET' }).end(); return; }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(cameraPage({ title: this.opts.title, browserModel: this.opts.modelFile !== undefined && this.vendor.has('tf-tflite.min.js') }));
      return;
    }
    if (path === '/stream.mjpg') {
      res.writeHead(200, { 'content-type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`, 'cache-control': 'no-store', connection: 'close' });
      this.mjpeg.add(res);
      req.on('close', () => this.mjpeg.delete(res));
      if (this.latestJpeg) this.writePart(res, this.latestJpeg.jpeg, this.latestJpeg.frame);
      return;
    }
    if (path === '/frame.png') {
      // The newest processed frame, lossless: exactly the pixels reef ran the model on.
      const f = this.latest;
      if (!f) { res.writeHead(503, { 'retry-after': '1' }).end('no frame yet'); return; }
      const png = await sharp(Buffer.from(f.rgb.buffer, f.rgb.byteOffset, f.rgb.byteLength), { raw: { width: f.width, height: f.height, channels: 3 } }).png().toBuffer();
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store', 'x-reef-frame': String(f.frame), 'access-control-expose-headers': 'x-reef-frame' }).end(png);
      return;
    }
    if (path === '/info') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(this.opts.info ?? {}));
      return;
    }
    if (path === '/model.tflite' && this.opts.modelFile) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(await readFile(this.opts.modelFile));
      return;
    }
    const vendor = path.startsWith('/vendor/') ? this.vendor.get(path.slice('/vendor/'.length)) : undefined;
    if (vendor) {
      const type = vendor.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'max-age=3600' }).end(await readFile(vendor));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }

  private writePart(res: ServerResponse, jpeg: Buffer, frame: number): void {
    // A client still busy with the previous frame skips this one.
    if (res.writableLength > 2 * jpeg.length) { this.stats.skipped++; return; }
    res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\nX-Reef-Frame: ${frame}\r\n\r\n`);
    res.write(jpeg);
    res.write('\r\n');
  }

  /** Sends one processed frame: its results on the WebSocket, its picture on the MJPEG streams. */
  publish(f: WebFrame): void {
    this.latest = f;
    const text = JSON.stringify(f.message);
    for (const ws of this.wss.clients as Set<WebSocket>) {
      if (ws.readyState === ws.OPEN && ws.bufferedAmount < 1 << 20) { ws.send(text); this.stats.messages++; }
    }
    if (this.mjpeg.size === 0) return;
    if (this.encoding) { this.stats.skipped++; return; }
    this.encoding = true;
    sharp(Buffer.from(f.rgb.buffer, f.rgb.byteOffset, f.rgb.byteLength), { raw: { width: f.width, height: f.height, channels: 3 } })
      .jpeg({ quality: 80 }).toBuffer()
      .then((jpeg) => {
        this.latestJpeg = { jpeg, frame: f.frame };
        this.stats.jpegs++;
        for (const res of this.mjpeg) this.writePart(res, jpeg, f.frame);
      }, () => { this.stats.skipped++; })
      .finally(() => { this.encoding = false; });
  }

  /** Ends the streams and the sockets, and stops listening. */
  async close(): Promise<void> {
    for (const res of this.mjpeg) res.end();
    this.mjpeg.clear();
    for (const ws of this.wss.clients) ws.close(1001, 'camera stopped');
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
