/**
 * Reading the files a user names (models, bundles, inputs): one reader, one set of messages, so a
 * missing file, a directory or a permission problem reads the same in every command.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
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

/** A device, fifo or socket would be read without end (or block forever): only regular files are read. */
function notAFile(path: string, what: string, st: Stats, code: ReefErrorCode): ReefError | null {
  if (st.isFile()) return null;
  const kind = st.isDirectory() ? 'a directory' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isFIFO() ? 'a pipe' : st.isSocket() ? 'a socket' : 'not a regular file';
  return new ReefError(code, `cannot read ${what} ${path}: it is ${kind}, not a file`);
}

/**
 * Reads a whole file the user named.
 * @example const bytes = await readUserFile('model.tflite', 'model');
 * @throws ReefError `code` (REEF_MODEL_NOT_FOUND by default) naming the path and the reason.
 */
export async function readUserFile(path: string, what = 'model', code: ReefErrorCode = 'REEF_MODEL_NOT_FOUND'): Promise<Uint8Array> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (e) {
    throw fileReadError(path, what, e, code);
  }
  const bad = notAFile(path, what, st, code);
  if (bad) throw bad;
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw fileReadError(path, what, e, code);
  }
}

/** {@link readUserFile}, synchronously. */
export function readUserFileSync(path: string, what = 'model', code: ReefErrorCode = 'REEF_MODEL_NOT_FOUND'): Uint8Array {
  try {
    const bad = notAFile(path, what, statSync(path), code);
    if (bad) throw bad;
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof ReefError) throw e;
    throw fileReadError(path, what, e, code);
  }
}
