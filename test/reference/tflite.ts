/**
 * TensorFlow Lite's own answer for a model and inputs, through tfjs-tflite-node's binding (the
 * independent reference the corpus and repair tests compare reef with). It runs in a child
 * process (tflite-child.mjs): that binding copies outputs into arrays sized before invoke, so a
 * model whose outputs grow at invoke corrupts its memory; such a crash is reported for that
 * model, and the other models go on in a new child. For those models tfliteCReference() asks
 * TFLite's C API directly (tflite_ref.c).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ReferenceOutput {
  name: string;
  /** The binding's type name ('float32', 'int8', 'kTfLiteInt64', ...). */
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export type ReferenceResult =
  | { ok: true; outputs: ReferenceOutput[] }
  | { ok: false; error: string };

export interface ReferenceJob {
  model: string;
  /** Raw input bytes in input order. */
  inputs: ArrayBufferView[];
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'tflite-child.mjs');

type Answer = { error?: string; outputs?: Array<{ name: string; dtype: string; shape: number[]; data: string }> };

function toResult(j: Answer): ReferenceResult {
  if (j.error !== undefined) return { ok: false, error: j.error };
  return { ok: true, outputs: j.outputs!.map((o) => ({ name: o.name, dtype: o.dtype, shape: o.shape, bytes: new Uint8Array(Buffer.from(o.data, 'base64')) })) };
}

/** Run each model once in TFLite (via tfjs-tflite-node) with its inputs; one result per job, in order. */
export function tfliteReferences(jobs: ReferenceJob[], timeoutMs = 120_000): ReferenceResult[] {
  const results: ReferenceResult[] = [];
  while (results.length < jobs.length) {
    const rest = jobs.slice(results.length);
    const body = JSON.stringify({ jobs: rest.map((j) => ({ model: j.model, inputs: j.inputs.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')) })) });
    const r = spawnSync(process.execPath, [CHILD], { input: body, timeout: timeoutMs, maxBuffer: 1 << 30, encoding: 'utf8' });
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    for (const l of lines) results.push(toResult(JSON.parse(l) as Answer));
    if (results.length < jobs.length) {
      // The child died on the next job: that job's result is the way it died.
      const how = r.signal ? `ended by ${r.signal}` : `exited ${r.status}`;
      const said = r.stderr.split('\n').filter((l) => l && !l.startsWith('INFO:')).join(' ').slice(0, 300);
      results.push({ ok: false, error: `reference process ${how}${said ? `: ${said}` : ''}` });
    }
  }
  return results;
}

/** Run one model once in TFLite (via tfjs-tflite-node) with these raw input bytes, in input order. */
export function tfliteReference(modelPath: string, inputs: ArrayBufferView[], timeoutMs = 30_000): ReferenceResult {
  return tfliteReferences([{ model: modelPath, inputs }], timeoutMs)[0]!;
}

const C_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'tflite_ref.c');
const TFLITE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'tfjs-tflite-node', 'cc_deps');
let cBinary: string | undefined;

/** Builds tflite_ref.c against the TFLite C library tfjs-tflite-node ships (once per process). */
function buildCReference(): string {
  if (cBinary) return cBinary;
  const platform = `${process.platform === 'darwin' ? 'darwin' : 'linux'}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const lib = join(TFLITE_DIR, platform);
  const out = join(mkdtempSync(join(tmpdir(), 'reef-tflite-ref-')), 'tflite_ref');
  const r = spawnSync('cc', ['-O1', '-o', out, C_SOURCE, `-I${join(TFLITE_DIR, 'include')}`, `-L${lib}`, '-ltensorflowlite_c', `-Wl,-rpath,${lib}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build the C reference (${C_SOURCE}): ${r.error?.message ?? r.stderr}`);
  cBinary = out;
  return out;
}

/** TFLite's name for a TfLiteType number, as the binding spells the common ones. */
const C_TYPE: Record<number, string> = { 1: 'float32', 2: 'int32', 3: 'uint8', 4: 'kTfLiteInt64', 6: 'bool', 7: 'int16', 9: 'int8' };

/**
 * The same answer straight from TFLite's C API (test/reference/tflite_ref.c, compiled here with cc),
 * for models whose outputs are sized at invoke, which the binding cannot return.
 */
export function tfliteCReference(modelPath: string, inputs: ArrayBufferView[], timeoutMs = 60_000): ReferenceResult {
  const bin = buildCReference();
  const dir = mkdtempSync(join(tmpdir(), 'reef-tflite-ref-'));
  try {
    const files = inputs.map((v, i) => {
      const p = join(dir, `in${i}.bin`);
      writeFileSync(p, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      return p;
    });
    const r = spawnSync(bin, [modelPath, dir, ...files], { timeout: timeoutMs, encoding: 'utf8' });
    if (r.signal) return { ok: false, error: `C reference ended by ${r.signal}` };
    const j = JSON.parse(r.stdout) as { error?: string; outputs?: Array<{ name: string; type: number; shape: number[] }> };
    if (j.error !== undefined) return { ok: false, error: j.error };
    return {
      ok: true,
      outputs: j.outputs!.map((o, i) => ({ name: o.name, dtype: C_TYPE[o.type] ?? `type ${o.type}`, shape: o.shape, bytes: new Uint8Array(readFileSync(join(dir, `out${i}.bin`))) })),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
