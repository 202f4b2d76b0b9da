/** Helpers for the model tests: lists of the shared models (failing, naming the path, when missing). */
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
