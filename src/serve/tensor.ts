/**
 * Tensors on the wire: dtype names of both protocols, JSON values <-> typed arrays with every check
 * done before (shape, element count) or during (element type, range) the one allocation.
 */
import { ReefError } from '../errors.js';
import { halfToFloat } from './json.js';
import { TYPED_ARRAY_FOR, elementCount, type DType, type TypedArray } from '../types.js';

/** A tensor inside the data plane: one protocol-neutral shape for requests and responses. */
export interface WireTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

/** TensorFlow's DataType enum names (TF Serving metadata). */
export const TF_DTYPE: Partial<Record<DType, string>> = {
  float32: 'DT_FLOAT', float64: 'DT_DOUBLE', float16: 'DT_HALF', int8: 'DT_INT8', uint8: 'DT_UINT8',
  int16: 'DT_INT16', int32: 'DT_INT32', int64: 'DT_INT64', uint32: 'DT_UINT32', uint64: 'DT_UINT64',
  bool: 'DT_BOOL', string: 'DT_STRING', complex64: 'DT_COMPLEX64', complex128: 'DT_COMPLEX128',
};

/** TensorFlow's DataTypeString() words, as TF Serving's error messages use them. */
export const TF_DTYPE_WORD: Partial<Record<DType, string>> = {
  float32: 'float', float64: 'double', float16: 'half', int8: 'int8', uint8: 'uint8', int16: 'int16',
  int32: 'int32', int64: 'int64', uint32: 'uint32', uint64: 'uint64', bool: 'bool', string: 'string',
};

/** Open Inference Protocol datatypes. */
export const V2_DTYPE: Partial<Record<DType, string>> = {
  bool: 'BOOL', uint8: 'UINT8', uint32: 'UINT32', uint64: 'UINT64', int8: 'INT8', int16: 'INT16',
  int32: 'INT32', int64: 'INT64', float16: 'FP16', float32: 'FP32', float64: 'FP64', string: 'BYTES',
};
export const DTYPE_OF_V2: Record<string, DType> = Object.fromEntries(
  Object.entries(V2_DTYPE).map(([k, v]) => [v, k as DType]),
);

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295], bool: [0, 1],
};

export function bytesPerElement(dtype: DType): number {
  const ctor = TYPED_ARRAY_FOR[dtype];
  if (!ctor) throw new ReefError('REEF_SERVE_BAD_REQUEST', `tensors of dtype ${dtype} cannot be served`);
  return ctor.BYTES_PER_ELEMENT;
}

export function allocate(dtype: DType, count: number): TypedArray {
  const ctor = TYPED_ARRAY_FOR[dtype];
  if (!ctor) throw new ReefError('REEF_SERVE_BAD_REQUEST', `tensors of dtype ${dtype} cannot be served`);
  return new ctor(count);
}

/** A JSON value in error messages, kept short. */
export function jsonText(v: unknown): string {
  let s: string;
  if (typeof v === 'number') s = Number.isNaN(v) ? 'NaN' : String(v);
  else s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function jsonType(v: unknown): string {
  if (v === null) return 'Null';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (Array.isArray(v)) return 'Array';
  if (typeof v === 'object') return 'Object';
  if (typeof v === 'string') return 'String';
  return 'Number';
}

/** True for TF Serving's {"b64": "..."} object (exactly one key, a string). */
export function isB64(v: unknown): v is { b64: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) &&
    Object.keys(v).length === 1 && typeof (v as { b64?: unknown }).b64 === 'string';
}

/** The shape of a dense nested list, following first elements (json_tensor.cc GetDenseTensorShape). */
export function denseShape(v: unknown): number[] {
  const shape: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function typeError(v: unknown, dtype: DType): ReefError {
  return new ReefError('REEF_SERVE_BAD_REQUEST',
    `JSON Value: ${jsonText(v)} Type: ${jsonType(v)} is not of expected type: ${TF_DTYPE_WORD[dtype] ?? dtype}`);
}

/** Writes one JSON scalar into `out[i]` with TF Serving's checks; throws its messages. */
function put(v: unknown, dtype: DType, out: TypedArray, i: number): void {
  switch (dtype) {
    case 'float32':
    case 'float64':
    case 'float16': {
      if (typeof v !== 'number') throw typeError(v, dtype);
      if (Number.isFinite(v)) {
        const f32 = dtype !== 'float64';
        const maxInt = f32 ? 2 ** 24 - 1 : 2 ** 53 - 1;
        // json_tensor.cc IsLosslessDecimal: integers must fit the mantissa, decimals the range.
        const lossy = Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? Math.abs(v) > maxInt
          : f32 && Math.abs(v) > 3.4028234663852886e38;
        if (lossy) {
          throw new ReefError('REEF_SERVE_BAD_REQUEST',
            `Cannot convert JSON value: ${jsonText(v)} to ${f32 ? 'float' : 'double'} without loss of precision.`);
        }
      }
      if (dtype === 'float16') (out as Uint16Array)[i] = toHalf(v);
      else out[i] = v;
      return;
    }
    case 'int64':
    case 'uint64': {
      if (typeof v !== 'number' || !Number.isInteger(v) || (dtype === 'uint64' && v < 0)) throw typeError(v, dtype);
      out[i] = BigInt(v);
      return;
    }
    case 'bool':
      if (typeof v !== 'boolean') throw typeError(v, dtype);
      out[i] = v ? 1 : 0;
      return;
    default: {
      if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(v, dtype);
      const r = INT_RANGE[dtype];
      if (r && (v < r[0] || v > r[1])) {
        throw new ReefError('REEF_SERVE_BAD_REQUEST',
          `JSON Value: ${jsonText(v)} is out of range for ${TF_DTYPE_WORD[dtype] ?? dtype} (${r[0]}..${r[1]})`);
      }
      out[i] = v;
    }
  }
}

/**
 * Fills `out` from a nested list of the given shape, checking every level's length and every
 * element (json_tensor.cc FillTensorProto, with its messages). `out` has elementCount(shape) slots.
 */
export function fillNested(v: unknown, shape: readonly number[], dtype: DType, out: TypedArray): void {
  let k = 0;
  const rank = shape.length;
  const walk = (val: unknown, level: number): void => {
    if (!Array.isArray(val)) {
      if (level !== rank) {
        throw new ReefError('REEF_SERVE_BAD_REQUEST',
          `JSON Value: ${jsonText(val)} found at incorrect level: ${level + 1} in the JSON DOM. Expected at level: ${rank}`);
      }
      if (typeof val === 'object' && val !== null) throw typeError(val, dtype);
      put(val, dtype, out, k++);
      return;
    }
    if (level >= rank) {
      throw new ReefError('REEF_SERVE_BAD_REQUEST', `Encountered list at unexpected level: ${level} expected < ${rank}`);
    }
    if (val.length !== shape[level]) {
      throw new ReefError('REEF_SERVE_BAD_REQUEST',
        `Encountered list at unexpected size: ${val.length} at level: ${level} expected size: ${shape[level]}`);
    }
    for (const e of val) walk(e, level + 1);
  };
  walk(v, 0);
}

/**
 * Fills `out` from KServe `data`: a flat row-major list (or nested lists, flattened), exactly
 * out.length elements.
 */
export function fillFlat(v: unknown, dtype: DType, out: TypedArray, name: string): void {
  let k = 0;
  const n = out.length;
  const walk = (val: unknown): void => {
    if (Array.isArray(val)) {
      for (const e of val) walk(e);
      return;
    }
    if (k >= n) throw new ReefError('REEF_SERVE_BAD_REQUEST', `input "${name}": data has more than the ${n} elements its shape says`);
    if (typeof val === 'object' && val !== null) throw typeError(val, dtype);
    put(val, dtype, out, k++);
  };
  walk(v);
  if (k !== n) throw new ReefError('REEF_SERVE_BAD_REQUEST', `input "${name}": data has ${k} elements but its shape says ${n}`);
}

/** Number of leaf values in a nested list, without allocating. */
export function countLeaves(v: unknown): number {
  if (!Array.isArray(v)) return 1;
  let n = 0;
  for (const e of v) n += countLeaves(e);
  return n;
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export { elementCount };

// IEEE half <-> single.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant = (mant | 0x800000) >> (1 - e);
    return sign | ((mant + 0x1000) >> 13);
  }
  const h = sign | (e << 10) | (mant >> 13);
  return (mant & 0x1000) ? h + 1 : h;
}
/** A tensor's values as plain JS numbers/booleans/bigint strings, for writers. */
export function valueAt(t: { dtype: DType; data: TypedArray }, i: number): number | boolean | bigint {
  const v = t.data[i];
  if (t.dtype === 'bool') return v !== 0;
  if (t.dtype === 'float16') return halfToFloat(v as number);
  return v;
}
