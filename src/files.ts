/**
 * Reading the files a user names (models, bundles, inputs): one reader, one set of messages, so a
 * missing file, a directory or a permission problem reads the same in every command.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ReefError, type ReefErrorCode } from './errors.js';

/** The error for a file that could not be read: says which file, what it was for, and why. */
export function fileReadError(path: string, what: string, e: unknown, code: ReefErrorCode = 'REEF_MODEL_NOT_FOUND'): ReefError {
  const errno = (e as NodeJS.ErrnoException).code;
  const why =
    errno === 'ENOENT' ? 'no such file' :
    errno === 'EISDIR' ? 'it is a directory, not a file' :
    errno === 'EACCES' || errno === 'EPERM' ? 'permission denied' :
    errno === 'ENOTDIR' ? 'a part of the path is not a directory' :
    (e as Error).message;
  return new ReefError(code, `cannot read ${what} ${path}: ${why}`, { cause: e });
}

/**
 * Reads a whole file the user named.
 * @example const bytes = await readUserFile('model.tflite', 'model');
 * @throws ReefError `code` (REEF_MODEL_NOT_FOUND by default) naming the path and the reason.
 */
export async function readUserFile(path: string, what = 'model', code: ReefErrorCode = 'REEF_MODEL_NOT_FOUND'): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw fileReadError(path, what, e, code);
  }
}

/** {@link readUserFile}, synchronously. */
export function readUserFileSync(path: string, what = 'model', code: ReefErrorCode = 'REEF_MODEL_NOT_FOUND'): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw fileReadError(path, what, e, code);
  }
}
