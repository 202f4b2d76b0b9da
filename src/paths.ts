/** Where reef's own files are, wherever it is installed (src/ or dist/ sits directly below the root). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the folder holding package.json, devices/, build/. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

let version: string | undefined;

/** reef's version, from its package.json. */
export function reefVersion(): string {
  version ??= (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
