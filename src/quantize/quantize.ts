/**
 * The rewrite: a float32 graph plus activation ranges -> a full-integer int8 graph, following the
 * TFLite int8 quantization spec (see params.ts) and the per-op rules in ops.ts.
 *
 * Tensor indices are kept: tensor i of the float model is tensor i of the result (new tensors
 * are appended). Where a tensor needs a second representation (the int8 side of a float graph
 * input, the float side of an op kept in float), a new tensor and a QUANTIZE or DEQUANTIZE
 * op right after the producer carry it. Graph inputs and outputs keep their indices, names and
 * signature entries; with `io: 'float'` or `'uint8'` the edge tensors keep that type and the
 * conversion ops sit at the edges, as TensorFlow's converter builds them.
 */
import { ReefError } from '../errors.js';
import type { TfliteModel, TfliteOperator, TfliteTensor } from '../model/tflite/ir.js';
import { validateModel } from '../model/tflite/reader.js';
import {
  bytesOf, cloneModel, consumersOf, constFloat32, isConstantTensor, opLabel, producersOf,
} from './graph.js';
import { EDGE_OP_VERSION, INT8_RULES, unsupportedReason, type OpRule } from './ops.js';
import {
  INT32_MAX, channelMaxAbs, quantizeBias, quantizeInt8, quantizeSymmetric, rangeToParams, type QParams,
} from './params.js';
import type { Range } from './ranges.js';

/** Type of the model's inputs and outputs after quantization. */
export type IoType = 'float' | 'int8' | 'uint8';
export const IO_TYPES: readonly IoType[] = ['float', 'int8', 'uint8'];

export interface QuantizeGraphOptions {
  /** Real range of every activation tensor (by tensor index), e.g. from calibration. */
  ranges: Map<number, Range>;
  /** Input/output type (default 'int8'). */
  io?: IoType;
  /** Keep ops without an int8 kernel in float between DEQUANTIZE/QUANTIZE instead of failing. */
  allowFloat?: boolean;
  /** Activation parameters to use as given instead of deriving them from a range (legacy uint8 models). */
  fixedParams?: Map<number, QParams>;
  /** Name of the model in error messages. */
  source?: string;
  /**
   * Per-channel means of activations (from calibration). When given, each weighted op's bias
   * absorbs the mean error its weight rounding causes (empirical bias correction).
   */
  channelMeans?: Map<number, Float64Array>;
  /** Per channel, shrink the weight scale (down to 0.8 x max/127) when that lowers the rounding error (default true). */
  weightScaleSearch?: boolean;
}

export interface QuantizedWeights {
  /** Tensor index (in the result) of the int8 weights. */
  tensor: number;
  op: number;
  opcode: string;
  /** Number of scales (1 = per-tensor). */
  channels: number;
  axis: number | null;
}

export interface QuantizedGraph {
  model: TfliteModel;
  /** For each activation of the float model: the index of the int8 tensor carrying it. */
  int8Of: Map<number, number>;
  /** The int8 parameters of each activation of the float model (by float tensor index). */
  params: Map<number, QParams>;
  /** The range each activation was quantized to (after same-scale merging and fixed outputs). */
  ranges: Map<number, Range>;
  /** Operators kept in float (with --allow-float), as indices into the float model's operators. */
  floatOps: Array<{ index: number; opcode: string; reason: string }>;
  weights: QuantizedWeights[];
}

/** Smallest weight scale: keeps input*weight/output >= 2^-31 (what XNNPACK and TFLite's requantization accept). */
const MIN_REQUANT = 2 ** -31;

class UnionFind {
  readonly parent: number[];
  constructor(n: number) { this.parent = Array.from({ length: n }, (_, i) => i); }
  find(i: number): number {
    while (this.parent[i] !== i) { this.parent[i] = this.parent[this.parent[i]!]!; i = this.parent[i]!; }
    return i;
  }
  union(a: number, b: number): void { this.parent[this.find(a)] = this.find(b); }
}

/**
 * Rewrites subgraph 0 of a float32 model into full-integer int8.
 * @throws ReefError REEF_MODEL_INVALID listing every op (and its index) that has no int8 form,
 *   unless `allowFloat`.
 * @example
 * const { model } = quantizeGraph(floatIr, { ranges, io: 'int8' });
 * await writeFile('out.tflite', writeTflite(model));
 */
export function quantizeGraph(floatModel: TfliteModel, opts: QuantizeGraphOptions): QuantizedGraph {
  const io = opts.io ?? 'int8';
  const source = opts.source ?? 'the model';
  const m = cloneModel(floatModel);
  const sg = m.subgraphs[0]!;
  const nOrig = sg.tensors.length;
  const prod = producersOf(sg);
  const cons = consumersOf(sg);
  // Classified once, before any tensor is rewritten.
  const actSet = new Set<number>();
  const floatConstSet = new Set<number>();
  sg.tensors.forEach((t, i) => {
    if (t.dtype !== 'float32') return;
    if (isConstantTensor(m, sg, i)) floatConstSet.add(i);
    else if (prod[i]! >= 0 || sg.inputs.includes(i)) actSet.add(i);
  });
  const isAct = (i: number): boolean => actSet.has(i);
  const isFloatConst = (i: number): boolean => floatConstSet.has(i);

  // 1. Which ops become int8.
  const rules: Array<OpRule | null> = [];
  const unsupported: Array<{ index: number; opcode: string; reason: string }> = [];
  sg.operators.forEach((op, oi) => {
    const touchesFloat = [...op.inputs, ...op.outputs].some((i) => isAct(i)) || op.inputs.some(isFloatConst);
    if (!touchesFloat) { rules.push(null); return; }
    const rule = INT8_RULES[op.opcode];
    let reason = rule ? '' : unsupportedReason(op.opcode);
    if (op.opcode === 'CUSTOM') reason = `custom op ${op.customCode ?? ''} has no int8 form reef knows`;
    if (rule?.kind === 'weighted' && !isFloatConst(op.inputs[rule.weights!] ?? -1)) reason = 'its weights are not a float32 constant';
    if (rule?.kind === 'weighted' && !isAct(op.inputs[rule.activation!] ?? -1)) reason = 'its data input is not a float32 activation';
    if (op.outputs.some((i) => i >= 0 && !isAct(i) && sg.tensors[i]!.dtype !== 'float32')) reason = `it writes ${op.outputs.map((i) => sg.tensors[i]!.dtype).join(', ')}`;
    if (reason) {
      unsupported.push({ index: oi, opcode: op.customCode ?? op.opcode, reason });
      rules.push(null);
    } else {
      rules.push(rule!);
    }
  });
  if (unsupported.length > 0 && !opts.allowFloat) {
    const list = unsupported.map((u) => `  operator ${u.index} (${u.opcode}): ${u.reason}`).join('\n');
    throw new ReefError('REEF_QUANTIZE_UNSUPPORTED_OP',
      `${source}: ${unsupported.length} operator${unsupported.length === 1 ? '' : 's'} cannot be quantized to int8:\n${list}\n` +
      'Use --allow-float to keep them in float between DEQUANTIZE/QUANTIZE (such a model will not map fully to the Edge TPU).');
  }
  const int8Op = (oi: number): boolean => rules[oi] !== null && rules[oi] !== undefined;
  const floatOp = (oi: number): boolean => rules[oi] === null && unsupported.some((u) => u.index === oi);

  // Data positions of an int8 op: float inputs that carry values (not weights/bias).
  const dataPositions = (op: TfliteOperator, rule: OpRule): number[] => {
    if (rule.kind === 'weighted') return [rule.activation!];
    const all = op.inputs.map((_, k) => k);
    return (rule.dataInputs ?? all).filter((k) => k < op.inputs.length && op.inputs[k]! >= 0 && sg.tensors[op.inputs[k]!]!.dtype === 'float32');
  };

  // 2. Parameters: same-scale groups, fixed outputs, overrides, ranges.
  const uf = new UnionFind(nOrig);
  const fixed = new Map<number, QParams>();
  sg.operators.forEach((op, oi) => {
    const rule = rules[oi];
    if (!rule) return;
    if (rule.kind === 'same') {
      const members = [...dataPositions(op, rule).map((k) => op.inputs[k]!), ...op.outputs.filter((i) => i >= 0)];
      for (let k = 1; k < members.length; k++) uf.union(members[0]!, members[k]!);
    }
    if (rule.kind === 'fixed') for (const o of op.outputs) fixed.set(o, rule.fixed!);
  });
  for (const [t, p] of opts.fixedParams ?? []) fixed.set(t, p);
  const groupRange = new Map<number, Range>();
  const groupFixed = new Map<number, QParams>();
  const constRange = (i: number): Range => {
    const v = constFloat32(m, sg.tensors[i]!);
    let lo = Infinity, hi = -Infinity;
    for (let k = 0; k < v.length; k++) { lo = Math.min(lo, v[k]!); hi = Math.max(hi, v[k]!); }
    return v.length ? [lo, hi] : [0, 0];
  };
  const needsParams = new Set<number>();
  sg.operators.forEach((op, oi) => {
    const rule = rules[oi];
    if (rule) {
      for (const k of dataPositions(op, rule)) needsParams.add(op.inputs[k]!);
      for (const o of op.outputs) if (o >= 0) needsParams.add(o);
    } else if (floatOp(oi)) {
      for (const o of op.outputs) if (isAct(o) && cons[o]!.some(int8Op)) needsParams.add(o);
    }
  });
  for (const i of needsParams) {
    const g = uf.find(i);
    const f = fixed.get(i);
    if (f && !groupFixed.has(g)) groupFixed.set(g, f);
    let r: Range | undefined;
    if (isAct(i)) {
      r = opts.ranges.get(i);
      if (!r && !f) throw new ReefError('REEF_INVALID_STATE', `${source}: no calibration range for tensor ${i} ('${sg.tensors[i]!.name}')`);
    } else if (isFloatConst(i)) {
      r = constRange(i);
    }
    if (r) {
      const cur = groupRange.get(g);
      groupRange.set(g, cur ? [Math.min(cur[0], r[0]), Math.max(cur[1], r[1])] : [r[0], r[1]]);
    }
  }
  const params = new Map<number, QParams>();
  const chosen = new Map<number, Range>();
  for (const i of needsParams) {
    const g = uf.find(i);
    const p = groupFixed.get(g) ?? (() => { const r = groupRange.get(g)!; return rangeToParams(r[0], r[1]); })();
    params.set(i, p);
    chosen.set(i, [p.scale * (-128 - p.zeroPoint), p.scale * (127 - p.zeroPoint)]);
  }

  // 3. Representations: where each activation's int8 and float forms live.
  const int8Of = new Map<number, number>();
  const floatOf = new Map<number, number>();
  const after = new Map<number, TfliteOperator[]>(); // producer op index (-1 = graph start) -> conversion ops
  const emit = (producer: number, op: TfliteOperator): void => {
    const list = after.get(producer) ?? [];
    list.push(op);
    after.set(producer, list);
  };
  const newTensor = (from: number, dtype: 'int8' | 'float32' | 'uint8', suffix: string, p?: QParams): number => {
    const base = sg.tensors[from]!;
    const t: TfliteTensor = { name: `${base.name}${suffix}`, dtype, shape: [...base.shape], buffer: 0, isVariable: false, hasRank: base.hasRank };
    if (base.shapeSignature) t.shapeSignature = [...base.shapeSignature];
    if (p) t.quantization = { scale: [p.scale], zeroPoint: [p.zeroPoint], quantizedDimension: 0 };
    sg.tensors.push(t);
    return sg.tensors.length - 1;
  };
  const setType = (i: number, dtype: 'int8' | 'uint8' | 'float32', p?: QParams): void => {
    const t = sg.tensors[i]!;
    t.dtype = dtype;
    if (p) t.quantization = { scale: [p.scale], zeroPoint: [p.zeroPoint], quantizedDimension: 0 };
    else delete t.quantization;
  };
  const convOp = (opcode: 'QUANTIZE' | 'DEQUANTIZE', from: number, to: number): TfliteOperator =>
    ({ opcode, version: EDGE_OP_VERSION[opcode], inputs: [from], outputs: [to], customOptionsFormat: 0 });
  const isGraphOut = (i: number): boolean => sg.outputs.includes(i);
  const isGraphIn = (i: number): boolean => sg.inputs.includes(i);
  for (const i of needsParams) {
    if (!isAct(i)) continue;
    const p = params.get(i)!;
    const pu8: QParams = { scale: p.scale, zeroPoint: p.zeroPoint + 128 };
    const producer = prod[i]!;
    const byInt8 = producer >= 0 ? int8Op(producer) : cons[i]!.some(int8Op);
    if (byInt8) {
      const edgeType = isGraphIn(i) || isGraphOut(i) ? io : 'int8';
      if (edgeType === 'int8') {
        setType(i, 'int8', p);
        int8Of.set(i, i);
      } else {
        const j = newTensor(i, 'int8', '_int8', p);
        int8Of.set(i, j);
        if (edgeType === 'float') setType(i, 'float32');
        else setType(i, 'uint8', pu8);
        if (producer < 0) emit(-1, convOp('QUANTIZE', i, j));
        else emit(producer, edgeType === 'float' ? convOp('DEQUANTIZE', j, i) : convOp('QUANTIZE', j, i));
        if (edgeType === 'float') floatOf.set(i, i);
      }
    } else {
      // Produced in float (a float op, or a graph input read only by float ops): int8 copy after it.
      floatOf.set(i, i);
      const j = newTensor(i, 'int8', '_int8', p);
      int8Of.set(i, j);
      emit(producer, convOp('QUANTIZE', i, j));
    }
  }
  // Float views for float ops reading int8 tensors.
  sg.operators.forEach((op, oi) => {
    if (!floatOp(oi)) return;
    for (const i of op.inputs) {
      if (!isAct(i) || floatOf.has(i)) continue;
      if (!int8Of.has(i)) { floatOf.set(i, i); continue; }
      const j = newTensor(i, 'float32', '_float');
      floatOf.set(i, j);
      emit(prod[i]!, convOp('DEQUANTIZE', int8Of.get(i)!, j));
    }
  });

  // 4. Constants: weights, biases, other float constants read by int8 ops.
  const claimed = new Set<number>();
  const readers = (i: number): number => cons[i]!.length;
  const constTarget = (i: number): number => {
    // A constant used once is rewritten in place; a shared one gets its own copy per use.
    if (!claimed.has(i) && readers(i) === 1) { claimed.add(i); return i; }
    const base = sg.tensors[i]!;
    sg.tensors.push({ ...base, shape: [...base.shape], name: base.name });
    return sg.tensors.length - 1;
  };
  const putConst = (target: number, dtype: 'int8' | 'int32', data: Int8Array | Int32Array, scales: number[], zeroPoints: number[], axis: number): void => {
    m.buffers.push(bytesOf(data));
    const t = sg.tensors[target]!;
    t.dtype = dtype;
    t.buffer = m.buffers.length - 1;
    t.quantization = { scale: scales, zeroPoint: zeroPoints, quantizedDimension: axis };
  };
  const weights: QuantizedWeights[] = [];
  sg.operators.forEach((op, oi) => {
    const rule = rules[oi];
    if (!rule) return;
    if (rule.kind === 'weighted') {
      const inIdx = op.inputs[rule.activation!]!;
      const sIn = params.get(inIdx)!.scale;
      const sOut = params.get(op.outputs[0]!)!.scale;
      const wIdx = op.inputs[rule.weights!]!;
      const wt = sg.tensors[wIdx]!;
      const w = constFloat32(m, wt);
      const maxAbs = channelMaxAbs(w, wt.shape, rule.axis);
      const bIdx = rule.bias !== undefined ? op.inputs[rule.bias] ?? -1 : -1;
      const bias = bIdx >= 0 && isFloatConst(bIdx) ? constFloat32(m, sg.tensors[bIdx]!) : null;
      const floor = (MIN_REQUANT * 4 * sOut) / sIn;
      const scales = maxAbs.map((a, c) => {
        let s = Math.max(a / 127, floor);
        if (a === 0) s = Math.max(s, 1 / 127);
        if (bias) {
          const b = Math.abs(rule.axis === undefined ? Math.max(...Array.from(bias, Math.abs)) : bias[c] ?? 0);
          const need = b / (sIn * (INT32_MAX / 2));
          if (need > s) s = need;
        }
        return s;
      });
      if (opts.weightScaleSearch ?? true) refineScales(w, wt.shape, rule.axis, scales);
      const q = quantizeSymmetric(w, wt.shape, rule.axis, scales);
      const means = opts.channelMeans?.get(inIdx);
      if (bias && means && op.opcode !== 'TRANSPOSE_CONV') correctBias(bias, w, q, wt.shape, rule.axis, scales, means, op.opcode);
      const wTarget = constTarget(wIdx);
      putConst(wTarget, 'int8', q, scales, scales.map(() => 0), rule.axis ?? 0);
      op.inputs[rule.weights!] = wTarget;
      weights.push({ tensor: wTarget, op: oi, opcode: op.opcode, channels: scales.length, axis: rule.axis ?? null });
      if (bias && bIdx >= 0) {
        const bScales = scales.map((s) => s * sIn);
        const qb = quantizeBias(bias, bScales);
        const bTarget = constTarget(bIdx);
        putConst(bTarget, 'int32', qb, bScales, bScales.map(() => 0), 0);
        op.inputs[rule.bias!] = bTarget;
      }
    }
    // Other float constants read by this op: per-tensor int8 with their group's (or own) parameters.
    op.inputs.forEach((i, k) => {
      if (!isFloatConst(i)) return;
      if (rule.kind === 'weighted' && (k === rule.weights || k === rule.bias)) return;
      const p = params.get(i) ?? (() => { const r = constRange(i); return rangeToParams(r[0], r[1]); })();
      const target = constTarget(i);
      putConst(target, 'int8', quantizeInt8(constFloat32(m, sg.tensors[i]!), p), [p.scale], [p.zeroPoint], 0);
      op.inputs[k] = target;
    });
  });

  // 5. Re-point operator inputs/outputs at the right representation, versions, op order.
  const ops: TfliteOperator[] = [...(after.get(-1) ?? [])];
  sg.operators.forEach((op, oi) => {
    const rule = rules[oi];
    if (rule) {
      op.inputs = op.inputs.map((i) => (i >= 0 && int8Of.has(i) ? int8Of.get(i)! : i));
      op.outputs = op.outputs.map((i) => (i >= 0 && int8Of.has(i) ? int8Of.get(i)! : i));
      let version = rule.version(op, sg);
      if (op.opcode === 'MUL') {
        const [a, b] = [op.inputs[0]!, op.inputs[1]!].map((i) => sg.tensors[i]!.quantization?.scale[0] ?? 0);
        const o = sg.tensors[op.outputs[0]!]!.quantization?.scale[0] ?? 0;
        if (a && b && o && (a! * b!) / o >= 1) version = 3;
      }
      op.version = Math.max(op.version, version);
    } else if (floatOp(oi)) {
      op.inputs = op.inputs.map((i) => (i >= 0 && floatOf.has(i) ? floatOf.get(i)! : i));
    }
    ops.push(op, ...(after.get(oi) ?? []));
  });
  sg.operators = ops;
  compactBuffers(m);
  validateModel(m);
  return {
    model: m,
    int8Of,
    params,
    ranges: chosen,
    floatOps: unsupported,
    weights,
  };
}

/**
 * Per channel, tries scales from max|w|/127 down to 0.8 of it and keeps the one with the least
 * squared error (clipping the largest weights a little can round the rest better).
 */
function refineScales(w: Float32Array, shape: number[], axis: number | undefined, scales: number[]): void {
  const channels = scales.length;
  const inner = axis === undefined ? w.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chanOf = (k: number): number => (axis === undefined ? 0 : Math.floor(k / inner) % channels);
  const idx: number[][] = Array.from({ length: channels }, () => []);
  for (let k = 0; k < w.length; k++) idx[chanOf(k)]!.push(k);
  for (let c = 0; c < channels; c++) {
    const base = scales[c]!;
    let best = base, bestErr = Infinity;
    for (let f = 100; f >= 80; f--) {
      const s = (base * f) / 100;
      let err = 0;
      for (const k of idx[c]!) {
        const q = Math.max(-127, Math.min(127, Math.round(w[k]! / s)));
        err += (w[k]! - q * s) ** 2;
      }
      if (err < bestErr - 1e-18) { bestErr = err; best = s; }
    }
    scales[c] = best;
  }
}

/**
 * Empirical bias correction: subtracts from each output channel's bias the mean error the
 * weight rounding adds, E[(Wq - W) x], with x's per-channel means from calibration.
 */
function correctBias(bias: Float32Array, w: Float32Array, q: Int8Array, shape: number[], axis: number | undefined,
  scales: number[], means: Float64Array, opcode: string): void {
  const inC = means.length;
  const outC = bias.length;
  const dw = (k: number): number => {
    const c = axis === undefined ? 0 : opcode === 'DEPTHWISE_CONV_2D' ? k % shape[3]! : Math.floor(k / (w.length / shape[0]!));
    return q[k]! * scales[axis === undefined ? 0 : c]! - w[k]!;
  };
  const shift = new Float64Array(outC);
  if (opcode === 'DEPTHWISE_CONV_2D') {
    // [1, H, W, C*M]: output channel c reads input channel floor(c / M).
    const mult = Math.max(1, Math.round(outC / inC));
    for (let k = 0; k < w.length; k++) { const c = k % outC; shift[c] += dw(k) * means[Math.floor(c / mult)]!; }
  } else {
    // CONV_2D [O, H, W, I] and FULLY_CONNECTED [O, I]: innermost axis is the input channel.
    for (let k = 0; k < w.length; k++) { const o = Math.floor(k / (w.length / outC)); shift[o] += dw(k) * means[k % inC]!; }
  }
  for (let c = 0; c < outC; c++) bias[c] = bias[c]! - shift[c]!;
}

/** Drops buffers no tensor or metadata entry references (the float weights replaced by int8 ones). */
export function compactBuffers(model: TfliteModel): void {
  const used = new Set<number>([0]);
  for (const sg of model.subgraphs) for (const t of sg.tensors) used.add(t.buffer);
  for (const md of model.metadata) used.add(md.buffer);
  for (const b of model.metadataBuffer ?? []) used.add(b);
  const remap = new Map<number, number>();
  const buffers: Uint8Array[] = [];
  model.buffers.forEach((b, i) => {
    if (used.has(i)) { remap.set(i, buffers.length); buffers.push(b); }
  });
  model.buffers = buffers;
  for (const sg of model.subgraphs) for (const t of sg.tensors) t.buffer = remap.get(t.buffer)!;
  for (const md of model.metadata) md.buffer = remap.get(md.buffer)!;
  if (model.metadataBuffer) model.metadataBuffer = model.metadataBuffer.map((b) => remap.get(b)!);
}

export { opLabel };
