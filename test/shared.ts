/**
 * Test data lives in ../shared beside the checkout (see ../shared/README.md).
 * A test whose data is missing fails here, naming the path: never a silent skip.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_ROOT = resolve(REPO_ROOT, '..', 'shared');

/** Absolute path of a file under ../shared; throws naming it when missing. */
export function sharedPath(rel: string): string {
  const p = join(SHARED_ROOT, rel);
  if (!existsSync(p)) {
    throw new Error(`test data missing: ${p} (expected ../shared beside the checkout; see ../shared/README.md)`);
  }
  return p;
}

/** The bytes of a file under ../shared. */
export function sharedBytes(rel: string): Uint8Array {
  return readFileSync(sharedPath(rel));
}

/** A small seeded PRNG (mulberry32), so random inputs are the same on every run. */
export { mulberry32 as prng } from '../src/bench/inputs.js';

/** Parses images/imagenet/labels.csv: file -> tf1001_index. */
export function imagenetLabels(): Array<{ file: string; tf1001: number }> {
  const text = readFileSync(sharedPath('images/imagenet/labels.csv'), 'utf8');
  return text.trim().split('\n').slice(1).map((line) => {
    const [file, , tf1001] = line.split(',');
    return { file: file.replace(/"/g, ''), tf1001: Number(tf1001) };
  });
}
