/**
 * Seeded random tensors of any input's dtype: the default data of `reef bench` and `reef run --random`.
 */
import { ReefError } from '../errors.js';
import { TYPED_ARRAY_FOR, elementCount, type TensorInfo, type TypedArray } from '../types.js';

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: a small, fast, seeded 32-bit PRNG. The same seed gives the same
 * series on every machine, so two benchmark runs feed the same data.
 * @example
 * const rng = mulberry32(42);
 * rng(); // 0.6011037519201636
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer range [lo, hi] of each integer dtype reef fills. */
const INT_RANGE: Partial<Record<string, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1], bool: [0, 1],
};

/**
 * Random data for one input: uniform over the whole range for integer dtypes,
 * uniform in [-1, 1) for float32/float64 (the usual normalised image range),
 * small integers (0..255) for int64/uint64.
 */
export function randomTensor(info: TensorInfo, rng: Rng): TypedArray {
  const ctor = TYPED_ARRAY_FOR[info.dtype];
  if (!ctor) {
    throw new ReefError('REEF_INPUT_DTYPE_MISMATCH', `input "${info.name}" has dtype ${info.dtype}, which reef cannot fill with data`);
  }
  const n = elementCount(info.shape);
  const arr = new ctor(n);
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) arr[i] = BigInt(Math.floor(rng() * 256));
  } else if (info.dtype === 'float32' || info.dtype === 'float64') {
    for (let i = 0; i < n; i++) arr[i] = rng() * 2 - 1;
  } else if (info.dtype === 'float16') {
    // Half floats travel as Uint16Array: 0x3800 | 10 random mantissa bits is in [0.5, 1).
    for (let i = 0; i < n; i++) arr[i] = 0x3800 | Math.floor(rng() * 1024);
  } else {
    const [lo, hi] = INT_RANGE[info.dtype] ?? [0, 255];
    for (let i = 0; i < n; i++) arr[i] = lo + Math.floor(rng() * (hi - lo + 1));
  }
  return arr;
}

/** One random feed (an array in input order) per input, from a seeded PRNG. */
export function randomFeeds(inputs: readonly TensorInfo[], seed: number): TypedArray[] {
  const rng = mulberry32(seed);
  return inputs.map((t) => randomTensor(t, rng));
}

