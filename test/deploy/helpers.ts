/** Small helpers the deploy tests share. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isReefError, type ReefError } from '../../src/errors.js';

/** sha256 of a file, hex (node's crypto, independent of the board's sha256sum). */
export const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** The ReefError a promise rejects with; fails the test if it resolves or rejects otherwise. */
export async function codeOf(p: Promise<unknown>): Promise<ReefError> {
  try {
    await p;
  } catch (e) {
    if (isReefError(e)) return e;
    throw e;
  }
  throw new Error('expected a ReefError, but it succeeded');
}
