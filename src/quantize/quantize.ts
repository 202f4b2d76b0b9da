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
import type { TfliteModel, TfliteOperator, TfliteSubgraph, TfliteTensor } from '../model/tflite/ir.js';
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
  /** Operators (indices into the float model's operators) to keep in float although they have an int8 form. */
  keepFloat?: ReadonlySet<number>;
  /** Activation parameters to use as given instead of deriving them from a range (legacy uint8 models). */
  fixedParams?: Map<number, QParams>;
  /** Name of the model in error messages. */
  source?: string;
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
  /** Operators kept in float (--allow-float, --keep-float), as indices into the float model's operators. */
  floatOps: Array<{ index: number; opcode: string; reason: string }>;
  weights: QuantizedWeights[];
}

/** Smallest weight scale: keeps input*weight/output >= 2^-31 (what XNNPACK and TFLite's requantization accept). */
const MIN_REQUANT = 2 ** -31;

type Dtype = 'int8' | 'uint8' | 'float32';

class UnionFind {
  readonly parent: number[];
  constructor(n: number) { this.parent = Array.from({ length: n }, (_, i) => i); }
  find(i: number): number {
    while (this.parent[i] !== i) { this.parent[i] = this.parent[this.parent[i]!]!; i = this.parent[i]!; }
    return i;
  }
  union(a: number, b: number): void { this.parent[this.find(a)] = this.find(b); }
}

/** The model being rewritten (a copy) and its tensors classified once, before any is rewritten. */
interface Graph {
  m: TfliteModel;
  sg: TfliteSubgraph;
  source: string;
  /** Tensor count of the float model; tensors from here on were added by the rewrite. */
  nOrig: number;
  prod: number[];
  cons: number[][];
  /** Float32 activation: a graph input or written by an op. */
  isAct: (i: number) => boolean;
  /** Float32 constant (weights, biases, other constant operands). */
  isFloatConst: (i: number) => boolean;
}

/** Phase 1's answer: the int8 rule of each op (null: the op stays as it is, or in float). */
interface OpPlan {
  rules: Array<OpRule | null>;
  /** Ops without an int8 form (kept in float with allowFloat). */
  unsupported: Array<{ index: number; opcode: string; reason: string }>;
  int8Op: (oi: number) => boolean;
  floatOp: (oi: number) => boolean;
}

/** Phase 2's answer: int8 parameters of every activation (and constant operand) an int8 op touches. */
interface ParamPlan {
  params: Map<number, QParams>;
  /** The range each tensor was quantized to (after same-scale merging and fixed outputs). */
  ranges: Map<number, Range>;
  /** Tensors that need parameters, in the order they were found (the order new tensors are added in). */
  needed: Set<number>;
  /**
   * Inputs of a CONCATENATION/PACK written by a fixed-output op (LOGISTIC, SOFTMAX, ...) whose
   * scale is not the concat's: they are requantized (an int8 -> int8 QUANTIZE) to the concat's
   * parameters instead of pinning the whole concat to the fixed scale.
   */
  requant: Array<{ op: number; pos: number; from: number }>;
}

/** Phase 3's answer: where each activation's int8 and float forms live, and the conversion ops to insert. */
interface Representations {
  int8Of: Map<number, number>;
  floatOf: Map<number, number>;
  /** Producer op index (-1 = graph start) -> QUANTIZE/DEQUANTIZE ops to run right after it. */
  after: Map<number, TfliteOperator[]>;
  /** Operator index -> input position -> the requantized tensor it reads instead. */
  inputOverride: Map<number, Map<number, number>>;
}

/**
 * Rewrites subgraph 0 of a float32 model into full-integer int8, in five phases: which ops
 * become int8 ({@link planOps}), activation parameters ({@link chooseParams}), where each
 * activation's int8/float forms live ({@link placeRepresentations}), constants
 * ({@link quantizeConstants}), operator rewiring ({@link rewireOperators}).
 * @throws ReefError REEF_QUANTIZE_UNSUPPORTED_OP listing every op (and its index) that has no int8
 *   form, unless `allowFloat`.
 * @example
 * const { model } = quantizeGraph(floatIr, { ranges, io: 'int8' });
 * await writeFile('out.tflite', writeTflite(model));
 */
export function quantizeGraph(floatModel: TfliteModel, opts: QuantizeGraphOptions): QuantizedGraph {
  const g = graphOf(floatModel, opts.source ?? 'the model');
  const plan = planOps(g, opts.allowFloat ?? false, opts.keepFloat ?? new Set());
  const p = chooseParams(g, plan, opts.ranges, opts.fixedParams);
  const reps = placeRepresentations(g, plan, p, opts.io ?? 'int8');
  const weights = quantizeConstants(g, plan, p.params, opts.weightScaleSearch ?? true);
  rewireOperators(g, plan, reps);
  compactBuffers(g.m);
  validateModel(g.m);
  return { model: g.m, int8Of: reps.int8Of, params: p.params, ranges: p.ranges, floatOps: plan.unsupported, weights };
}

function graphOf(floatModel: TfliteModel, source: string): Graph {
  const m = cloneModel(floatModel);
  const sg = m.subgraphs[0]!;
  const prod = producersOf(sg);
  const acts = new Set<number>();
  const consts = new Set<number>();
  sg.tensors.forEach((t, i) => {
    if (t.dtype !== 'float32') return;
    if (isConstantTensor(m, sg, i)) consts.add(i);
    else if (prod[i]! >= 0 || sg.inputs.includes(i)) acts.add(i);
  });
  return {
    m, sg, source, nOrig: sg.tensors.length, prod, cons: consumersOf(sg),
    isAct: (i) => acts.has(i), isFloatConst: (i) => consts.has(i),
  };
}

/** Data positions of an int8 op: float inputs that carry values (not weights/bias). */
function dataPositions(sg: TfliteSubgraph, op: TfliteOperator, rule: OpRule): number[] {
  if (rule.kind === 'weighted') return [rule.activation!];
  const all = op.inputs.map((_, k) => k);
  return (rule.dataInputs ?? all).filter((k) => k < op.inputs.length && op.inputs[k]! >= 0 && sg.tensors[op.inputs[k]!]!.dtype === 'float32');
}

/** Min and max of a float constant. */
function constRange(g: Graph, i: number): Range {
  const v = constFloat32(g.m, g.sg.tensors[i]!);
  let lo = Infinity, hi = -Infinity;
  for (let k = 0; k < v.length; k++) { lo = Math.min(lo, v[k]!); hi = Math.max(hi, v[k]!); }
  return v.length ? [lo, hi] : [0, 0];
}

/** Phase 1: which ops become int8, and why the others cannot (an error unless `allowFloat`); `keep` stay float as asked. */
function planOps(g: Graph, allowFloat: boolean, keep: ReadonlySet<number>): OpPlan {
  const { sg, isAct, isFloatConst } = g;
  const rules: Array<OpRule | null> = [];
  const unsupported: OpPlan['unsupported'] = [];
  const kept = new Set<number>();
  sg.operators.forEach((op, oi) => {
    const touchesFloat = [...op.inputs, ...op.outputs].some((i) => isAct(i)) || op.inputs.some(isFloatConst);
    if (!touchesFloat) { rules.push(null); return; }
    const rule = INT8_RULES[op.opcode];
    let reason = rule ? '' : unsupportedReason(op.opcode);
    if (op.opcode === 'CUSTOM') reason = `custom op ${op.customCode ?? ''} has no int8 form reef knows`;
    if (rule?.kind === 'weighted' && !isFloatConst(op.inputs[rule.weights!] ?? -1)) reason = 'its weights are not a float32 constant';
    if (rule?.kind === 'weighted' && !isAct(op.inputs[rule.activation!] ?? -1)) reason = 'its data input is not a float32 activation';
    if (op.outputs.some((i) => i >= 0 && !isAct(i) && sg.tensors[i]!.dtype !== 'float32')) reason = `it writes ${op.outputs.map((i) => sg.tensors[i]!.dtype).join(', ')}`;
    if (keep.has(oi)) {
      kept.add(oi);
      unsupported.push({ index: oi, opcode: op.customCode ?? op.opcode, reason: 'kept in float as asked (--keep-float)' });
      rules.push(null);
    } else if (reason) {
      unsupported.push({ index: oi, opcode: op.customCode ?? op.opcode, reason });
      rules.push(null);
    } else {
      rules.push(rule!);
    }
  });
  const cannot = unsupported.filter((u) => !kept.has(u.index));
  if (cannot.length > 0 && !allowFloat) {
    const list = cannot.map((u) => `  operator ${u.index} (${u.opcode}): ${u.reason}`).join('\n');
    throw new ReefError('REEF_QUANTIZE_UNSUPPORTED_OP',
      `${g.source}: ${cannot.length} operator${cannot.length === 1 ? '' : 's'} cannot be quantized to int8:\n${list}\n` +
      'Use --allow-float to keep them in float between DEQUANTIZE/QUANTIZE (such a model will not map fully to the Edge TPU).');
  }
  const float = new Set(unsupported.map((u) => u.index));
  return {
    rules, unsupported,
    int8Op: (oi) => rules[oi] !== null && rules[oi] !== undefined,
    floatOp: (oi) => rules[oi] === null && float.has(oi),
  };
}

/**
 * Phase 2: int8 parameters. Same-scale ops join their tensors into one group (the union of their
 * ranges); fixed-output ops and `fixedParams` pin a group; every other tensor gets its range.
 */
function chooseParams(g: Graph, plan: OpPlan, ranges: Map<number, Range>, fixedParams: Map<number, QParams> | undefined): ParamPlan {
  const { sg, cons, isAct, isFloatConst } = g;
  const uf = new UnionFind(g.nOrig);
  const fixed = new Map<number, QParams>();
  sg.operators.forEach((op, oi) => {
    if (plan.rules[oi]?.kind === 'fixed') for (const o of op.outputs) fixed.set(o, plan.rules[oi]!.fixed!);
  });
  const requant: ParamPlan['requant'] = [];
  sg.operators.forEach((op, oi) => {
    const rule = plan.rules[oi];
    if (rule?.kind !== 'same') return;
    let positions = dataPositions(sg, op, rule);
    if ((op.opcode === 'CONCATENATION' || op.opcode === 'PACK') && positions.length > 1) {
      // A fixed-scale input joins the concat's group only when every input has that same fixed scale.
      const fx = positions.map((k) => fixed.get(op.inputs[k]!));
      const allSame = fx.every((f) => f && f.scale === fx[0]!.scale && f.zeroPoint === fx[0]!.zeroPoint);
      if (!allSame) {
        for (const k of positions) if (fixed.has(op.inputs[k]!)) requant.push({ op: oi, pos: k, from: op.inputs[k]! });
        positions = positions.filter((k) => !fixed.has(op.inputs[k]!));
      }
    }
    const members = [...positions.map((k) => op.inputs[k]!), ...op.outputs.filter((i) => i >= 0)];
    for (let k = 1; k < members.length; k++) uf.union(members[0]!, members[k]!);
  });
  for (const [t, p] of fixedParams ?? []) fixed.set(t, p);
  const needed = new Set<number>();
  sg.operators.forEach((op, oi) => {
    const rule = plan.rules[oi];
    if (rule) {
      for (const k of dataPositions(sg, op, rule)) needed.add(op.inputs[k]!);
      for (const o of op.outputs) if (o >= 0) needed.add(o);
    } else if (plan.floatOp(oi)) {
      for (const o of op.outputs) if (isAct(o) && cons[o]!.some(plan.int8Op)) needed.add(o);
    }
  });
  const groupRange = new Map<number, Range>();
  const groupFixed = new Map<number, QParams>();
  for (const i of needed) {
    const grp = uf.find(i);
    const f = fixed.get(i);
    if (f && !groupFixed.has(grp)) groupFixed.set(grp, f);
    let r: Range | undefined;
    if (isAct(i)) {
      r = ranges.get(i);
      if (!r && !f) throw new ReefError('REEF_INVALID_STATE', `${g.source}: no calibration range for tensor ${i} ('${sg.tensors[i]!.name}')`);
    } else if (isFloatConst(i)) {
      r = constRange(g, i);
    }
    if (r) {
      const cur = groupRange.get(grp);
      groupRange.set(grp, cur ? [Math.min(cur[0], r[0]), Math.max(cur[1], r[1])] : [r[0], r[1]]);
    }
  }
  // A requantized input's range still belongs to the concat's.
  for (const r of requant) {
    const grp = uf.find(sg.operators[r.op]!.outputs[0]!);
    const f = fixed.get(r.from)!;
    const [lo, hi] = ranges.get(r.from) ?? [f.scale * (-128 - f.zeroPoint), f.scale * (127 - f.zeroPoint)];
    const cur = groupRange.get(grp) ?? [lo, hi];
    groupRange.set(grp, [Math.min(cur[0], lo), Math.max(cur[1], hi)]);
  }
  const params = new Map<number, QParams>();
  const chosen = new Map<number, Range>();
  for (const i of needed) {
    const grp = uf.find(i);
    const r = groupRange.get(grp);
    const p = groupFixed.get(grp) ?? rangeToParams(r![0], r![1]);
    params.set(i, p);
    chosen.set(i, [p.scale * (-128 - p.zeroPoint), p.scale * (127 - p.zeroPoint)]);
  }
  return { params, ranges: chosen, needed, requant };
}

/** Appends a tensor shaped like `from` (a second representation of it). */
function addTwin(sg: TfliteSubgraph, from: number, dtype: Dtype, suffix: string, p?: QParams): number {
  const base = sg.tensors[from]!;
  const t: TfliteTensor = { name: `${base.name}${suffix}`, dtype, shape: [...base.shape], buffer: 0, isVariable: false, hasRank: base.hasRank };
  if (base.shapeSignature) t.shapeSignature = [...base.shapeSignature];
  if (p) t.quantization = { scale: [p.scale], zeroPoint: [p.zeroPoint], quantizedDimension: 0 };
  sg.tensors.push(t);
  return sg.tensors.length - 1;
}

function setType(sg: TfliteSubgraph, i: number, dtype: Dtype, p?: QParams): void {
  const t = sg.tensors[i]!;
  t.dtype = dtype;
  if (p) t.quantization = { scale: [p.scale], zeroPoint: [p.zeroPoint], quantizedDimension: 0 };
  else delete t.quantization;
}

const convOp = (opcode: 'QUANTIZE' | 'DEQUANTIZE', from: number, to: number): TfliteOperator =>
  ({ opcode, version: EDGE_OP_VERSION[opcode], inputs: [from], outputs: [to], customOptionsFormat: 0 });

/**
 * Phase 3: where each activation's int8 and float forms live. Graph edges take the `io` type
 * (with a QUANTIZE/DEQUANTIZE beside them when it is not int8); a tensor produced in float gets
 * an int8 copy after its producer; a float op reading an int8 tensor gets a float view.
 */
function placeRepresentations(g: Graph, plan: OpPlan, p: ParamPlan, io: IoType): Representations {
  const { sg, prod, cons, isAct } = g;
  const int8Of = new Map<number, number>();
  const floatOf = new Map<number, number>();
  const after = new Map<number, TfliteOperator[]>();
  const emit = (producer: number, op: TfliteOperator): void => {
    const list = after.get(producer) ?? [];
    list.push(op);
    after.set(producer, list);
  };
  const isEdge = (i: number): boolean => sg.inputs.includes(i) || sg.outputs.includes(i);
  for (const i of p.needed) {
    if (!isAct(i)) continue;
    const q = p.params.get(i)!;
    const producer = prod[i]!;
    const byInt8 = producer >= 0 ? plan.int8Op(producer) : cons[i]!.some(plan.int8Op);
    if (!byInt8) {
      // Produced in float (a float op, or a graph input read only by float ops): int8 copy after it.
      floatOf.set(i, i);
      const j = addTwin(sg, i, 'int8', '_int8', q);
      int8Of.set(i, j);
      emit(producer, convOp('QUANTIZE', i, j));
      continue;
    }
    const edgeType = isEdge(i) ? io : 'int8';
    if (edgeType === 'int8') {
      setType(sg, i, 'int8', q);
      int8Of.set(i, i);
      continue;
    }
    const j = addTwin(sg, i, 'int8', '_int8', q);
    int8Of.set(i, j);
    if (edgeType === 'float') setType(sg, i, 'float32');
    else setType(sg, i, 'uint8', { scale: q.scale, zeroPoint: q.zeroPoint + 128 });
    if (producer < 0) emit(-1, convOp('QUANTIZE', i, j));
    else emit(producer, edgeType === 'float' ? convOp('DEQUANTIZE', j, i) : convOp('QUANTIZE', j, i));
    if (edgeType === 'float') floatOf.set(i, i);
  }
  sg.operators.forEach((op, oi) => {
    if (!plan.floatOp(oi)) return;
    for (const i of op.inputs) {
      if (!isAct(i) || floatOf.has(i)) continue;
      if (!int8Of.has(i)) { floatOf.set(i, i); continue; }
      const j = addTwin(sg, i, 'float32', '_float');
      floatOf.set(i, j);
      emit(prod[i]!, convOp('DEQUANTIZE', int8Of.get(i)!, j));
    }
  });
  const inputOverride = new Map<number, Map<number, number>>();
  for (const r of p.requant) {
    const q = p.params.get(sg.operators[r.op]!.outputs[0]!)!;
    const j = addTwin(sg, r.from, 'int8', '_requant', q);
    emit(prod[r.from]!, convOp('QUANTIZE', int8Of.get(r.from)!, j));
    const m = inputOverride.get(r.op) ?? new Map<number, number>();
    m.set(r.pos, j);
    inputOverride.set(r.op, m);
  }
  return { int8Of, floatOf, after, inputOverride };
}

/**
 * Phase 4: constants. Weights become int8 symmetric (per channel where the rule has an axis),
 * biases int32 at input scale x weight scale, other float constants read by int8 ops per-tensor
 * int8. A constant read once is rewritten in place; a shared one gets a copy per use.
 */
function quantizeConstants(g: Graph, plan: OpPlan, params: Map<number, QParams>, scaleSearch: boolean): QuantizedWeights[] {
  const { m, sg, cons, isFloatConst } = g;
  const claimed = new Set<number>();
  const target = (i: number): number => {
    if (!claimed.has(i) && cons[i]!.length === 1) { claimed.add(i); return i; }
    const base = sg.tensors[i]!;
    sg.tensors.push({ ...base, shape: [...base.shape], name: base.name });
    return sg.tensors.length - 1;
  };
  const put = (t: number, dtype: 'int8' | 'int32', data: Int8Array | Int32Array, scales: number[], zeroPoints: number[], axis: number): void => {
    m.buffers.push(bytesOf(data));
    const tensor = sg.tensors[t]!;
    tensor.dtype = dtype;
    tensor.buffer = m.buffers.length - 1;
    tensor.quantization = { scale: scales, zeroPoint: zeroPoints, quantizedDimension: axis };
  };
  const weights: QuantizedWeights[] = [];
  sg.operators.forEach((op, oi) => {
    const rule = plan.rules[oi];
    if (!rule) return;
    if (rule.kind === 'weighted') {
      const sIn = params.get(op.inputs[rule.activation!]!)!.scale;
      const sOut = params.get(op.outputs[0]!)!.scale;
      const wIdx = op.inputs[rule.weights!]!;
      const wt = sg.tensors[wIdx]!;
      const w = constFloat32(m, wt);
      const bIdx = rule.bias !== undefined ? op.inputs[rule.bias] ?? -1 : -1;
      const bias = bIdx >= 0 && isFloatConst(bIdx) ? constFloat32(m, sg.tensors[bIdx]!) : null;
      const scales = weightScales(w, wt.shape, rule.axis, bias, sIn, sOut);
      if (scaleSearch) refineScalesCached(m.buffers[wt.buffer]!, w, wt.shape, rule.axis, scales);
      const wTarget = target(wIdx);
      put(wTarget, 'int8', quantizeSymmetric(w, wt.shape, rule.axis, scales), scales, scales.map(() => 0), rule.axis ?? 0);
      op.inputs[rule.weights!] = wTarget;
      weights.push({ tensor: wTarget, op: oi, opcode: op.opcode, channels: scales.length, axis: rule.axis ?? null });
      if (bias) {
        const bScales = scales.map((s) => s * sIn);
        const bTarget = target(bIdx);
        put(bTarget, 'int32', quantizeBias(bias, bScales), bScales, bScales.map(() => 0), 0);
        op.inputs[rule.bias!] = bTarget;
      }
    }
    // Other float constants read by this op: per-tensor int8 with their group's (or own) parameters.
    op.inputs.forEach((i, k) => {
      if (!isFloatConst(i)) return;
      if (rule.kind === 'weighted' && (k === rule.weights || k === rule.bias)) return;
      const p = params.get(i) ?? (() => { const r = constRange(g, i); return rangeToParams(r[0], r[1]); })();
      const t = target(i);
      put(t, 'int8', quantizeInt8(constFloat32(m, sg.tensors[i]!), p), [p.scale], [p.zeroPoint], 0);
      op.inputs[k] = t;
    });
  });
  return weights;
}

/**
 * Per-channel weight scales: max|w|/127, at least the smallest scale requantization accepts, and
 * large enough that the int32 bias (at input scale x weight scale) fits in half the int32 range.
 */
function weightScales(w: Float32Array, shape: number[], axis: number | undefined, bias: Float32Array | null, sIn: number, sOut: number): number[] {
  const floor = (MIN_REQUANT * 4 * sOut) / sIn;
  const biasMax = bias && axis === undefined ? bias.reduce((a, v) => Math.max(a, Math.abs(v)), 0) : 0;
  return channelMaxAbs(w, shape, axis).map((a, c) => {
    let s = Math.max(a / 127, floor);
    if (a === 0) s = Math.max(s, 1 / 127);
    if (bias) {
      const b = axis === undefined ? biasMax : Math.abs(bias[c] ?? 0);
      const need = b / (sIn * (INT32_MAX / 2));
      if (need > s) s = need;
    }
    return s;
  });
}

/** Phase 5: operators read and write the right representation, get their int8 versions, and the conversion ops go in place. */
function rewireOperators(g: Graph, plan: OpPlan, reps: Representations): void {
  const { sg } = g;
  const { int8Of, floatOf, after } = reps;
  const ops: TfliteOperator[] = [...(after.get(-1) ?? [])];
  sg.operators.forEach((op, oi) => {
    const rule = plan.rules[oi];
    if (rule) {
      const override = reps.inputOverride.get(oi);
      op.inputs = op.inputs.map((i, k) => override?.get(k) ?? (i >= 0 && int8Of.has(i) ? int8Of.get(i)! : i));
      op.outputs = op.outputs.map((i) => (i >= 0 && int8Of.has(i) ? int8Of.get(i)! : i));
      let version = rule.version(op, sg);
      if (op.opcode === 'MUL') {
        const [a, b] = [op.inputs[0]!, op.inputs[1]!].map((i) => sg.tensors[i]!.quantization?.scale[0] ?? 0);
        const o = sg.tensors[op.outputs[0]!]!.quantization?.scale[0] ?? 0;
        if (a && b && o && (a * b) / o >= 1) version = 3;
      }
      op.version = Math.max(op.version, version);
    } else if (plan.floatOp(oi)) {
      op.inputs = op.inputs.map((i) => (i >= 0 && floatOf.has(i) ? floatOf.get(i)! : i));
    }
    ops.push(op, ...(after.get(oi) ?? []));
  });
  sg.operators = ops;
}

/**
 * The weight-scale search depends only on the weights and the starting scales, not on the
 * activation ranges: `--method auto` rewrites the same model once per candidate, so results are
 * kept per weight buffer (the float model's buffers are shared by every rewrite of it).
 */
const refined = new WeakMap<Uint8Array, Map<string, number[]>>();
function refineScalesCached(buffer: Uint8Array, w: Float32Array, shape: number[], axis: number | undefined, scales: number[]): void {
  let byStart = refined.get(buffer);
  if (!byStart) { byStart = new Map(); refined.set(buffer, byStart); }
  const key = `${axis}:${scales.join(',')}`;
  const hit = byStart.get(key);
  if (hit) { scales.splice(0, scales.length, ...hit); return; }
  refineScales(w, shape, axis, scales);
  byStart.set(key, [...scales]);
}

/**
 * Per channel, tries scales from max|w|/127 down to 0.8 of it and keeps the one with the least
 * squared error (clipping the largest weights a little can round the rest better).
 */
export function refineScales(w: Float32Array, shape: number[], axis: number | undefined, scales: number[]): void {
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
