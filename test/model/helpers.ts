/** Helpers for the model tests: lists of the shared models (failing, naming the path, when missing). */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from '../shared.js';

/** Relative paths (under ../shared) of every .tflite model in the shared folders. */
export function allTfliteModels(): string[] {
  const out: string[] = [];
  for (const dir of ['models/tflite', 'models/tflite/ops', 'models/edgetpu']) {
    const abs = sharedPath(dir);
    for (const f of readdirSync(abs).sort()) if (f.endsWith('.tflite')) out.push(join(dir, f));
  }
  return out;
}

/** True for Edge TPU compiled models (they need libedgetpu to run). */
export const isCompiled = (rel: string): boolean => rel.endsWith('_edgetpu.tflite');

/**
 * A deep copy of `value` with every Uint8Array replaced by "bytes(<length>):<sha256>", so IRs
 * compare fast with toEqual and differences print readably.
 */
export function snapshot(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes(${value.length}):${createHash('sha256').update(value).digest('hex')}`;
  if (Array.isArray(value)) return value.map(snapshot);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, snapshot(v)]));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, snapshot(v)]));
  return value;
}
