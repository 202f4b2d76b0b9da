/**
 * Weight refitting of pointwise convolutions (AdaQuant-style, Hubara et al. 2020, in closed form):
 * during the bias-correction walk each 1x1 CONV_2D sees its real int8 input (with every error the
 * layers before it left); its weights and bias are refitted by least squares so that, on that
 * input, it reproduces the float layer's pre-activation output on the float input, then quantized
 * again. The fit is ridge-regularised towards the float weights. Pointwise convolutions are where
 * MobileNet-style networks lose most (a depthwise output channel with a small range is amplified
 * by large pointwise weights); a 1x1 convolution is a matrix product, so the fit needs only the
 * input's second moments.
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import type { TypedArray } from '../types.js';
import { bytesOf, constFloat32 } from './graph.js';
import { quantizeBias, quantizeSymmetric } from './params.js';
import { refineScales } from './quantize.js';

/** One pointwise convolution to refit: its float weights [O, I] and bias, and where it reads. */
export interface RefitLayer {
  /** Operator index in the int8 model. */
  op: number;
  /** Float input tensor (index in the float model). */
  floatInput: number;
  w: Float32Array;
  b: Float32Array;
  outChannels: number;
  inChannels: number;
}

/** Ridge strength, relative to the mean diagonal of the input's second-moment matrix. */
const RIDGE = 1e-3;
/** Input rows (pixels x samples) needed per fitted weight: fewer, and the fit learns the samples. */
const MIN_ROWS_PER_WEIGHT = 32;
/** Multiply-adds one fit may spend on the input's moments (rows are subsampled to stay within it). */
const MAX_WORK = 2e8;

/** True when float operator `op` of `model` is a CONV_2D with a 1x1 kernel, stride 1, and a float bias. */
export function refitLayerOf(model: TfliteModel, oi: number, int8Op: number): RefitLayer | null {
  const sg = model.subgraphs[0]!;
  const op = sg.operators[oi]!;
  if (op.opcode !== 'CONV_2D' || op.inputs.length < 3 || op.inputs[2]! < 0) return null;
  const wt = sg.tensors[op.inputs[1]!]!;
  const bt = sg.tensors[op.inputs[2]!]!;
  const o = op.builtinOptions?.value as { strideH?: number; strideW?: number } | undefined;
  if (wt.dtype !== 'float32' || bt.dtype !== 'float32' || wt.shape.length !== 4 || wt.shape[1] !== 1 || wt.shape[2] !== 1) return null;
  if ((o?.strideH ?? 1) !== 1 || (o?.strideW ?? 1) !== 1) return null;
  return {
    op: int8Op, floatInput: op.inputs[0]!, w: constFloat32(model, wt), b: constFloat32(model, bt),
    outChannels: wt.shape[0]!, inChannels: wt.shape[3]!,
  };
}

/**
 * Refits layer `l` of the int8 `model` in place from its int8 inputs `xq` (one array per sample)
 * and the float inputs `xf` of the same samples.
 */
export function refitLayer(model: TfliteModel, l: RefitLayer, xq: TypedArray[], xf: Float32Array[]): void {
  const sg = model.subgraphs[0]!;
  const op = sg.operators[l.op]!;
  const inT = sg.tensors[op.inputs[0]!]!;
  const sIn = inT.quantization!.scale[0]!;
  const zIn = inT.quantization!.zeroPoint[0]!;
  const I = l.inChannels, O = l.outChannels, n = I + 1;
  const rows = xf.reduce((a, x) => a + x.length / I, 0);
  if (rows < MIN_ROWS_PER_WEIGHT * n) return;
  const G = new Float64Array(n * n);
  const C = new Float64Array(n * n);
  // Every k-th input row (pixel of a sample), so that the fit costs about MAX_WORK multiply-adds
  // (but never fewer than MIN_ROWS_PER_WEIGHT rows per weight); odd, not to follow image columns.
  const keep = Math.max(MIN_ROWS_PER_WEIGHT * n, Math.floor(MAX_WORK / (n * n)));
  const k = keep >= rows ? 1 : Math.floor(rows / keep) | 1;
  let next = 0, row = 0;
  // Rows go through in blocks of B, column-major (ab[j * B + r]), so each G/C entry is loaded and
  // stored once per block instead of once per row.
  const B = 8;
  const ab = new Float64Array(n * B), fb = new Float64Array(n * B);
  for (let r = 0; r < B; r++) { ab[I * B + r] = 1; fb[I * B + r] = 1; }
  let inBlock = 0;
  const flush = (): void => {
    for (let r = inBlock; r < B; r++) for (let i = 0; i <= I; i++) { ab[i * B + r] = 0; fb[i * B + r] = 0; }
    for (let i = 0; i < n; i++) {
      const ai = i * B, gi = i * n;
      const a0 = ab[ai]!, a1 = ab[ai + 1]!, a2 = ab[ai + 2]!, a3 = ab[ai + 3]!, a4 = ab[ai + 4]!, a5 = ab[ai + 5]!, a6 = ab[ai + 6]!, a7 = ab[ai + 7]!;
      if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0 && a4 === 0 && a5 === 0 && a6 === 0 && a7 === 0) continue;
      for (let j = i; j < n; j++) {
        const b = j * B;
        G[gi + j] += a0 * ab[b]! + a1 * ab[b + 1]! + a2 * ab[b + 2]! + a3 * ab[b + 3]! + a4 * ab[b + 4]! + a5 * ab[b + 5]! + a6 * ab[b + 6]! + a7 * ab[b + 7]!;
      }
      for (let j = 0; j < n; j++) {
        const b = j * B;
        C[gi + j] += a0 * fb[b]! + a1 * fb[b + 1]! + a2 * fb[b + 2]! + a3 * fb[b + 3]! + a4 * fb[b + 4]! + a5 * fb[b + 5]! + a6 * fb[b + 6]! + a7 * fb[b + 7]!;
      }
    }
    for (let r = 0; r < B; r++) { ab[I * B + r] = 1; fb[I * B + r] = 1; }
    inBlock = 0;
  };
  for (let s = 0; s < xq.length; s++) {
    const q = xq[s] as Int8Array, x = xf[s]!;
    for (let p = 0; p < x.length; p += I, row++) {
      if (row !== next) continue;
      next += k;
      for (let i = 0; i < I; i++) { ab[i * B + inBlock] = sIn * (q[p + i]! - zIn); fb[i * B + inBlock] = x[p + i]!; }
      if (++inBlock === B) flush();
    }
  }
  if (inBlock > 0) flush();
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) G[i * n + j] = G[j * n + i]!;
  let trace = 0;
  for (let i = 0; i < I; i++) trace += G[i * n + i]!;
  const lambda = (RIDGE * trace) / Math.max(1, I);
  const A = Float64Array.from(G);
  for (let i = 0; i < I; i++) A[i * n + i] += lambda;
  const L = cholesky(A, n);
  if (!L) return;
  const w = new Float32Array(O * I);
  const b = new Float32Array(O);
  const theta = new Float64Array(n), rhs = new Float64Array(n);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) theta[i] = l.w[o * I + i]!;
    theta[I] = l.b[o]!;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += C[i * n + j]! * theta[j]!;
      rhs[i] = sum + (i < I ? lambda * theta[i]! : 0);
    }
    const sol = choleskySolve(L, n, rhs);
    for (let i = 0; i < I; i++) w[o * I + i] = sol[i]!;
    b[o] = sol[I]!;
  }
  const wt = sg.tensors[op.inputs[1]!]!;
  const bt = sg.tensors[op.inputs[2]!]!;
  const scales = wt.quantization!.scale.map((_, o) => {
    let m = 0;
    for (let i = 0; i < I; i++) m = Math.max(m, Math.abs(w[o * I + i]!));
    return Math.max(m / 127, wt.quantization!.scale[o]! * 0.5, 1e-12);
  });
  refineScales(w, wt.shape, 0, scales);
  model.buffers[wt.buffer] = bytesOf(quantizeSymmetric(w, wt.shape, 0, scales));
  wt.quantization = { ...wt.quantization!, scale: scales };
  const bScales = scales.map((s) => s * sIn);
  model.buffers[bt.buffer] = bytesOf(quantizeBias(b, bScales));
  bt.quantization = { ...bt.quantization!, scale: bScales };
}

/** Lower-triangular Cholesky factor of the n x n matrix `a` (row-major), or null when not positive definite. */
function cholesky(a: Float64Array, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j]!;
      }
    }
  }
  return L;
}

function choleskySolve(L: Float64Array, n: number, b: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * y[k]!;
    y[i] = s / L[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
    x[i] = s / L[i * n + i]!;
  }
  return x;
}
