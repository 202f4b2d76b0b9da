/**
 * A tiny bounds-checked FlatBuffers table accessor, field by field (by vtable slot).
 *
 * reef's schema-driven codec (src/model/fbs) decodes whole tables and turns 64-bit integers into
 * JS numbers; the Edge TPU executable package needs exact uint64 values (the parameter-caching
 * token) and only a handful of fields out of multi-megabyte tables, so this reads just those.
 */

/** A problem in FlatBuffer bytes, naming the table path. */
export class FbError extends Error {
  constructor(readonly where: string, readonly what: string) {
    super(`${where}: ${what}`);
    this.name = 'FbError';
  }
}

const utf8 = new TextDecoder('utf-8');

/** One table inside a FlatBuffer. */
export class FbTable {
  private readonly view: DataView;
  private readonly vt: number;
  private readonly vtSize: number;

  private constructor(readonly bytes: Uint8Array, readonly pos: number, readonly where: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.need(pos, 4, 'table');
    this.vt = pos - this.view.getInt32(pos, true);
    this.need(this.vt, 4, 'vtable');
    this.vtSize = this.view.getUint16(this.vt, true);
    if (this.vtSize < 4 || this.vtSize % 2 !== 0) throw new FbError(where, `vtable at byte ${this.vt} has invalid size ${this.vtSize}`);
    this.need(this.vt, this.vtSize, 'vtable');
  }

  /**
   * The root table of a FlatBuffer.
   * @param identifier the 4-character file identifier to require at byte 4, if any.
   */
  static root(bytes: Uint8Array, where: string, identifier?: string): FbTable {
    if (bytes.length < 8) throw new FbError(where, `buffer is ${bytes.length} bytes, too short for a flatbuffer`);
    if (identifier !== undefined) {
      const id = String.fromCharCode(...bytes.subarray(4, 8));
      if (id !== identifier) throw new FbError(where, `wrong file identifier ${JSON.stringify(id)} (expected ${JSON.stringify(identifier)})`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new FbTable(bytes, view.getUint32(0, true), where);
  }

  private need(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || pos + size > this.bytes.length) {
      throw new FbError(this.where, `${what} at byte ${pos} (${size} bytes) is outside the ${this.bytes.length}-byte buffer`);
    }
  }

  /** Table offset of field `id`, or 0 when absent. */
  private slot(id: number): number {
    const o = 4 + 2 * id;
    return o + 2 <= this.vtSize ? this.view.getUint16(this.vt + o, true) : 0;
  }

  private field(id: number, size: number): number | undefined {
    const s = this.slot(id);
    if (s === 0) return undefined;
    this.need(this.pos + s, size, `field ${id}`);
    return this.pos + s;
  }

  private deref(id: number): number | undefined {
    const p = this.field(id, 4);
    if (p === undefined) return undefined;
    const t = p + this.view.getUint32(p, true);
    this.need(t, 4, `field ${id} target`);
    return t;
  }

  /** int32 field. */
  int(id: number, dflt = 0): number {
    const p = this.field(id, 4);
    return p === undefined ? dflt : this.view.getInt32(p, true);
  }

  /** int16 field. */
  short(id: number, dflt = 0): number {
    const p = this.field(id, 2);
    return p === undefined ? dflt : this.view.getInt16(p, true);
  }

  /** bool field. */
  bool(id: number, dflt = false): boolean {
    const p = this.field(id, 1);
    return p === undefined ? dflt : this.view.getUint8(p) !== 0;
  }

  /** float32 field. */
  float(id: number, dflt = 0): number {
    const p = this.field(id, 4);
    return p === undefined ? dflt : this.view.getFloat32(p, true);
  }

  /** uint64 field, exact. */
  uint64(id: number): bigint {
    const p = this.field(id, 8);
    return p === undefined ? 0n : this.view.getBigUint64(p, true);
  }

  /** int64 field, exact. */
  int64(id: number): bigint {
    const p = this.field(id, 8);
    return p === undefined ? 0n : this.view.getBigInt64(p, true);
  }

  /** string field. */
  string(id: number): string | undefined {
    const t = this.deref(id);
    if (t === undefined) return undefined;
    const n = this.view.getUint32(t, true);
    this.need(t + 4, n, `string field ${id}`);
    return utf8.decode(this.bytes.subarray(t + 4, t + 4 + n));
  }

  /** [ubyte] field as a view (no copy). */
  bytesField(id: number): Uint8Array | undefined {
    const t = this.deref(id);
    if (t === undefined) return undefined;
    const n = this.view.getUint32(t, true);
    this.need(t + 4, n, `byte vector field ${id}`);
    return this.bytes.subarray(t + 4, t + 4 + n);
  }

  /** Number of elements of a vector field (0 when absent), without reading them. */
  vectorLength(id: number): number {
    const t = this.deref(id);
    return t === undefined ? 0 : this.view.getUint32(t, true);
  }

  /** [Table] field. */
  tables(id: number, name: string): FbTable[] {
    const t = this.deref(id);
    if (t === undefined) return [];
    const n = this.view.getUint32(t, true);
    this.need(t + 4, 4 * n, `vector field ${id}`);
    const out: FbTable[] = [];
    for (let i = 0; i < n; i++) {
      const e = t + 4 + 4 * i;
      out.push(new FbTable(this.bytes, e + this.view.getUint32(e, true), `${this.where}.${name}[${i}]`));
    }
    return out;
  }

  /** Table field. */
  table(id: number, name: string): FbTable | undefined {
    const t = this.deref(id);
    return t === undefined ? undefined : new FbTable(this.bytes, t, `${this.where}.${name}`);
  }

  /** [string] field, each string as bytes (a view). */
  byteStrings(id: number): Uint8Array[] {
    const t = this.deref(id);
    if (t === undefined) return [];
    const n = this.view.getUint32(t, true);
    this.need(t + 4, 4 * n, `vector field ${id}`);
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const e = t + 4 + 4 * i;
      const s = e + this.view.getUint32(e, true);
      this.need(s, 4, `string ${i} of field ${id}`);
      const len = this.view.getUint32(s, true);
      this.need(s + 4, len, `string ${i} of field ${id}`);
      out.push(this.bytes.subarray(s + 4, s + 4 + len));
    }
    return out;
  }
}
