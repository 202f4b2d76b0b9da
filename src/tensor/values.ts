/**
 * Tensor values as a person or a JSON reader sees them, for every dtype: int64 as numbers, bool as
 * true/false, float16 decoded, NaN and infinities as the strings "NaN", "Infinity", "-Infinity"
 * (JSON has no token for them).
 */
import type { DType, TypedArray } from '../types.js';

/** Decodes one IEEE 754 half-precision value. */
export function float16ToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export type JsonValue = number | boolean | string;

/** One element as JSON can carry it. int64 beyond 2^53 becomes a decimal string (exact). */
export function jsonValue(dtype: DType, v: number | bigint): JsonValue {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (dtype === 'bool') return v !== 0;
  const x = dtype === 'float16' ? float16ToNumber(v) : v;
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return x;
}

/** Every element of `data` as JSON values. */
export function jsonValues(dtype: DType, data: TypedArray): JsonValue[] {
  const out: JsonValue[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = jsonValue(dtype, data[i]!);
  return out;
}

/** The values as numbers where they are numbers (bool as 0/1, float16 decoded, int64 converted). */
export function numericValues(dtype: DType, data: TypedArray): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    out[i] = typeof v === 'bigint' ? Number(v) : dtype === 'float16' ? float16ToNumber(v) : v;
  }
  return out;
}

/** A short text rendering: the first `max` values, then how many more. */
export function formatValues(dtype: DType, data: TypedArray, max = 16): string {
  const shown = Array.from({ length: Math.min(max, data.length) }, (_, i) => {
    const v = jsonValue(dtype, data[i]!);
    return typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)).toString() : String(v);
  });
  return `[${shown.join(', ')}${data.length > max ? `, ... (${data.length - max} more)` : ''}]`;
}
