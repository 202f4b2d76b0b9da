/**
 * reef's one FlexBuffers reader: read-only and bounds-checked, for the custom options of TFLite
 * custom ops (TFLite_Detection_PostProcess parameters; edgetpu-custom-op keeps its compiled
 * executable in a FlexBuffer map).
 *
 * Values are read lazily through {@link FlexRef}: a multi-megabyte string (the Edge TPU executable)
 * is only ever returned as a view into the input, never copied or decoded as text.
 * {@link decodeFlexbuffer} walks it into plain JS values, with limits on depth and total work.
 *
 * Format (google/flatbuffers docs "FlexBuffers"): the last byte is the root's byte width, the byte
 * before it the root's packed type (type << 2 | bit-width code), and the root value before that.
 * Scalars are stored inline at the parent's width; everything else is an unsigned offset counted
 * backwards from where it is stored.
 */

/** FlexBuffers value types (the numbers stored in packed type bytes). */
export enum FlexType {
  NULL = 0, INT = 1, UINT = 2, FLOAT = 3, KEY = 4, STRING = 5,
  INDIRECT_INT = 6, INDIRECT_UINT = 7, INDIRECT_FLOAT = 8, MAP = 9, VECTOR = 10,
  VECTOR_INT = 11, VECTOR_UINT = 12, VECTOR_FLOAT = 13, VECTOR_KEY = 14, VECTOR_STRING_DEPRECATED = 15,
  VECTOR_INT2 = 16, VECTOR_UINT2 = 17, VECTOR_FLOAT2 = 18, VECTOR_INT3 = 19, VECTOR_UINT3 = 20,
  VECTOR_FLOAT3 = 21, VECTOR_INT4 = 22, VECTOR_UINT4 = 23, VECTOR_FLOAT4 = 24, BLOB = 25, BOOL = 26,
  VECTOR_BOOL = 36,
}

/** A problem in FlexBuffer bytes: `where` is a path like `root["4"]`. */
export class FlexbufferError extends Error {
  constructor(readonly where: string, readonly what: string) {
    super(`${where}: ${what}`);
    this.name = 'FlexbufferError';
  }
}

/** A plain-JS rendering of a FlexBuffer value (strings/blobs over `maxText` bytes become byte counts). */
export type FlexPlain = null | boolean | number | string | { bytes: number } | FlexPlain[] | { [key: string]: FlexPlain };

const utf8 = new TextDecoder('utf-8');

function isInline(t: number): boolean {
  return t === FlexType.NULL || t === FlexType.INT || t === FlexType.UINT || t === FlexType.FLOAT || t === FlexType.BOOL;
}

function isTypedVector(t: number): boolean {
  return (t >= FlexType.VECTOR_INT && t <= FlexType.VECTOR_STRING_DEPRECATED) || t === FlexType.VECTOR_BOOL;
}

function isFixedTypedVector(t: number): boolean {
  return t >= FlexType.VECTOR_INT2 && t <= FlexType.VECTOR_FLOAT4;
}

/** Element type of a typed vector type. */
function typedElement(t: number): FlexType {
  if (t === FlexType.VECTOR_BOOL) return FlexType.BOOL;
  if (isTypedVector(t)) return (t - FlexType.VECTOR_INT + FlexType.INT) as FlexType;
  return (((t - FlexType.VECTOR_INT2) % 3) + FlexType.INT) as FlexType;
}

/**
 * One value inside a FlexBuffer: where it is stored, at what width, with which type.
 * Accessors throw {@link FlexbufferError} on type mismatches and on offsets outside the bytes.
 */
export class FlexRef {
  private readonly view: DataView;

  /**
   * @param bytes the whole FlexBuffer
   * @param pos where the value (or the offset to it) is stored
   * @param parentWidth width of that slot in bytes (1, 2, 4, 8)
   * @param byteWidth width of the pointed-to data (for offset types)
   * @param type the value's type
   * @param where a path for error messages
   */
  constructor(
    readonly bytes: Uint8Array,
    private readonly pos: number,
    private readonly parentWidth: number,
    private readonly byteWidth: number,
    readonly type: FlexType,
    readonly where: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || pos + size > this.bytes.length) {
      throw new FlexbufferError(this.where, `${what} at byte ${pos} (${size} bytes) is outside the ${this.bytes.length}-byte buffer`);
    }
  }

  private readUInt(pos: number, width: number): number {
    this.check(pos, width, 'unsigned integer');
    switch (width) {
      case 1: return this.view.getUint8(pos);
      case 2: return this.view.getUint16(pos, true);
      case 4: return this.view.getUint32(pos, true);
      case 8: return Number(this.view.getBigUint64(pos, true));
      default: throw new FlexbufferError(this.where, `invalid byte width ${width}`);
    }
  }

  private readInt(pos: number, width: number): number {
    this.check(pos, width, 'integer');
    switch (width) {
      case 1: return this.view.getInt8(pos);
      case 2: return this.view.getInt16(pos, true);
      case 4: return this.view.getInt32(pos, true);
      case 8: return Number(this.view.getBigInt64(pos, true));
      default: throw new FlexbufferError(this.where, `invalid byte width ${width}`);
    }
  }

  private readFloat(pos: number, width: number): number {
    this.check(pos, width, 'float');
    if (width === 4) return this.view.getFloat32(pos, true);
    if (width === 8) return this.view.getFloat64(pos, true);
    throw new FlexbufferError(this.where, `invalid float width ${width}`);
  }

  /** Where an offset-type value's data starts. */
  private target(): number {
    const off = this.readUInt(this.pos, this.parentWidth);
    const t = this.pos - off;
    if (off === 0 && !isInline(this.type)) throw new FlexbufferError(this.where, `zero offset at byte ${this.pos}`);
    this.check(t, 0, 'offset target');
    return t;
  }

  /** The value as a number (INT, UINT, FLOAT, BOOL and their indirect forms). */
  asNumber(): number {
    switch (this.type) {
      case FlexType.INT: return this.readInt(this.pos, this.parentWidth);
      case FlexType.UINT: return this.readUInt(this.pos, this.parentWidth);
      case FlexType.FLOAT: return this.readFloat(this.pos, this.parentWidth);
      case FlexType.BOOL: return this.readUInt(this.pos, this.parentWidth);
      case FlexType.INDIRECT_INT: return this.readInt(this.target(), this.byteWidth);
      case FlexType.INDIRECT_UINT: return this.readUInt(this.target(), this.byteWidth);
      case FlexType.INDIRECT_FLOAT: return this.readFloat(this.target(), this.byteWidth);
      default: throw new FlexbufferError(this.where, `expected a number but found ${FlexType[this.type] ?? this.type}`);
    }
  }

  /** The bytes of a STRING or BLOB (a view, no copy; without the string's 0 terminator). */
  asBytes(): Uint8Array {
    if (this.type !== FlexType.STRING && this.type !== FlexType.BLOB) {
      throw new FlexbufferError(this.where, `expected a string or blob but found ${FlexType[this.type] ?? this.type}`);
    }
    const t = this.target();
    const n = this.readUInt(t - this.byteWidth, this.byteWidth);
    this.check(t, n, `${FlexType[this.type]} of ${n} bytes`);
    return this.bytes.subarray(t, t + n);
  }

  /** A STRING or KEY as text. */
  asString(): string {
    if (this.type === FlexType.KEY) {
      const t = this.target();
      let e = t;
      while (e < this.bytes.length && this.bytes[e] !== 0) e++;
      if (e >= this.bytes.length) throw new FlexbufferError(this.where, `key at byte ${t} is not 0-terminated`);
      return utf8.decode(this.bytes.subarray(t, e));
    }
    return utf8.decode(this.asBytes());
  }

  /** Number of elements of a vector or map. */
  length(): number {
    if (isFixedTypedVector(this.type)) return Math.floor((this.type - FlexType.VECTOR_INT2) / 3) + 2;
    if (this.type === FlexType.VECTOR || this.type === FlexType.MAP || isTypedVector(this.type)) {
      const t = this.target();
      return this.readUInt(t - this.byteWidth, this.byteWidth);
    }
    throw new FlexbufferError(this.where, `expected a vector or map but found ${FlexType[this.type] ?? this.type}`);
  }

  /** Element `i` of a vector (untyped, typed or fixed) or the i-th value of a map. */
  at(i: number): FlexRef {
    const n = this.length();
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new FlexbufferError(this.where, `index ${i} is out of range (length ${n})`);
    const t = this.target();
    const w = this.byteWidth;
    const where = `${this.where}[${i}]`;
    if (this.type === FlexType.VECTOR || this.type === FlexType.MAP) {
      const packedPos = t + n * w + i;
      this.check(packedPos, 1, 'packed type');
      const packed = this.bytes[packedPos]!;
      return new FlexRef(this.bytes, t + i * w, w, 1 << (packed & 3), (packed >> 2) as FlexType, where);
    }
    return new FlexRef(this.bytes, t + i * w, w, 1, typedElement(this.type), where);
  }

  /** The elements of a vector. */
  asVector(): FlexRef[] {
    const n = this.length();
    const out: FlexRef[] = [];
    for (let i = 0; i < n; i++) out.push(this.at(i));
    return out;
  }

  /** The entries of a MAP, in key order. */
  asMap(): Map<string, FlexRef> {
    if (this.type !== FlexType.MAP) throw new FlexbufferError(this.where, `expected a map but found ${FlexType[this.type] ?? this.type}`);
    const t = this.target();
    const w = this.byteWidth;
    const keysSlot = t - 3 * w;
    this.check(keysSlot, 3 * w, 'map prefix');
    const keysOff = this.readUInt(keysSlot, w);
    const keysWidth = this.readUInt(t - 2 * w, w);
    const keys = new FlexRef(this.bytes, keysSlot, w, keysWidth, FlexType.VECTOR_KEY, `${this.where}.keys`);
    if (keysOff === 0) throw new FlexbufferError(this.where, 'map keys offset is 0');
    const n = this.length();
    if (keys.length() !== n) throw new FlexbufferError(this.where, `map has ${n} values but ${keys.length()} keys`);
    const out = new Map<string, FlexRef>();
    for (let i = 0; i < n; i++) {
      const k = keys.at(i).asString();
      const v = this.at(i);
      out.set(k, new FlexRef(this.bytes, v.pos, v.parentWidth, v.byteWidth, v.type, `${this.where}[${JSON.stringify(k)}]`));
    }
    return out;
  }

  /**
   * A plain-JS copy of the value, for printing. Strings and blobs longer than `maxText` bytes
   * (or not valid UTF-8 text) become `{ bytes: n }`.
   */
  toPlain(maxText = 256): FlexPlain {
    switch (this.type) {
      case FlexType.NULL: return null;
      case FlexType.BOOL: return this.asNumber() !== 0;
      case FlexType.INT: case FlexType.UINT: case FlexType.FLOAT:
      case FlexType.INDIRECT_INT: case FlexType.INDIRECT_UINT: case FlexType.INDIRECT_FLOAT:
        return this.asNumber();
      case FlexType.KEY: return this.asString();
      case FlexType.STRING: case FlexType.BLOB: {
        const b = this.asBytes();
        if (b.length > maxText || b.some((c) => c < 0x20 && c !== 0x0a && c !== 0x09)) return { bytes: b.length };
        return utf8.decode(b);
      }
      case FlexType.MAP: {
        const o: { [key: string]: FlexPlain } = {};
        for (const [k, v] of this.asMap()) o[k] = v.toPlain(maxText);
        return o;
      }
      default:
        if (this.type === FlexType.VECTOR || isTypedVector(this.type) || isFixedTypedVector(this.type)) {
          return this.asVector().map((e) => e.toPlain(maxText));
        }
        throw new FlexbufferError(this.where, `unknown FlexBuffer type ${this.type}`);
    }
  }
}

/**
 * The root value of a FlexBuffer.
 *
 * @example
 * const root = readFlexbuffer(op.customOptions!);
 * const version = root.asMap().get('1')?.asNumber();
 * @throws FlexbufferError when the bytes are too short or the root is malformed.
 */
export function readFlexbuffer(bytes: Uint8Array): FlexRef {
  if (bytes.length < 3) throw new FlexbufferError('root', `buffer is ${bytes.length} bytes, too short for a FlexBuffer (at least 3)`);
  const width = bytes[bytes.length - 1]!;
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) throw new FlexbufferError('root', `invalid root byte width ${width}`);
  const packed = bytes[bytes.length - 2]!;
  const pos = bytes.length - 2 - width;
  if (pos < 0) throw new FlexbufferError('root', `root value of ${width} bytes does not fit in ${bytes.length} bytes`);
  return new FlexRef(bytes, pos, width, 1 << (packed & 3), (packed >> 2) as FlexType, 'root');
}

/** A FlexBuffer value as plain JS: maps become objects, vectors arrays, blobs byte views. */
export type FlexValue = null | boolean | number | string | Uint8Array | FlexValue[] | { [key: string]: FlexValue };

/**
 * Decodes a whole FlexBuffer into plain JS values (strings as text, blobs as views).
 *
 * @example
 * decodeFlexbuffer(op.customOptions!) // { max_detections: 10, h_scale: 5, ... }
 * @throws FlexbufferError on offsets outside the bytes, unknown types, nesting deeper than 32
 * levels, or more reads than the bytes could hold (crafted offsets that point back into a parent).
 */
export function decodeFlexbuffer(bytes: Uint8Array): FlexValue {
  let budget = 4 * bytes.length + 64;
  const walk = (r: FlexRef, depth: number): FlexValue => {
    if (depth > 32) throw new FlexbufferError(r.where, 'nested deeper than 32 levels');
    if (--budget < 0) throw new FlexbufferError(r.where, `references more data than the ${bytes.length} bytes hold`);
    switch (r.type) {
      case FlexType.NULL: return null;
      case FlexType.BOOL: return r.asNumber() !== 0;
      case FlexType.INT: case FlexType.UINT: case FlexType.FLOAT:
      case FlexType.INDIRECT_INT: case FlexType.INDIRECT_UINT: case FlexType.INDIRECT_FLOAT:
        return r.asNumber();
      case FlexType.KEY: case FlexType.STRING: return r.asString();
      case FlexType.BLOB: return r.asBytes();
      case FlexType.MAP: {
        const o: { [key: string]: FlexValue } = {};
        for (const [k, v] of r.asMap()) o[k] = walk(v, depth + 1);
        return o;
      }
      default:
        if (r.type === FlexType.VECTOR || isTypedVector(r.type) || isFixedTypedVector(r.type)) {
          return r.asVector().map((e) => walk(e, depth + 1));
        }
        throw new FlexbufferError(r.where, `unknown FlexBuffer type ${r.type}`);
    }
  };
  return walk(readFlexbuffer(bytes), 0);
}
