/**
 * Just enough ZIP to read and write the archive of associated files (labels, vocabularies)
 * that TFLite metadata tools append to a model. The archive's offsets count from the start
 * of the model file, so the whole .tflite is also a valid .zip.
 */
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/** Where a trailing zip archive starts in `bytes` and its entries, or undefined if there is none. */
export interface ZipArchive {
  /** Byte offset of the first local file header (where the archive begins). */
  start: number;
  entries: ZipEntry[];
}

const EOCD = 0x06054b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;

/**
 * Find and read a zip archive at the end of `bytes`. Returns undefined when there is no
 * end-of-central-directory record; throws Error with the reason when there is one but it
 * is corrupt (bad offsets, unsupported compression, size limits).
 */
export function readTrailingZip(bytes: Uint8Array, maxEntryBytes = 64 * 1024 * 1024): ZipArchive | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  let eocd = -1;
  for (let p = n - 22; p >= Math.max(0, n - 22 - 65535); p--) {
    if (view.getUint32(p, true) === EOCD && p + 22 + view.getUint16(p + 20, true) === n) { eocd = p; break; }
  }
  if (eocd < 0) return undefined;
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (cdOffset + cdSize > eocd) throw new Error(`zip central directory (${cdSize} bytes at ${cdOffset}) overlaps its end record at ${eocd}`);
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  let start = cdOffset;
  const dec = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== CEN) throw new Error(`zip central directory entry ${i} at byte ${p} is corrupt`);
    const method = view.getUint16(p + 10, true);
    const csize = view.getUint32(p + 20, true);
    const usize = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    if (p + 46 + nameLen > eocd) throw new Error(`zip entry ${i} name runs past the central directory`);
    const name = dec.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    if (local + 30 > n || view.getUint32(local, true) !== LOC) throw new Error(`zip entry '${name}': no local header at byte ${local}`);
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (dataStart + csize > n) throw new Error(`zip entry '${name}': ${csize} bytes at ${dataStart} run past the end of the file`);
    if (usize > maxEntryBytes) throw new Error(`zip entry '${name}' is ${usize} bytes, over the ${maxEntryBytes}-byte limit`);
    const raw = bytes.subarray(dataStart, dataStart + csize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = new Uint8Array(inflateRawSync(raw, { maxOutputLength: Math.max(usize, 1) }));
      } catch (e) {
        throw new Error(`zip entry '${name}': cannot inflate (${(e as Error).message})`);
      }
    } else throw new Error(`zip entry '${name}' uses compression method ${method} (only stored and deflate are supported)`);
    entries.push({ name, data });
    start = Math.min(start, local);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return { start, entries };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as zip stores it. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Build a stored (uncompressed) zip of `entries` whose offsets count from `baseOffset`
 * (the length of the bytes it will be appended to).
 */
export function buildZip(entries: ZipEntry[], baseOffset: number): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const cens: Uint8Array[] = [];
  let offset = baseOffset;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const crc = crc32(e.data);
    const loc = new Uint8Array(30 + name.length);
    const lv = new DataView(loc.buffer);
    lv.setUint32(0, LOC, true); lv.setUint16(4, 20, true); lv.setUint32(14, crc, true);
    lv.setUint32(18, e.data.length, true); lv.setUint32(22, e.data.length, true); lv.setUint16(26, name.length, true);
    loc.set(name, 30);
    const cen = new Uint8Array(46 + name.length);
    const cv = new DataView(cen.buffer);
    cv.setUint32(0, CEN, true); cv.setUint16(4, 20, true); cv.setUint16(6, 20, true); cv.setUint32(16, crc, true);
    cv.setUint32(20, e.data.length, true); cv.setUint32(24, e.data.length, true); cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cen.set(name, 46);
    locals.push(loc, e.data);
    cens.push(cen);
    offset += loc.length + e.data.length;
  }
  const cdSize = cens.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, EOCD, true); ev.setUint16(8, entries.length, true); ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true); ev.setUint32(16, offset, true);
  const parts = [...locals, ...cens, end];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let p = 0;
  for (const part of parts) { out.set(part, p); p += part.length; }
  return out;
}
