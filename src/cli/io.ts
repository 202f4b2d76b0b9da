import { lstat, open, realpath, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ReefError, ERROR_CODES } from '../errors.js';

/** Where CLI commands print; tests pass their own. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: CliIO = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/** Exit codes: 0 done, 1 a ReefError (bad input, model, runtime), 2 bad usage, 70 internal bug. */
export const EXIT = { ok: 0, error: 1, usage: 2, internal: 70 } as const;

/** A usage error commander found (unknown option, missing argument), printed like every error. */
export function reportUsageError(message: string, io: CliIO, json: boolean): number {
  const text = message.replace(/^error: /, '').trim();
  if (json) io.out(JSON.stringify({ error: { code: 'REEF_INVALID_ARGUMENT', message: text, fix: ERROR_CODES.REEF_INVALID_ARGUMENT.fix } }) + '\n');
  else io.err(`reef: REEF_INVALID_ARGUMENT: ${text}\n  fix: ${ERROR_CODES.REEF_INVALID_ARGUMENT.fix}\n`);
  return EXIT.usage;
}

/** Prints an error the way every command does, and returns the exit code. */
export function reportError(e: unknown, io: CliIO, json: boolean): number {
  if (e instanceof ReefError) {
    if (json) {
      io.out(JSON.stringify({ error: { code: e.code, message: e.message, fix: ERROR_CODES[e.code].fix } }) + '\n');
    } else {
      io.err(`reef: ${e.code}: ${e.message}\n  fix: ${ERROR_CODES[e.code].fix}\n`);
    }
    return e.code === 'REEF_INVALID_ARGUMENT' ? EXIT.usage : EXIT.error;
  }
  // Not a ReefError: a defect in reef. Say so in one line; the stack only when asked for.
  const err = e as Error;
  const message = err?.message ?? String(e);
  const debug = process.env.REEF_DEBUG === '1';
  if (json) {
    io.out(JSON.stringify({ error: { code: 'REEF_INTERNAL_ERROR', message, fix: ERROR_CODES.REEF_INTERNAL_ERROR.fix } }) + '\n');
  } else {
    io.err(`reef: REEF_INTERNAL_ERROR: ${message}\n  fix: ${ERROR_CODES.REEF_INTERNAL_ERROR.fix}\n`);
  }
  if (debug && err?.stack) io.err(`${err.stack}\n`);
  return EXIT.internal;
}

/** Parses "127.5" or "123.7,116.3,103.5". */
export function parseNumberList(name: string, text: string): number | number[] {
  const parts = text.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === '') || nums.some((n) => !Number.isFinite(n))) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a number or comma-separated numbers for ${name} but received "${text}"`);
  }
  return nums.length === 1 ? nums[0] : nums;
}

/** Parses a positive integer option. */
export function parsePositiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 1) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a positive integer for ${name} but received "${text}"`);
  }
  return n;
}

/**
 * The file an output path really names: a symlink is followed to its target (the link is kept and
 * its target replaced), and anything that exists but is not a regular file (a device such as
 * /dev/full, a fifo, a socket) is refused rather than renamed over. A folder is left to the caller.
 * @throws ReefError REEF_OUTPUT_UNWRITABLE naming the option, the path and what it is.
 */
export async function outputTarget(name: string, path: string): Promise<string> {
  const full = resolve(path);
  const link = await lstat(full).catch(() => null);
  if (!link) return full;
  let real = full;
  if (link.isSymbolicLink()) {
    real = await realpath(full).catch(() => '');
    if (!real) throw new ReefError('REEF_OUTPUT_UNWRITABLE', `Expected a writable file path for ${name} but received "${path}" (a symbolic link to nothing)`);
  }
  const st = await stat(real);
  if (st.isFile() || st.isDirectory()) return real;
  const kind = st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isFIFO() ? 'a pipe' : st.isSocket() ? 'a socket' : 'not a regular file';
  throw new ReefError('REEF_OUTPUT_UNWRITABLE', `Expected a regular file path for ${name} but received "${path}" (${real === full ? 'it' : real} is ${kind}); reef replaces outputs whole and will not replace that`);
}

/**
 * Fails early, before any long work, when `path` cannot be written: its folder is missing or
 * read-only, or the path is a folder. Probes by creating a file, so it also holds for root
 * (for whom access(W_OK) is always true).
 */
export async function checkWritable(name: string, path: string): Promise<void> {
  const full = await outputTarget(name, path);
  const isDir = await stat(full).then((s) => s.isDirectory(), () => false);
  if (isDir) {
    throw new ReefError('REEF_OUTPUT_UNWRITABLE', `Expected a writable file path for ${name} but received "${path}" (it is a folder)`);
  }
  const dir = dirname(full);
  const probe = join(dir, `.reef-probe-${process.pid}-${Date.now()}`);
  try {
    await (await open(probe, 'wx')).close();
    await unlink(probe);
  } catch {
    const exists = await stat(dir).then((st) => st.isDirectory(), () => false);
    const why = exists ? `folder ${dir} is not writable` : `folder ${dir} does not exist`;
    throw new ReefError('REEF_OUTPUT_UNWRITABLE', `Expected a writable file path for ${name} but received "${path}" (${why})`);
  }
}

/**
 * Checks a command's outputs before any work: each writable ({@link checkWritable}), no two naming
 * one file, and none naming one of the command's inputs (after following links), which writing would
 * destroy.
 * @throws ReefError REEF_OUTPUT_UNWRITABLE naming the options involved.
 */
export async function checkOutputs(outputs: Array<[name: string, path: string | undefined]>, inputs: Array<[name: string, path: string | undefined]>): Promise<void> {
  const id = async (path: string): Promise<string | null> => {
    try {
      const st = await stat(path);
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  };
  const seen = new Map<string, string>();
  for (const [name, path] of outputs) {
    if (path === undefined) continue;
    await checkWritable(name, path);
    const real = await outputTarget(name, path);
    const other = seen.get(real);
    if (other) throw new ReefError('REEF_OUTPUT_UNWRITABLE', `Expected different files for ${other} and ${name} but both name ${real}`);
    seen.set(real, name);
    const oid = await id(real);
    for (const [iname, ipath] of inputs) {
      if (ipath !== undefined && oid !== null && oid === (await id(ipath))) {
        throw new ReefError('REEF_OUTPUT_UNWRITABLE', `Expected an output path other than the input for ${name} but "${path}" is ${iname} (${ipath}); writing it would destroy the input: choose another path`);
      }
    }
  }
}

/**
 * Writes files all or nothing: each goes to a temporary file beside it first, and only when every
 * one is written are they renamed into place. On failure the temporary files are removed and no
 * output is left half-written.
 */
export async function writeAtomic(given: Array<[path: string, data: Uint8Array | string]>): Promise<void> {
  const files: Array<[string, Uint8Array | string]> = [];
  for (const [path, data] of given) files.push([await outputTarget(path, path), data]);
  const seen = new Set<string>();
  for (const [path] of files) {
    if (seen.has(path)) throw new ReefError('REEF_OUTPUT_UNWRITABLE', `two outputs would be written to the same file ${path}; give them different names`);
    seen.add(path);
  }
  const stamp = `${process.pid}.${Date.now()}`;
  const tmps = files.map(([path], i) => join(dirname(path), `.${basename(path)}.${stamp}.${i}.tmp`));
  let current = '';
  try {
    for (let i = 0; i < files.length; i++) {
      current = files[i][0];
      await writeFile(tmps[i], files[i][1]);
    }
    for (let i = 0; i < files.length; i++) {
      current = files[i][0];
      await rename(tmps[i], files[i][0]);
    }
  } catch (e) {
    await Promise.all(tmps.map((t) => rm(t, { force: true })));
    throw new ReefError('REEF_OUTPUT_UNWRITABLE', `cannot write ${current}: ${(e as Error).message}`);
  }
}
