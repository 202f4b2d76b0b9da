/** Element types, one vocabulary across reef (the native addon uses the same names). */
export type DType =
  | 'float32' | 'float16' | 'float64'
  | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'uint32' | 'uint64'
  | 'bool' | 'string' | 'complex64' | 'complex128' | 'resource' | 'variant' | 'none' | 'unknown';

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/** Quantization of a tensor: real = scale * (q - zeroPoint). scale 0 means not quantized. */
export interface Quantization {
  scale: number;
  zeroPoint: number;
}

/** What a model input or output looks like. */
export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  quantization: Quantization;
  /** Size of the tensor's data in bytes (for a dynamic output: before the first run). */
  byteLength: number;
  /**
   * Set on outputs whose shape TFLite knows only after invoke (shapes computed inside the graph):
   * `shape` and `byteLength` are what allocation gave; each run() returns the real shape.
   */
  dynamic?: boolean;
}

/** A tensor handed back by run(): its data and shape. */
export interface Tensor<T extends TypedArray = TypedArray> {
  data: T;
  shape: number[];
  dtype: DType;
}

type TypedArrayCtor = {
  new (length: number): TypedArray;
  new (buffer: ArrayBuffer): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};
export type TypedArrayClass = TypedArrayCtor;

/** The typed array class for each dtype reef can hand to JS (float16 travels as Uint16Array). */
export const TYPED_ARRAY_FOR: Partial<Record<DType, TypedArrayCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
