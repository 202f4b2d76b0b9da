/**
 * A bounds-checked protobuf wire-format reader: every read checks the message's end, so a
 * truncated or corrupt file fails with the field path instead of reading past the data.
 * Decoding is linear in the input (protobuf has no shared references), so it cannot hang.
 */

export class WireError extends Error {
  constructor(readonly where: string, readonly what: string) {
    super(`${where}: ${what}`);
    this.name = 'WireError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export class WireReader {
  pos: number;
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array, start: number, readonly end: number, readonly where: string) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  fail(what: string, field?: string): never {
    throw new WireError(field ? `${this.where}.${field}` : this.where, what);
  }

  /** Read a varint as a JS number (exact up to 2^53; int64 negatives come back negative). */
  varint(field?: string): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`varint runs past the end of the message (byte ${this.pos})`, field);
      const b = this.bytes[this.pos++]!;
      if (i === 9 && b > 1) this.fail(`varint at byte ${this.pos - 10} is longer than 64 bits`, field);
      if (i === 7) return this.#longVarint(result, b, field);
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    return this.fail('varint is longer than 10 bytes', field);
  }

  /** Bytes 8..10 of a varint, in BigInt: beyond 2^53 a float sum loses the low bits (-1 would read as 0). */
  #longVarint(low: number, first: number, field?: string): number {
    let big = BigInt(low);
    let b = first;
    for (let i = 7; ; i++) {
      big += BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) break;
      if (i === 9) this.fail('varint is longer than 10 bytes', field);
      if (this.pos >= this.end) this.fail(`varint runs past the end of the message (byte ${this.pos})`, field);
      b = this.bytes[this.pos++]!;
      if (i === 8 && b > 1) this.fail(`varint at byte ${this.pos - 10} is longer than 64 bits`, field);
    }
    // Two's complement: a 10-byte varint (or >= 2^63) is a negative int64.
    return Number(BigInt.asIntN(64, big));
  }

  /** Read a field tag: [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint('tag');
    const field = Math.floor(t / 8);
    if (field === 0) this.fail(`field number 0 at byte ${this.pos} (not a protobuf message here)`);
    return [field, t % 8];
  }

  /** Read a length-delimited field's bounds: [start, end]. */
  lengthDelimited(field: string): [number, number] {
    const n = this.varint(field);
    if (n < 0 || this.pos + n > this.end) this.fail(`${n}-byte field at byte ${this.pos} runs past the end of its ${this.end - this.pos}-byte message`, field);
    const start = this.pos;
    this.pos += n;
    return [start, start + n];
  }

  bytesField(field: string): Uint8Array {
    const [s, e] = this.lengthDelimited(field);
    return this.bytes.subarray(s, e);
  }

  string(field: string): string {
    return decoder.decode(this.bytesField(field));
  }

  sub(field: string, path: string): WireReader {
    const [s, e] = this.lengthDelimited(field);
    return new WireReader(this.bytes, s, e, path);
  }

  float(field: string): number {
    if (this.pos + 4 > this.end) this.fail('float runs past the end of the message', field);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(field: string): number {
    if (this.pos + 8 > this.end) this.fail('double runs past the end of the message', field);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Read one value or a packed run of a repeated numeric field into `out`. */
  repeated(wire: number, kind: 'varint' | 'float' | 'double', field: string, out: number[]): void {
    const one = (): number => (kind === 'varint' ? this.varint(field) : kind === 'float' ? this.float(field) : this.double(field));
    if (wire === WIRE_LEN) {
      const [start, end] = this.lengthDelimited(field);
      const sub = new WireReader(this.bytes, start, end, this.where);
      while (!sub.done()) out.push(kind === 'varint' ? sub.varint(field) : kind === 'float' ? sub.float(field) : sub.double(field));
      return;
    }
    const expected = kind === 'varint' ? WIRE_VARINT : kind === 'float' ? WIRE_I32 : WIRE_I64;
    if (wire !== expected) this.fail(`wire type ${wire} where ${kind} was expected`, field);
    out.push(one());
  }

  skip(wire: number, field: string): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(field); return;
      case WIRE_I64: if (this.pos + 8 > this.end) this.fail('fixed64 runs past the end', field); this.pos += 8; return;
      case WIRE_LEN: this.lengthDelimited(field); return;
      case WIRE_I32: if (this.pos + 4 > this.end) this.fail('fixed32 runs past the end', field); this.pos += 4; return;
      default: this.fail(`unsupported wire type ${wire} at byte ${this.pos}`, field);
    }
  }

  expect(wire: number, expected: number, field: string): void {
    if (wire !== expected) this.fail(`wire type ${wire} where ${expected} was expected`, field);
  }
}

const decoder = new TextDecoder();
