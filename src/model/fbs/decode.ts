/**
 * A verifying FlatBuffers decoder driven by a {@link SchemaSpec}.
 *
 * Every read is bounds- and alignment-checked the way the C++ `flatbuffers::Verifier` checks
 * them (so bytes this accepts also pass TFLite's own verifier), and the total work is bounded
 * by the size of the file: each table, vector element and string byte decoded is charged to a
 * budget of 2 x file size, so shared or overlapping offsets cannot make decoding explode.
 * Offsets in FlatBuffers are unsigned and point forward, so a table can never reach itself:
 * there are no cycles to chase, and the schema's nesting depth bounds recursion.
 *
 * Byte vectors (`[ubyte]`) are returned as views into the input, never copied.
 */
import { SCALAR_SIZE, type FieldSpec, type ScalarName, type SchemaSpec, type TableSpec, type TypeSpec } from './spec.js';

/** A problem found in the bytes: where (a path like `Model.subgraphs[0].tensors[3].shape`) and what. */
export class FlatbufferError extends Error {
  constructor(readonly where: string, readonly what: string) {
    super(`${where}: ${what}`);
    this.name = 'FlatbufferError';
  }
}

export interface DecodeOptions {
  /** Byte offset of the root table's offset (default 0). */
  offset?: number;
  /** Skip the file identifier check even if the schema declares one. */
  ignoreIdentifier?: boolean;
  /** Maximum table nesting (default 64, as in flatbuffers::Verifier). */
  maxDepth?: number;
}

/** Decoded value of a table: plain objects with camelCase keys. */
export type Decoded = { [key: string]: unknown };

const utf8 = new TextDecoder('utf-8');

/**
 * Verify and decode the flatbuffer in `bytes` into plain objects, using `spec`.
 * @throws FlatbufferError naming the field path and the problem.
 */
export function decodeFlatbuffer(spec: SchemaSpec, bytes: Uint8Array, opts: DecodeOptions = {}): Decoded {
  const d = new Decoder(spec, bytes, opts.maxDepth ?? 64);
  const base = opts.offset ?? 0;
  const root = spec.rootType;
  if (bytes.byteLength - base < 8) throw new FlatbufferError(root, `file is ${bytes.byteLength - base} bytes, too short to hold a flatbuffer (at least 8)`);
  if (spec.fileIdentifier && !opts.ignoreIdentifier) {
    const id = String.fromCharCode(...bytes.subarray(base + 4, base + 8));
    if (id !== spec.fileIdentifier) {
      throw new FlatbufferError(root, `wrong file identifier ${JSON.stringify(id)} at byte 4 (expected ${JSON.stringify(spec.fileIdentifier)})`);
    }
  }
  const rootPos = d.offsetTarget(base, root);
  return d.table(spec.tables[root]!, rootPos, root, 0);
}

class Decoder {
  private readonly view: DataView;
  private readonly len: number;
  private budget: number;

  constructor(private readonly spec: SchemaSpec, private readonly bytes: Uint8Array, private readonly maxDepth: number) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.len = bytes.byteLength;
    this.budget = 2 * bytes.byteLength + 4096;
  }

  private charge(n: number, where: string): void {
    this.budget -= n;
    if (this.budget < 0) throw new FlatbufferError(where, `structure references more data than the file holds (${this.len} bytes): overlapping or shared offsets`);
  }

  private check(pos: number, size: number, align: number, where: string, what: string): void {
    if (pos < 0 || pos + size > this.len || !Number.isFinite(pos)) {
      throw new FlatbufferError(where, `${what} at byte ${pos} (${size} bytes) is outside the ${this.len}-byte file`);
    }
    if (align > 1 && pos % align !== 0) throw new FlatbufferError(where, `${what} at byte ${pos} is not ${align}-byte aligned`);
  }

  /** Follow the uoffset stored at `pos`. */
  offsetTarget(pos: number, where: string): number {
    this.check(pos, 4, 4, where, 'offset');
    const off = this.view.getUint32(pos, true);
    const target = pos + off;
    if (off === 0 || target >= this.len) throw new FlatbufferError(where, `offset ${off} at byte ${pos} points outside the ${this.len}-byte file`);
    return target;
  }

  table(t: TableSpec, pos: number, where: string, depth: number): Decoded {
    if (depth > this.maxDepth) throw new FlatbufferError(where, `tables nested deeper than ${this.maxDepth}`);
    this.charge(1, where);
    this.check(pos, 4, 4, where, `table ${t.name}`);
    const vt = pos - this.view.getInt32(pos, true);
    this.check(vt, 4, 2, where, `vtable of ${t.name}`);
    const vtSize = this.view.getUint16(vt, true);
    const tblSize = this.view.getUint16(vt + 2, true);
    if (vtSize < 4 || vtSize % 2 !== 0) throw new FlatbufferError(where, `vtable of ${t.name} at byte ${vt} has invalid size ${vtSize}`);
    this.check(vt, vtSize, 2, where, `vtable of ${t.name}`);
    if (tblSize < 4) throw new FlatbufferError(where, `table ${t.name} at byte ${pos} has invalid size ${tblSize}`);
    this.check(pos, tblSize, 1, where, `table ${t.name}`);
    const slot = (id: number): number => (4 + 2 * id < vtSize ? this.view.getUint16(vt + 4 + 2 * id, true) : 0);

    const out: Decoded = {};
    for (const f of t.fields) {
      if (f.deprecated) continue;
      const fw = `${where}.${f.name}`;
      if (f.type.kind === 'union') {
        this.union(f, f.type.union, slot(f.id - 1), slot(f.id), pos, tblSize, fw, depth, out);
        continue;
      }
      const fo = slot(f.id);
      if (f.type.kind === 'scalar') {
        if (fo === 0) { out[f.key] = scalarDefault(f); continue; }
        const size = SCALAR_SIZE[f.type.scalar];
        if (fo + size > tblSize) throw new FlatbufferError(fw, `field at table offset ${fo} runs past the ${tblSize}-byte table`);
        this.check(pos + fo, size, size, fw, 'scalar field');
        out[f.key] = this.scalar(f.type.scalar, pos + fo);
        continue;
      }
      if (fo === 0) continue;
      if (fo + 4 > tblSize) throw new FlatbufferError(fw, `field at table offset ${fo} runs past the ${tblSize}-byte table`);
      const target = this.offsetTarget(pos + fo, fw);
      out[f.key] = this.value(f.type, target, fw, depth);
    }
    return out;
  }

  private union(f: FieldSpec, unionName: string, typeSlot: number, valueSlot: number, pos: number, tblSize: number, where: string, depth: number, out: Decoded): void {
    if (typeSlot === 0) return;
    if (typeSlot + 1 > tblSize) throw new FlatbufferError(`${where}_type`, `field runs past the ${tblSize}-byte table`);
    const tag = this.view.getUint8(pos + typeSlot);
    if (tag === 0 || valueSlot === 0) return;
    const u = this.spec.unions[unionName]!;
    const member = u.members[tag];
    if (member === undefined || member === null) {
      throw new FlatbufferError(`${where}_type`, `unknown ${unionName} type ${tag} (this schema knows 1..${u.members.length - 1})`);
    }
    if (valueSlot + 4 > tblSize) throw new FlatbufferError(where, `field runs past the ${tblSize}-byte table`);
    const target = this.offsetTarget(pos + valueSlot, where);
    out[f.key] = { type: member, value: this.table(this.spec.tables[member]!, target, `${where}<${member}>`, depth + 1) };
  }

  private value(t: TypeSpec, pos: number, where: string, depth: number): unknown {
    switch (t.kind) {
      case 'string':
        return this.string(pos, where);
      case 'table':
        return this.table(this.spec.tables[t.table]!, pos, where, depth + 1);
      case 'vector':
        return this.vector(t, pos, where, depth);
      default:
        throw new FlatbufferError(where, `unsupported field kind ${t.kind}`);
    }
  }

  private string(pos: number, where: string): string {
    this.check(pos, 4, 4, where, 'string');
    const n = this.view.getUint32(pos, true);
    this.check(pos + 4, n + 1, 1, where, `string of ${n} bytes`);
    if (this.bytes[pos + 4 + n] !== 0) throw new FlatbufferError(where, `string at byte ${pos} is not 0-terminated`);
    this.charge(1 + n, where);
    return utf8.decode(this.bytes.subarray(pos + 4, pos + 4 + n));
  }

  private vector(t: TypeSpec & { kind: 'vector' }, pos: number, where: string, depth: number): unknown {
    this.check(pos, 4, 4, where, 'vector');
    const n = this.view.getUint32(pos, true);
    const e = t.element;
    const start = pos + 4;
    if (e.kind === 'scalar') {
      const size = SCALAR_SIZE[e.scalar];
      this.check(start, n * size, size, where, `vector of ${n} x ${size} bytes`);
      if (e.scalar === 'ubyte' && !e.enumName) return this.bytes.subarray(start, start + n);
      this.charge(n, where);
      const arr: (number | boolean)[] = new Array<number | boolean>(n);
      for (let i = 0; i < n; i++) arr[i] = this.scalar(e.scalar, start + i * size);
      return arr;
    }
    this.check(start, n * 4, 4, where, `vector of ${n} offsets`);
    this.charge(n, where);
    const arr: unknown[] = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const ew = `${where}[${i}]`;
      arr[i] = this.value(e, this.offsetTarget(start + i * 4, ew), ew, depth);
    }
    return arr;
  }

  private scalar(s: ScalarName, pos: number): number | boolean {
    const v = this.view;
    switch (s) {
      case 'bool': return v.getUint8(pos) !== 0;
      case 'byte': return v.getInt8(pos);
      case 'ubyte': return v.getUint8(pos);
      case 'short': return v.getInt16(pos, true);
      case 'ushort': return v.getUint16(pos, true);
      case 'int': return v.getInt32(pos, true);
      case 'uint': return v.getUint32(pos, true);
      case 'long': return Number(v.getBigInt64(pos, true));
      case 'ulong': return Number(v.getBigUint64(pos, true));
      case 'float': return v.getFloat32(pos, true);
      case 'double': return v.getFloat64(pos, true);
    }
  }
}

function scalarDefault(f: FieldSpec): number | boolean {
  const d = f.defaultValue ?? 0;
  return f.type.kind === 'scalar' && f.type.scalar === 'bool' ? d !== 0 : d;
}
