/**
 * Quantization parameters as the TFLite int8 spec defines them
 * (tensorflow.org/lite/performance/quantization_spec):
 * activations int8 asymmetric per-tensor, range always containing 0 and the zero point nudged to an
 * integer (as TensorFlow's converter does); weights int8 symmetric in [-127, 127] with zero point 0,
 * per-channel or per-tensor; biases int32 with scale = input scale * weight scale and zero point 0.
 */

/** real = scale * (q - zeroPoint). */
export interface QParams {
  scale: number;
  zeroPoint: number;
}

export const INT8_MIN = -128;
export const INT8_MAX = 127;
export const INT32_MAX = 2147483647;

/**
 * Asymmetric int8 parameters for the real range [lo, hi] (extended to contain 0), with the zero
 * point rounded to the nearest integer in [-128, 127] as TensorFlow nudges it.
 * @example rangeToParams(0, 1) // { scale: 1/255, zeroPoint: -128 }
 */
export function rangeToParams(lo: number, hi: number, qmin = INT8_MIN, qmax = INT8_MAX): QParams {
  let rmin = Math.min(lo, 0);
  let rmax = Math.max(hi, 0);
  if (rmax - rmin < 1e-6) {
    // A tensor that is (nearly) always 0: any range keeps 0 exact, and [0, 1] keeps scale ratios
    // with its neighbours within what the kernels accept (XNNPACK refuses ratios below 2^-14 or so).
    rmin = 0;
    rmax = 1;
  }
  const scale = (rmax - rmin) / (qmax - qmin);
  const zpFromMin = qmin - rmin / scale;
  const zeroPoint = Math.max(qmin, Math.min(qmax, Math.round(zpFromMin))) || 0; // no -0
  return { scale, zeroPoint };
}

/** The real range an int8 tensor with these parameters can hold. */
export function paramsToRange(p: QParams, qmin = INT8_MIN, qmax = INT8_MAX): [number, number] {
  return [p.scale * (qmin - p.zeroPoint), p.scale * (qmax - p.zeroPoint)];
}

/** Rounds half away from zero, as TFLite's reference quantization does. */
export function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/** Quantizes `values` to int8 with one scale/zero point (clamped to [qmin, qmax]). */
export function quantizeInt8(values: ArrayLike<number>, p: QParams, qmin = INT8_MIN, qmax = INT8_MAX): Int8Array {
  const out = new Int8Array(values.length);
  const inv = 1 / p.scale;
  for (let i = 0; i < values.length; i++) {
    const q = roundHalfAway(values[i]! * inv) + p.zeroPoint;
    out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  return out;
}

/** Symmetric int8 weights: per-channel along `axis` (or per-tensor when axis is undefined). */
export interface SymmetricWeights {
  data: Int8Array;
  scales: number[];
  axis: number;
}

/**
 * Per-channel (or per-tensor) maximum absolute value of `values` with `shape`, along `axis`.
 */
export function channelMaxAbs(values: Float32Array, shape: number[], axis: number | undefined): number[] {
  if (axis === undefined) {
    let m = 0;
    for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
    return [m];
  }
  const channels = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Array<number>(channels).fill(0);
  for (let i = 0; i < values.length; i++) {
    const c = Math.floor(i / inner) % channels;
    const a = Math.abs(values[i]!);
    if (a > out[c]!) out[c] = a;
  }
  return out;
}

/**
 * Quantizes weights symmetrically to [-127, 127] with the given per-channel scales (one scale:
 * per-tensor).
 */
export function quantizeSymmetric(values: Float32Array, shape: number[], axis: number | undefined, scales: number[]): Int8Array {
  const out = new Int8Array(values.length);
  const channels = axis === undefined ? 1 : shape[axis]!;
  const inner = axis === undefined ? values.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < values.length; i++) {
    const c = axis === undefined ? 0 : Math.floor(i / inner) % channels;
    const q = roundHalfAway(values[i]! / scales[c]!);
    out[i] = q < -127 ? -127 : q > 127 ? 127 : q;
  }
  return out;
}

/** Quantizes a bias to int32 with per-channel scales (a single scale broadcasts). */
export function quantizeBias(values: Float32Array, scales: number[]): Int32Array {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = scales.length === 1 ? scales[0]! : scales[i]!;
    const q = roundHalfAway(values[i]! / s);
    out[i] = Math.max(-INT32_MAX, Math.min(INT32_MAX, q));
  }
  return out;
}
