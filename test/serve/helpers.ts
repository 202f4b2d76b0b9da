/** Real servers on loopback for the serve tests, and a model folder layout made of symlinks into ../shared. */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from '../../src/runtime/session.js';
import { createServer, type ReefServer, type ServeOptions } from '../../src/serve/server.js';
import { REPO_ROOT, sharedPath } from '../shared.js';

export const MODELS = {
  hello: 'models/tflite/hello_world_float.tflite',
  mul: 'models/tflite/ops/mul.float32.tflite',
  fc: 'models/tflite/ops/fullyconnected.float32.tflite',
  resnet: 'models/tflite/resnet8_cifar10_float.tflite',
  resnetInt8: 'models/tflite/resnet8_cifar10_int8.tflite',
  concat: 'models/tflite/ops/concat.float32.tflite',
  mobilenet: 'models/tflite/mobilenet_v1_0.25_128_float.tflite',
  invalid: 'models/tflite/invalid_model_invoking_error.tflite',
} as const;

/** A temporary folder; removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `reef-serve-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** dir/<name>/<version>/model.tflite -> the shared model (a symlink: data is read in place). */
export function addVersion(dir: string, name: string, version: number, shared: string, file = 'model.tflite'): string {
  const vdir = join(dir, name, String(version));
  mkdirSync(vdir, { recursive: true });
  symlinkSync(sharedPath(shared), join(vdir, file));
  return vdir;
}

export function writeFile(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}

export async function start(opts: ServeOptions): Promise<ReefServer> {
  // Logs go nowhere unless a test collects them (logCollector).
  return createServer({ port: 0, pollSeconds: 0, logStream: { write: () => undefined }, ...opts });
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function http(url: string, init: RequestInit = {}): Promise<Answer> {
  const r = await fetch(url, init);
  const text = await r.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return http(url, {
    method: 'POST',
    body: (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body)) as BodyInit,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** Row-major float32 values of a seeded pseudo-random tensor. */
export function seeded(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return Math.fround((s / 2 ** 32) * 2 - 1);
  });
}

/** Nests a flat list into a shape. */
export function nest(flat: number[], shape: number[]): unknown {
  if (shape.length === 0) return flat[0];
  if (shape.length === 1) return flat.slice(0, shape[0]);
  const per = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => nest(flat.slice(i * per, (i + 1) * per), shape.slice(1)));
}

/** Every number through Math.fround: JSON floats written with float32 precision (as TF Serving writes them) compare equal to float32 values. */
export function f32(v: unknown): unknown {
  if (typeof v === 'number') return Math.fround(v);
  if (Array.isArray(v)) return v.map(f32);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, f32(x)]));
  return v;
}

/** The server's pino lines, parsed, for tests that check what it logs. */
export function logCollector(): { stream: { write(line: string): void }; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } } };
}

/** Replaces a file at once (write beside it, rename), as editors and config tools do. */
export function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Polls `what` every 25 ms until it is true; fails naming `label` after `ms`. */
export async function until(label: string, what: () => Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${label}`);
}

/** The same model through load() + run(): what the server must answer (every output, in order). */
export async function direct(model: string, feeds: Float32Array[]): Promise<Float32Array[]> {
  const s = await load(sharedPath(model));
  try {
    const out = await s.run(feeds);
    return s.outputs.map((o) => out[o.name].data as Float32Array);
  } finally {
    await s.dispose();
  }
}

/** `reef serve ARGS --rest_api_port 0 --json` in a child process: its first stdout line's URL, its stdout so far, its exit code. */
export function spawnServe(args: string[]): { child: ChildProcess; url: Promise<string>; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/reef.js'), 'serve', ...args, '--rest_api_port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(t);
        resolve((JSON.parse(out.split('\n')[0]) as { url: string }).url);
      }
    });
    child.on('exit', () => reject(new Error(`server exited before it listened: ${out}`)));
  });
  url.catch(() => undefined);
  return { child, url, out: () => out, exited };
}
