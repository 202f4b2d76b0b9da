/**
 * A bounds-checked FlexBuffers reader for TFLite custom options (e.g. the parameters of
 * TFLite_Detection_PostProcess). Reads maps, vectors, typed vectors, numbers, strings, keys,
 * blobs and booleans into plain JS values; refuses anything out of range with a message.
 */

export type FlexValue = null | boolean | number | string | Uint8Array | FlexValue[] | { [key: string]: FlexValue };

const enum T {
  NULL = 0, INT = 1, UINT = 2, FLOAT = 3, KEY = 4, STRING = 5, INDIRECT_INT = 6, INDIRECT_UINT = 7, INDIRECT_FLOAT = 8,
  MAP = 9, VECTOR = 10, VECTOR_INT = 11, VECTOR_UINT = 12, VECTOR_FLOAT = 13, VECTOR_KEY = 14, VECTOR_STRING = 15,
  VECTOR_INT2 = 16, VECTOR_FLOAT4 = 24, BLOB = 25, BOOL = 26, VECTOR_BOOL = 36,
}

/**
 * Decode FlexBuffers bytes to a JS value.
 * @throws Error describing the first out-of-range offset or unknown type.
 */
export function decodeFlexbuffer(bytes: Uint8Array): FlexValue {
  const n = bytes.length;
  if (n < 3) throw new Error(`flexbuffer of ${n} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let budget = 4 * n + 64;
  const check = (pos: number, size: number): void => {
    if (pos < 0 || pos + size > n) throw new Error(`flexbuffer read of ${size} bytes at ${pos} is outside the ${n}-byte buffer`);
    if (--budget < 0) throw new Error('flexbuffer references more data than it holds');
  };
  const uint = (pos: number, w: number): number => {
    check(pos, w);
    switch (w) {
      case 1: return view.getUint8(pos);
      case 2: return view.getUint16(pos, true);
      case 4: return view.getUint32(pos, true);
      case 8: return Number(view.getBigUint64(pos, true));
      default: throw new Error(`flexbuffer width ${w}`);
    }
  };
  const int = (pos: number, w: number): number => {
    check(pos, w);
    switch (w) {
      case 1: return view.getInt8(pos);
      case 2: return view.getInt16(pos, true);
      case 4: return view.getInt32(pos, true);
      case 8: return Number(view.getBigInt64(pos, true));
      default: throw new Error(`flexbuffer width ${w}`);
    }
  };
  const float = (pos: number, w: number): number => {
    check(pos, w);
    if (w === 4) return view.getFloat32(pos, true);
    if (w === 8) return view.getFloat64(pos, true);
    throw new Error(`flexbuffer float width ${w}`);
  };
  const indirect = (pos: number, w: number): number => pos - uint(pos, w);
  const cstring = (pos: number): string => {
    let end = pos;
    while (true) { check(end, 1); if (bytes[end] === 0) break; end++; }
    return new TextDecoder().decode(bytes.subarray(pos, end));
  };
  const scalarOf = (type: number, pos: number, w: number): FlexValue => {
    if (type === T.INT) return int(pos, w);
    if (type === T.UINT) return uint(pos, w);
    if (type === T.FLOAT) return float(pos, w);
    if (type === T.BOOL) return uint(pos, w) !== 0;
    if (type === T.KEY) return cstring(pos);
    throw new Error(`flexbuffer typed vector element type ${type}`);
  };
  const read = (pos: number, parentWidth: number, packed: number, depth: number): FlexValue => {
    if (depth > 32) throw new Error('flexbuffer nested deeper than 32');
    const type = packed >> 2;
    const w = 1 << (packed & 3);
    switch (type) {
      case T.NULL: return null;
      case T.INT: return int(pos, parentWidth);
      case T.UINT: return uint(pos, parentWidth);
      case T.FLOAT: return float(pos, parentWidth);
      case T.BOOL: return uint(pos, parentWidth) !== 0;
      case T.INDIRECT_INT: return int(indirect(pos, parentWidth), w);
      case T.INDIRECT_UINT: return uint(indirect(pos, parentWidth), w);
      case T.INDIRECT_FLOAT: return float(indirect(pos, parentWidth), w);
      case T.KEY: return cstring(indirect(pos, parentWidth));
      case T.STRING: case T.BLOB: {
        const at = indirect(pos, parentWidth);
        const len = uint(at - w, w);
        check(at, len);
        const raw = bytes.subarray(at, at + len);
        return type === T.STRING ? new TextDecoder().decode(raw) : raw;
      }
      case T.MAP: case T.VECTOR: {
        const at = indirect(pos, parentWidth);
        const len = uint(at - w, w);
        check(at, len * w + len);
        const values: FlexValue[] = [];
        for (let i = 0; i < len; i++) values.push(read(at + i * w, w, uint(at + len * w + i, 1), depth + 1));
        if (type === T.VECTOR) return values;
        const keysAt = at - 3 * w;
        const keys = keysAt - uint(keysAt, w);
        const kw = uint(at - 2 * w, w);
        const out: { [key: string]: FlexValue } = {};
        for (let i = 0; i < len; i++) out[cstring(indirect(keys + i * kw, kw))] = values[i]!;
        return out;
      }
      case T.VECTOR_INT: case T.VECTOR_UINT: case T.VECTOR_FLOAT: case T.VECTOR_KEY: case T.VECTOR_BOOL: {
        const at = indirect(pos, parentWidth);
        const len = uint(at - w, w);
        check(at, len * w);
        const elem = type === T.VECTOR_BOOL ? T.BOOL : type === T.VECTOR_KEY ? T.KEY : type - T.VECTOR_INT + T.INT;
        const out: FlexValue[] = [];
        for (let i = 0; i < len; i++) out.push(elem === T.KEY ? cstring(indirect(at + i * w, w)) : scalarOf(elem, at + i * w, w));
        return out;
      }
      default:
        if (type >= T.VECTOR_INT2 && type <= T.VECTOR_FLOAT4) {
          const at = indirect(pos, parentWidth);
          const len = 2 + Math.floor((type - T.VECTOR_INT2) / 3);
          const elem = T.INT + ((type - T.VECTOR_INT2) % 3);
          const out: FlexValue[] = [];
          for (let i = 0; i < len; i++) out.push(scalarOf(elem, at + i * w, w));
          return out;
        }
        throw new Error(`flexbuffer value type ${type} is not supported`);
    }
  };
  const rootWidth = bytes[n - 1]!;
  if (![1, 2, 4, 8].includes(rootWidth)) throw new Error(`flexbuffer root width ${rootWidth} is invalid`);
  return read(n - 2 - rootWidth, rootWidth, bytes[n - 2]!, 0);
}
