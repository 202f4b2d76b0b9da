/**
 * Affine (de)quantization as TFLite defines it: real = scale * (q - zeroPoint).
 */
import { invalidArgument } from './errors.js';
import type { Quantization } from './types.js';

const RANGES = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], int32: [-2147483648, 2147483647] } as const;
export type QuantizedDType = keyof typeof RANGES;

type QuantizedArray<D extends QuantizedDType> =
  D extends 'int8' ? Int8Array : D extends 'uint8' ? Uint8Array : D extends 'int16' ? Int16Array : Int32Array;

const CTORS = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, int32: Int32Array } as const;

/**
 * Quantizes real values: q = clamp(round(x / scale) + zeroPoint), rounding half away from zero
 * as TFLite's reference kernels do.
 * @example quantize(new Float32Array([0.5]), { scale: 1 / 128, zeroPoint: 128 }, 'uint8') // Uint8Array [192]
 */
export function quantize<D extends QuantizedDType>(
  values: ArrayLike<number>, q: Quantization, dtype: D, out?: QuantizedArray<D>,
): QuantizedArray<D> {
  if (!(q.scale > 0) || !Number.isFinite(q.scale)) throw invalidArgument('quantization.scale', 'a positive finite number', q.scale);
  if (!(dtype in RANGES)) throw invalidArgument('dtype', 'int8, uint8, int16 or int32', dtype);
  const [lo, hi] = RANGES[dtype];
  const result = (out ?? new CTORS[dtype](values.length)) as QuantizedArray<D>;
  if (result.length !== values.length) throw invalidArgument('out', `an array of ${values.length} elements`, out);
  const inv = 1 / q.scale;
  for (let i = 0; i < values.length; i++) {
    const r = Math.sign(values[i]) * Math.round(Math.abs(values[i] * inv)) + q.zeroPoint;
    result[i] = r < lo ? lo : r > hi ? hi : r;
  }
  return result;
}

/**
 * Dequantizes: x = scale * (q - zeroPoint). A scale of 0 (not quantized) copies the values.
 * @example dequantize(new Uint8Array([192]), { scale: 1 / 128, zeroPoint: 128 }) // Float32Array [0.5]
 */
export function dequantize(values: ArrayLike<number>, q: Quantization, out?: Float32Array): Float32Array {
  const result = out ?? new Float32Array(values.length);
  if (result.length !== values.length) throw invalidArgument('out', `a Float32Array of ${values.length} elements`, out);
  if (q.scale === 0) {
    for (let i = 0; i < values.length; i++) result[i] = values[i];
    return result;
  }
  for (let i = 0; i < values.length; i++) result[i] = q.scale * (values[i] - q.zeroPoint);
  return result;
}
