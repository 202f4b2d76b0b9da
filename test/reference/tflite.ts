/**
 * TensorFlow Lite's own answer for a model and inputs, through tfjs-tflite-node's binding (the
 * independent reference the corpus and repair tests compare reef with). It runs in a child
 * process (tflite-child.mjs): that binding copies outputs into arrays sized before invoke, so a
 * model whose outputs grow at invoke could corrupt its memory; a crash there is reported, not suffered.
 */
import { spawnSync } from 'node:child_process';
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

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'tflite-child.mjs');

/** Run `modelPath` once in TFLite (via tfjs-tflite-node) with these raw input bytes, in input order. */
export function tfliteReference(modelPath: string, inputs: ArrayBufferView[], timeoutMs = 30_000): ReferenceResult {
  const body = JSON.stringify({ inputs: inputs.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')) });
  const r = spawnSync(process.execPath, [CHILD, modelPath], { input: body, timeout: timeoutMs, maxBuffer: 256 << 20, encoding: 'utf8' });
  if (r.signal) return { ok: false, error: `reference process ended by ${r.signal}` };
  if (r.status !== 0) return { ok: false, error: `reference process exited ${r.status}: ${r.stderr.split('\n').filter((l) => !l.startsWith('INFO:')).join(' ').slice(0, 300)}` };
  const j = JSON.parse(r.stdout) as { error?: string; outputs?: Array<{ name: string; dtype: string; shape: number[]; data: string }> };
  if (j.error !== undefined) return { ok: false, error: j.error };
  return { ok: true, outputs: j.outputs!.map((o) => ({ name: o.name, dtype: o.dtype, shape: o.shape, bytes: new Uint8Array(Buffer.from(o.data, 'base64')) })) };
}
