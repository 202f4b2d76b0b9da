/**
 * Constant n-d arrays for the converter: initializers, folded shape arithmetic and weights on
 * their way into TFLite buffers. Values are held as float64 whatever the dtype (exact for every
 * int32 and for int64 up to 2^53, which covers shapes and indices); the dtype decides how they are
 * written.
 */
import { ReefError } from '../errors.js';
import type { DType } from '../types.js';
import type { OnnxTensor } from '../model/onnx/ir.js';
import { ONNX_DTYPE_NAME } from '../model/onnx/ir.js';
import { float16ToNumber } from '../tensor/values.js';

export interface Const {
  dtype: DType;
  shape: number[];
  data: Float64Array;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let k = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = k; k *= shape[i]!; }
  return s;
}

export function makeConst(dtype: DType, shape: number[], values: ArrayLike<number>): Const {
  return { dtype, shape: [...shape], data: Float64Array.from(values) };
}

export const scalarOf = (dtype: DType, v: number): Const => makeConst(dtype, [], [v]);

const halfToFloat = float16ToNumber;

/** Decode an ONNX TensorProto (raw_data or typed fields) into a Const. */
export function fromOnnxTensor(t: OnnxTensor, where: string): Const {
  const n = size(t.dims);
  const out = new Float64Array(n);
  const dtype: DType = t.dataType === 10 || t.dataType === 11 ? 'float32' : t.dtype;
  if (t.rawData) {
    const r = t.rawData;
    const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
    const get: Record<number, (i: number) => number> = {
      1: (i) => v.getFloat32(4 * i, true), 2: (i) => v.getUint8(i), 3: (i) => v.getInt8(i), 4: (i) => v.getUint16(2 * i, true),
      5: (i) => v.getInt16(2 * i, true), 6: (i) => v.getInt32(4 * i, true), 7: (i) => Number(v.getBigInt64(8 * i, true)),
      9: (i) => v.getUint8(i), 10: (i) => halfToFloat(v.getUint16(2 * i, true)), 11: (i) => v.getFloat64(8 * i, true),
      12: (i) => v.getUint32(4 * i, true), 13: (i) => Number(v.getBigUint64(8 * i, true)),
    };
    const g = get[t.dataType];
    if (!g) throw new ReefError('REEF_CONVERT_UNSUPPORTED_OP', `${where}: tensor '${t.name}' has data type ${ONNX_DTYPE_NAME[t.dataType] ?? t.dataType}, which reef cannot convert`);
    if (r.length < n) throw new ReefError('REEF_MODEL_INVALID', `Invalid ONNX model: ${where}: tensor '${t.name}' holds fewer values than its dims [${t.dims.join(',')}]`);
    for (let i = 0; i < n; i++) out[i] = g(i);
  } else if (t.values) {
    if (t.values.length !== n && !(n === 1 && t.values.length === 1)) throw new ReefError('REEF_MODEL_INVALID', `Invalid ONNX model: ${where}: tensor '${t.name}' has ${t.values.length} values for dims [${t.dims.join(',')}]`);
    for (let i = 0; i < n; i++) out[i] = t.dataType === 10 ? halfToFloat(t.values[i]!) : t.values[i]!;
  } else if (n !== 0) {
    throw new ReefError('REEF_CONVERT_UNSUPPORTED_OP', `${where}: tensor '${t.name}' has no data reef can read (external data not loaded, or string data)`);
  }
  return { dtype: dtype === 'unknown' ? 'float32' : dtype, shape: [...t.dims], data: out };
}

/** Transpose: out.shape[i] = c.shape[perm[i]]. */
export function transposeConst(c: Const, perm: readonly number[]): Const {
  if (perm.every((p, i) => p === i)) return c;
  const shape = perm.map((p) => c.shape[p]!);
  const inStr = strides(c.shape);
  const n = size(shape);
  const out = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  const st = perm.map((p) => inStr[p]!);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += idx[d]! * st[d]!;
    out[k] = c.data[off]!;
    for (let d = idx.length - 1; d >= 0; d--) { if (++idx[d]! < shape[d]!) break; idx[d] = 0; }
  }
  return { dtype: c.dtype, shape, data: out };
}

/** Numpy broadcast of two shapes; undefined when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Read element of `c` at the multi-index `idx` of a shape it broadcasts to. */
function broadcastIndexer(c: Const, outShape: readonly number[]): (flat: number) => number {
  const off = outShape.length - c.shape.length;
  const cs = strides(c.shape);
  const os = strides(outShape);
  return (flat) => {
    let o = 0;
    for (let d = 0; d < c.shape.length; d++) {
      const i = Math.floor(flat / os[d + off]!) % outShape[d + off]!;
      if (c.shape[d]! !== 1) o += i * cs[d]!;
    }
    return o;
  };
}

export function broadcastTo(c: Const, shape: readonly number[]): Const {
  if (c.shape.length === shape.length && c.shape.every((d, i) => d === shape[i])) return c;
  const n = size(shape);
  const ix = broadcastIndexer(c, shape);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = c.data[ix(k)]!;
  return { dtype: c.dtype, shape: [...shape], data: out };
}

/** Elementwise op over broadcast operands. */
export function elementwise(inputs: Const[], f: (...v: number[]) => number, dtype: DType = inputs[0]!.dtype): Const | undefined {
  let shape: number[] | undefined = inputs[0]!.shape;
  for (const c of inputs.slice(1)) { shape = broadcastShapes(shape, c.shape); if (!shape) return undefined; }
  const n = size(shape);
  const ix = inputs.map((c) => broadcastIndexer(c, shape!));
  const out = new Float64Array(n);
  const args = new Array<number>(inputs.length);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < inputs.length; j++) args[j] = inputs[j]!.data[ix[j]!(k)]!;
    out[k] = f(...args);
  }
  return { dtype, shape, data: out };
}

/** Bytes of a Const as a TFLite buffer of `dtype`. */
export function constBytes(c: Const, dtype: DType = c.dtype): Uint8Array {
  const n = c.data.length;
  switch (dtype) {
    case 'float32': return new Uint8Array(Float32Array.from(c.data).buffer);
    case 'int32': return new Uint8Array(Int32Array.from(c.data).buffer);
    case 'int64': { const a = new BigInt64Array(n); for (let i = 0; i < n; i++) a[i] = BigInt(Math.trunc(c.data[i]!)); return new Uint8Array(a.buffer); }
    case 'bool': case 'uint8': return Uint8Array.from(c.data);
    case 'int8': return new Uint8Array(Int8Array.from(c.data).buffer);
    case 'int16': return new Uint8Array(Int16Array.from(c.data).buffer);
    default: throw new ReefError('REEF_CONVERT_UNSUPPORTED_OP', `Cannot write a constant of dtype ${dtype} into a TFLite model`);
  }
}

/** Permutation helpers: inverse, and "is this transpose only a reshape" (non-1 dims keep their order). */
export const invertPerm = (p: readonly number[]): number[] => { const q = new Array<number>(p.length); p.forEach((v, i) => { q[v] = i; }); return q; };
export const isIdentity = (p: readonly number[]): boolean => p.every((v, i) => v === i);
export function transposeIsReshape(shape: readonly number[], perm: readonly number[]): boolean {
  const kept = perm.filter((p) => shape[p] !== 1);
  return kept.every((v, i) => i === 0 || v > kept[i - 1]!);
}
