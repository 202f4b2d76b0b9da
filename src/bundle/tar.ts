/**
 * Just enough POSIX ustar to write and read a `.reef` bundle: regular files only, names of at
 * most 100 bytes, no compression (model bytes are already dense; an uncompressed tar lets the
 * reader hand out views without copying). Deterministic output: mode 0644, uid/gid 0, mtime 0.
 *
 * The reader checks every header (checksum, octal fields, type, name) and every size against
 * the archive's length, and refuses duplicates and path tricks ("..", absolute names).
 */

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

/** A problem in a tar archive. */
export class TarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarError';
  }
}

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** True for a name a bundle may hold: relative, '/'-separated, no '.' or '..' parts. */
export function safeEntryName(name: string): boolean {
  if (name.length === 0 || enc.encode(name).length > 100 || name.startsWith('/') || name.includes('\\') || name.includes('\0')) return false;
  return name.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
}

/** Write entries, in order, as a ustar archive. */
export function writeTar(entries: TarEntry[]): Uint8Array {
  let total = 2 * BLOCK;
  for (const e of entries) total += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(total);
  let p = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    if (!safeEntryName(e.name)) throw new TarError(`tar entry name "${e.name}" is not a safe relative name of at most 100 bytes`);
    if (seen.has(e.name)) throw new TarError(`tar entry "${e.name}" appears twice`);
    seen.add(e.name);
    const h = out.subarray(p, p + BLOCK);
    const put = (off: number, s: string): void => { h.set(enc.encode(s), off); };
    put(0, e.name);
    put(100, octal(0o644, 8));
    put(108, octal(0, 8));
    put(116, octal(0, 8));
    put(124, octal(e.data.length, 12));
    put(136, octal(0, 12));
    put(156, '0');
    put(257, 'ustar\u000000');
    put(148, '        ');
    let sum = 0;
    for (const b of h) sum += b;
    put(148, sum.toString(8).padStart(6, '0') + '\0 ');
    out.set(e.data, p + BLOCK);
    p += BLOCK + Math.ceil(e.data.length / BLOCK) * BLOCK;
  }
  return out;
}

function field(h: Uint8Array, off: number, len: number): string {
  const b = h.subarray(off, off + len);
  const end = b.indexOf(0);
  return dec.decode(end < 0 ? b : b.subarray(0, end));
}

function parseOctal(h: Uint8Array, off: number, len: number, what: string, at: number): number {
  const s = field(h, off, len).trim();
  if (!/^[0-7]+$/.test(s)) throw new TarError(`tar header at byte ${at}: ${what} "${s}" is not an octal number`);
  return parseInt(s, 8);
}

/**
 * Read a ustar archive. Entry data are views into `bytes` (no copy).
 * @throws TarError naming the first problem.
 */
export function readTar(bytes: Uint8Array): TarEntry[] {
  if (bytes.length % BLOCK !== 0) throw new TarError(`archive is ${bytes.length} bytes, not a multiple of ${BLOCK} (truncated?)`);
  const entries: TarEntry[] = [];
  const seen = new Set<string>();
  let p = 0;
  let ended = false;
  while (p + BLOCK <= bytes.length) {
    const h = bytes.subarray(p, p + BLOCK);
    if (h.every((b) => b === 0)) { ended = true; break; }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    const stored = parseOctal(h, 148, 8, 'checksum', p);
    if (stored !== sum) throw new TarError(`tar header at byte ${p}: checksum ${stored} does not match ${sum} (corrupt archive)`);
    let name: string;
    try {
      name = field(h, 0, 100);
      const prefix = field(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    } catch {
      throw new TarError(`tar header at byte ${p}: the name is not UTF-8`);
    }
    const type = String.fromCharCode(h[156]!);
    if (type !== '0' && type !== '\0') throw new TarError(`tar entry "${name}" is not a regular file (type '${type}')`);
    if (!safeEntryName(name)) throw new TarError(`tar entry name "${name}" is not a safe relative name`);
    if (seen.has(name)) throw new TarError(`tar entry "${name}" appears twice`);
    seen.add(name);
    const size = parseOctal(h, 124, 12, 'size', p);
    const start = p + BLOCK;
    if (start + size > bytes.length) throw new TarError(`tar entry "${name}" (${size} bytes at ${start}) runs past the end of the ${bytes.length}-byte archive (truncated?)`);
    entries.push({ name, data: bytes.subarray(start, start + size) });
    p = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (!ended) throw new TarError('archive has no end-of-archive marker (truncated?)');
  return entries;
}
