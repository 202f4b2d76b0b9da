/**
 * The check after every conversion: run the ONNX model (onnxruntime-node, through reef's
 * runtime) and the converted TFLite model (reef's TFLite runtime) on the same inputs and compare every output with onnx2tf's
 * evaluator bounds: max |diff| <= max(5e-2, 2e-3 * max |ref|) and cosine >= 0.999.
 */
import { ReefError } from '../errors.js';
import { load } from '../runtime/session.js';
import type { TypedArray } from '../types.js';
import { strides } from './array.js';
import type { ConvertResult } from './convert.js';

export interface OutputAgreement {
  name: string;
  maxAbs: number;
  meanAbs: number;
  cosine: number;
  /** max |reference| over the samples. */
  refMax: number;
  /** The max |diff| allowed: max(5e-2, 2e-3 * refMax). */
  bound: number;
  ok: boolean;
}

export interface CheckReport {
  samples: number;
  seed: number;
  /** The images checked on (--check-images), else absent: seeded random inputs in [-1, 1). */
  images?: string;
  outputs: OutputAgreement[];
  ok: boolean;
  /** On a mismatch: the first ONNX node (in graph order) whose output is outside the bounds. */
  firstDivergence?: { node: string; opType: string; index: number; maxAbs: number; cosine: number };
}

export interface CheckOptions {
  /** Random inputs to compare on (default 3). */
  samples?: number;
  seed?: number;
  /** Inputs given by the caller (ONNX layout), instead of random ones. */
  inputs?: Record<string, Float32Array>[];
}

/** Uniform floats in [-1, 1) from a seeded xorshift32 generator. */
export function randomFloats(n: number, seed: number): Float32Array {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

/** Permute a dense array: out.shape[i] = shape[perm[i]]. */
export function permuteData<T extends TypedArray>(data: T, shape: number[], perm: number[]): T {
  if (perm.every((p, i) => p === i)) return data;
  const outShape = perm.map((p) => shape[p]!);
  const st = strides(shape);
  const ps = perm.map((p) => st[p]!);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let k = 0; k < data.length; k++) {
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += idx[d]! * ps[d]!;
    out[k] = data[off]!;
    for (let d = idx.length - 1; d >= 0; d--) { if (++idx[d]! < outShape[d]!) break; idx[d] = 0; }
  }
  return out;
}

export interface Acc { maxAbs: number; sumAbs: number; n: number; dot: number; aa: number; bb: number; refMax: number }
export const newAcc = (): Acc => ({ maxAbs: 0, sumAbs: 0, n: 0, dot: 0, aa: 0, bb: 0, refMax: 0 });
export function accumulate(acc: Acc, ref: ArrayLike<number>, got: ArrayLike<number>): void {
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!, g = got[i]!;
    const d = Math.abs(r - g);
    if (!(d <= acc.maxAbs)) acc.maxAbs = Number.isNaN(d) ? Infinity : d;
    acc.sumAbs += d; acc.dot += r * g; acc.aa += r * r; acc.bb += g * g;
    if (Math.abs(r) > acc.refMax) acc.refMax = Math.abs(r);
  }
  acc.n += ref.length;
}
export function finish(name: string, a: Acc): OutputAgreement {
  const cosine = a.aa === 0 && a.bb === 0 ? 1 : a.dot / Math.sqrt(a.aa * a.bb || 1e-300);
  const bound = Math.max(5e-2, 2e-3 * a.refMax);
  return { name, maxAbs: a.maxAbs, meanAbs: a.sumAbs / Math.max(1, a.n), cosine, refMax: a.refMax, bound, ok: a.maxAbs <= bound && cosine >= 0.999 };
}

/**
 * Compare the converted model with onnxruntime on `samples` random inputs.
 * @returns the per-output agreement; `ok` false when any output is outside the bounds.
 */
export async function checkConversion(onnxBytes: Uint8Array, result: ConvertResult, options: CheckOptions = {}): Promise<CheckReport> {
  const seed = options.seed ?? 1;
  const samples = options.inputs?.length ?? options.samples ?? 3;
  const inputShapes = Object.fromEntries(result.report.inputs.map((io) => [io.name, io.onnxShape]));
  const ref = await load(onnxBytes, { threads: 1, inputShapes });
  const session = await load(result.bytes, { threads: 1 }).catch(async (e: unknown) => { await ref.dispose(); throw e; });
  try {
    const accs = result.report.outputs.map(newAcc);
    for (let s = 0; s < samples; s++) {
      const feeds: Record<string, Float32Array> = {};
      const tfl: Float32Array[] = [];
      result.report.inputs.forEach((io, k) => {
        const n = io.onnxShape.reduce((a, b) => a * b, 1);
        const data = options.inputs?.[s]?.[io.name] ?? randomFloats(n, seed * 1000 + s * 31 + k);
        feeds[io.name] = data;
        tfl.push(permuteData(data, io.onnxShape, io.perm));
      });
      const want = await ref.run(feeds);
      const got = await session.run(tfl);
      result.report.outputs.forEach((io, k) => {
        const r = want[io.name]!.data as Float32Array;
        if (want[io.name]!.dtype !== 'float32') return;
        const g = got[session.outputs[k]!.name]!.data as Float32Array;
        accumulate(accs[k]!, permuteData(r, io.onnxShape, io.perm), g);
      });
    }
    const outputs = result.report.outputs.map((io, k) => finish(io.name, accs[k]!));
    return { samples, seed, outputs, ok: outputs.every((o) => o.ok) };
  } finally {
    await Promise.all([session.dispose(), ref.dispose()]);
  }
}

/** Throw REEF_CONVERT_MISMATCH for a failed check. */
export function mismatchError(report: CheckReport): ReefError {
  const bad = report.outputs.filter((o) => !o.ok);
  const where = report.firstDivergence ? ` The first ONNX node whose output diverges: ${report.firstDivergence.index} '${report.firstDivergence.node}' (${report.firstDivergence.opType}), max |diff| ${report.firstDivergence.maxAbs.toExponential(2)}, cosine ${report.firstDivergence.cosine.toFixed(5)}.` : '';
  return new ReefError('REEF_CONVERT_MISMATCH', `The converted model does not match onnxruntime on ${report.samples} ${report.images ? `images from ${report.images}` : 'random inputs'}: ${bad.map((o) => `output '${o.name}' max |diff| ${o.maxAbs.toExponential(2)} (bound ${o.bound.toExponential(2)}), cosine ${o.cosine.toFixed(5)}`).join('; ')}.${where}`);
}
