/**
 * Magnitude pruning of a float TFLite model's conv, depthwise, fully connected and transpose-conv
 * weights (Zhu & Gupta 2017, as TF Model Optimization's prune_low_magnitude does it, post-training):
 *
 * - unstructured: the smallest |w| (relative to their output channel's largest) become 0, over all
 *   layers at once (global threshold) or the same share in each layer (`perLayer`); depthwise
 *   layers are kept unless asked. The graph keeps its shape; the zeros compress.
 * - structured: whole output channels of a CONV_2D (smallest L1 norm of their filters) are removed,
 *   and every reader of the channel is rewritten down to the next conv or fully connected layer
 *   (its input channels removed), through depthwise convs, activations, pools and zero-channel pads.
 *   The model really has fewer MACs. What a removed channel still contributed (its activation of
 *   the bias, carried through the path as a constant) is folded into the next layer's bias.
 *
 * The first and last weighted layers are kept unless asked. Tensor indices are kept.
 */
import { ReefError } from '../errors.js';
import type { TfliteModel, TfliteOperator, TfliteSubgraph } from '../model/tflite/ir.js';
import { validateModel } from '../model/tflite/reader.js';
import { bytesOf, cloneModel, constFloat32, consumersOf, isConstantTensor } from '../quantize/graph.js';
import { checkFloatModel, foldConstantDequantize, modelKind } from '../quantize/prepare.js';
import { compactBuffers } from '../quantize/quantize.js';

export interface PruneOptions {
  /** Share of weights (unstructured) or output channels (structured) to remove, in (0, 1). */
  sparsity: number;
  /** Unstructured: the same share in every layer instead of one global threshold. */
  perLayer?: boolean;
  /** Remove whole output channels of conv layers (and the matching inputs of the next layer). */
  structured?: boolean;
  /** Prune the first and last weighted layers too (default: kept). */
  includeFirstLast?: boolean;
  /** Unstructured: prune depthwise layers too (default: kept). */
  includeDepthwise?: boolean;
  /**
   * Structured: which output channels go. 'l1': the smallest L1 norm of their own filter.
   * 'activation': the least output error they cause in the layer that reads them,
   * ||W_reader[:, c]|| x the spread (standard deviation) of channel c where the reader reads it,
   * from `activity` (what a removed channel still carries on average is folded into the reader's
   * bias, so its spread is what is lost).
   */
  criterion?: 'l1' | 'activation';
  /** Per float activation tensor (the model's own indices), the standard deviation of each channel (last axis) on calibration samples. */
  activity?: Map<number, Float64Array>;
  source?: string;
}

export interface PrunedLayer {
  /** Operator index and opcode, and the name of the tensor it writes. */
  op: number;
  opcode: string;
  name: string;
  /** Weight elements after pruning, and how many of them are zero. */
  weights: number;
  zeros: number;
  /** Output channels before and after (structured). */
  channels?: { before: number; after: number };
}

export interface PruneResult {
  model: TfliteModel;
  layers: PrunedLayer[];
  /** Weighted layers left alone, and why. */
  skipped: Array<{ op: number; opcode: string; reason: string }>;
  /** Structured: tensors that lost channels -> the original channel indices they keep (in order). */
  kept: Map<number, number[]>;
}

const WEIGHTED = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'TRANSPOSE_CONV']);
/** Ops a removed channel passes through unchanged (one input carrying it, one output). */
const PASS = new Set(['RELU', 'RELU6', 'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'PAD', 'DEPTHWISE_CONV_2D']);

const act = (op: TfliteOperator): number => {
  const o = op.builtinOptions as { value?: { fusedActivationFunction?: number } } | undefined;
  return o?.value?.fusedActivationFunction ?? 0;
};
const applyAct = (a: number, v: number): number => (a === 1 ? Math.max(0, v) : a === 3 ? Math.min(6, Math.max(0, v)) : a === 2 ? Math.min(1, Math.max(-1, v)) : v);

/**
 * Prunes a float32 TFLite model (float16/int8 weights behind DEQUANTIZE are folded to float32 first).
 * @throws ReefError REEF_MODEL_ALREADY_QUANTIZED / REEF_MODEL_NOT_FLOAT for a model that is not float,
 *   REEF_INVALID_ARGUMENT for a sparsity outside (0, 1).
 * @example
 * const { model, layers } = pruneModel(readTflite(bytes), { sparsity: 0.5 });
 */
export function pruneModel(input: TfliteModel, opts: PruneOptions): PruneResult {
  const source = opts.source ?? 'the model';
  if (!(opts.sparsity > 0 && opts.sparsity < 1)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a number in (0, 1) for --sparsity but received ${opts.sparsity}`);
  }
  checkFloatModel(input, source, 'prune');
  if (modelKind(input) === 'uint8-legacy') {
    throw new ReefError('REEF_MODEL_ALREADY_QUANTIZED', `${source} is already quantized (uint8); reef prune takes a float32 model (prune first, then quantize)`);
  }
  const m = cloneModel(foldConstantDequantize(input).model);
  const sg = m.subgraphs[0]!;
  const weighted: number[] = [];
  const skipped: PruneResult['skipped'] = [];
  sg.operators.forEach((op, oi) => {
    if (!WEIGHTED.has(op.opcode)) return;
    const w = op.inputs[1] ?? -1;
    if (w >= 0 && isConstantTensor(m, sg, w) && sg.tensors[w]!.dtype === 'float32') weighted.push(oi);
    else skipped.push({ op: oi, opcode: op.opcode, reason: 'its weights are not a float32 constant' });
  });
  let eligible = weighted;
  if (!opts.includeFirstLast && weighted.length > 0) {
    const ends = new Set([weighted[0]!, weighted[weighted.length - 1]!]);
    for (const oi of ends) skipped.push({ op: oi, opcode: sg.operators[oi]!.opcode, reason: 'first or last weighted layer (kept; --include-first-last prunes it)' });
    eligible = weighted.filter((oi) => !ends.has(oi));
  }
  if (!opts.structured && !opts.includeDepthwise) {
    for (const oi of eligible) {
      if (sg.operators[oi]!.opcode === 'DEPTHWISE_CONV_2D') skipped.push({ op: oi, opcode: 'DEPTHWISE_CONV_2D', reason: 'depthwise (few weights, each one matters; --include-depthwise prunes it)' });
    }
    eligible = eligible.filter((oi) => sg.operators[oi]!.opcode !== 'DEPTHWISE_CONV_2D');
  }
  const kept: PruneResult['kept'] = new Map();
  if (opts.structured && opts.criterion === 'activation' && !opts.activity) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `${source}: --criterion activation needs calibration samples (--calib) to measure the channels; give some, or use --criterion l1`);
  }
  const layers = opts.structured ? pruneChannels(m, eligible, opts.sparsity, skipped, kept, opts.criterion === 'activation' ? opts.activity! : null) : pruneWeights(m, eligible, opts.sparsity, opts.perLayer ?? false);
  skipped.sort((a, b) => a.op - b.op);
  compactBuffers(m);
  validateModel(m);
  return { model: m, layers, skipped, kept };
}

function layerOf(m: TfliteModel, oi: number, w: Float32Array, channels?: PrunedLayer['channels']): PrunedLayer {
  const sg = m.subgraphs[0]!;
  const op = sg.operators[oi]!;
  let zeros = 0;
  for (let k = 0; k < w.length; k++) if (w[k] === 0) zeros++;
  return { op: oi, opcode: op.opcode, name: sg.tensors[op.outputs[0]!]!.name, weights: w.length, zeros, ...(channels ? { channels } : {}) };
}

function setConst(m: TfliteModel, tensor: number, data: Float32Array | Int32Array, shape?: number[]): void {
  const t = m.subgraphs[0]!.tensors[tensor]!;
  m.buffers.push(bytesOf(data));
  t.buffer = m.buffers.length - 1;
  if (shape) t.shape = shape;
}

/** Output-channel axis of a weighted op's weights. */
const outAxis = (opcode: string): number => (opcode === 'DEPTHWISE_CONV_2D' ? 3 : 0);

/**
 * Unstructured magnitude pruning: zeroes the weights with the smallest |w| relative to the largest
 * of their output channel, globally or per layer. Relative, because folded batch norm leaves
 * channels (and layers) at scales orders of magnitude apart: a raw threshold empties whole
 * small-scale channels, which the next layer may amplify a hundredfold (MobileNet v1 at 10%
 * per layer: agreement with the original 58% raw, 72% relative).
 */
function pruneWeights(m: TfliteModel, ops: number[], sparsity: number, perLayer: boolean): PrunedLayer[] {
  const sg = m.subgraphs[0]!;
  const byTensor = new Map<number, string>();
  for (const oi of ops) byTensor.set(sg.operators[oi]!.inputs[1]!, sg.operators[oi]!.opcode);
  const values = new Map([...byTensor.keys()].map((t) => [t, constFloat32(m, sg.tensors[t]!)]));
  const scores = new Map([...byTensor].map(([t, opcode]) => {
    const w = values.get(t)!;
    const shape = sg.tensors[t]!.shape;
    const axis = outAxis(opcode);
    const n = shape[axis]!;
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const top = new Float64Array(n);
    for (let k = 0; k < w.length; k++) { const c = Math.floor(k / inner) % n; top[c] = Math.max(top[c]!, Math.abs(w[k]!)); }
    return [t, Float32Array.from(w, (v, k) => { const c = Math.floor(k / inner) % n; return top[c]! > 0 ? Math.abs(v) / top[c]! : 0; })];
  }));
  // Zeroes the `count` lowest-scored weights of `ts`: a threshold from a sorted copy, ties cut in order.
  const zeroLowest = (ts: number[], count: number): void => {
    if (count <= 0) return;
    const all = new Float32Array(ts.reduce((a, t) => a + scores.get(t)!.length, 0));
    let o = 0;
    for (const t of ts) { all.set(scores.get(t)!, o); o += scores.get(t)!.length; }
    all.sort();
    const cut = all[count - 1]!;
    let ties = count;
    for (let k = 0; k < all.length && all[k]! < cut; k++) ties--;
    for (const t of ts) {
      const w = values.get(t)!;
      const sc = scores.get(t)!;
      for (let k = 0; k < w.length; k++) {
        if (sc[k]! < cut) w[k] = 0;
        else if (sc[k] === cut && ties > 0) { w[k] = 0; ties--; }
      }
    }
  };
  if (perLayer) for (const t of values.keys()) zeroLowest([t], Math.floor(sparsity * values.get(t)!.length));
  else zeroLowest([...values.keys()], Math.floor(sparsity * [...values.values()].reduce((a, w) => a + w.length, 0)));
  for (const [t, w] of values) setConst(m, t, w);
  return ops.map((oi) => layerOf(m, oi, values.get(sg.operators[oi]!.inputs[1]!)!));
}

/** The ops a channel of `tensor` passes through, and the layer that finally reads it; null with the reason when it cannot be followed. */
function channelPath(m: TfliteModel, sg: TfliteSubgraph, tensor: number, cons: number[][]): { through: number[]; reader: number } | string {
  const through: number[] = [];
  let t = tensor;
  for (;;) {
    if (sg.outputs.includes(t)) return 'its output is a graph output';
    if (cons[t]!.length !== 1) return `its output is read by ${cons[t]!.length} operators`;
    const oi = cons[t]![0]!;
    const op = sg.operators[oi]!;
    if (op.inputs[0] !== t) return `${op.opcode} reads it as a non-data input`;
    if (op.opcode === 'CONV_2D' || op.opcode === 'FULLY_CONNECTED') {
      if (!isConstantTensor(m, sg, op.inputs[1]!) || sg.tensors[op.inputs[1]!]!.dtype !== 'float32') return `${op.opcode} ${oi} has non-constant weights`;
      if (consumersOf(sg)[op.inputs[1]!]!.length !== 1) return `${op.opcode} ${oi} shares its weights`;
      return { through, reader: oi };
    }
    if (!PASS.has(op.opcode)) return `it reaches ${op.opcode} (operator ${oi}), which reef cannot rewrite per channel`;
    if (op.opcode === 'DEPTHWISE_CONV_2D') {
      const o = op.builtinOptions;
      if (o?.type === 'DepthwiseConv2DOptions' && o.value.depthMultiplier > 1) return `depthwise operator ${oi} has a depth multiplier`;
      if (!isConstantTensor(m, sg, op.inputs[1]!) || consumersOf(sg)[op.inputs[1]!]!.length !== 1) return `depthwise operator ${oi} has shared or non-constant weights`;
    }
    if (op.opcode === 'PAD') {
      const p = sg.tensors[op.inputs[1]!]!;
      const b = m.buffers[p.buffer]!;
      const pads = new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      if (pads.length < 2 || pads[pads.length - 1] !== 0 || pads[pads.length - 2] !== 0) return `PAD operator ${oi} pads the channel axis`;
    }
    through.push(oi);
    t = op.outputs[0]!;
  }
}

/** The L2 norm of the weights the reader applies to each of its `c` input channels (its last weight axis). */
function readerColumnNorms(m: TfliteModel, reader: TfliteOperator, c: number): number[] {
  const rt = m.subgraphs[0]!.tensors[reader.inputs[1]!]!;
  const rw = constFloat32(m, rt);
  const sums = new Float64Array(c);
  for (let k = 0; k < rw.length; k++) sums[k % c] += rw[k]! * rw[k]!;
  return Array.from(sums, (x) => Math.sqrt(x));
}

/** Removes entries `drop` along `axis` of a constant of `shape`. */
function dropAlong(w: Float32Array, shape: number[], axis: number, drop: Set<number>): { data: Float32Array; shape: number[] } {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const out: number[] = [];
  for (let k = 0; k < w.length; k++) if (!drop.has(Math.floor(k / inner) % n)) out.push(w[k]!);
  const s = [...shape];
  s[axis] = n - drop.size;
  return { data: Float32Array.from(out), shape: s };
}

/** Structured pruning: output channels of conv layers, with their readers rewritten. */
function pruneChannels(m: TfliteModel, ops: number[], sparsity: number, skipped: PruneResult['skipped'], kept: PruneResult['kept'],
  activity: Map<number, Float64Array> | null): PrunedLayer[] {
  const sg = m.subgraphs[0]!;
  const cons = consumersOf(sg);
  const layers: PrunedLayer[] = [];
  for (const oi of ops) {
    const op = sg.operators[oi]!;
    if (op.opcode !== 'CONV_2D') continue;
    const path = channelPath(m, sg, op.outputs[0]!, cons);
    if (typeof path === 'string') { skipped.push({ op: oi, opcode: op.opcode, reason: path }); continue; }
    const wt = sg.tensors[op.inputs[1]!]!;
    const w = constFloat32(m, wt);
    const c = wt.shape[0]!;
    const readerW = sg.tensors[sg.operators[path.reader]!.inputs[1]!]!;
    if (readerW.shape[readerW.shape.length - 1] !== c) {
      skipped.push({ op: oi, opcode: op.opcode, reason: `${sg.operators[path.reader]!.opcode} ${path.reader} reads it flattened (${readerW.shape[readerW.shape.length - 1]} inputs for ${c} channels)` });
      continue;
    }
    const per = w.length / c;
    const readsAt = path.through.length > 0 ? sg.operators[path.through[path.through.length - 1]!]!.outputs[0]! : op.outputs[0]!;
    const spread = activity?.get(readsAt);
    const norms = spread
      ? readerColumnNorms(m, sg.operators[path.reader]!, c).map((n, i) => [n * spread[i]!, i] as const)
      : Array.from({ length: c }, (_, i) => { let s = 0; for (let k = 0; k < per; k++) s += Math.abs(w[i * per + k]!); return [s, i] as const; });
    const count = Math.min(c - 1, Math.floor(sparsity * c));
    if (count <= 0) { skipped.push({ op: oi, opcode: op.opcode, reason: `${c} channel(s): none to remove at this sparsity` }); continue; }
    const drop = new Set(norms.sort((a, b) => a[0] - b[0]).slice(0, count).map((x) => x[1]));
    const hasBias = (op.inputs[2] ?? -1) >= 0 && isConstantTensor(m, sg, op.inputs[2]!);
    const bias = hasBias ? constFloat32(m, sg.tensors[op.inputs[2]!]!) : new Float32Array(c);
    // What each removed channel still outputs with its weights gone: the activation of its bias,
    // carried along the path as a constant per channel.
    const value = new Map<number, number>([...drop].map((i) => [i, applyAct(act(op), bias[i]!)]));
    const nw = dropAlong(w, wt.shape, 0, drop);
    setConst(m, op.inputs[1]!, nw.data, nw.shape);
    if (hasBias) { const b = dropAlong(bias, [c], 0, drop); setConst(m, op.inputs[2]!, b.data, b.shape); }
    const shrink = (t: number): void => {
      const tt = sg.tensors[t]!;
      kept.set(t, Array.from({ length: c }, (_, i) => i).filter((i) => !drop.has(i)));
      tt.shape = [...tt.shape.slice(0, -1), tt.shape[tt.shape.length - 1]! - drop.size];
      if (tt.shapeSignature) tt.shapeSignature = [...tt.shapeSignature.slice(0, -1), tt.shape[tt.shape.length - 1]!];
    };
    shrink(op.outputs[0]!);
    for (const p of path.through) {
      const pop = sg.operators[p]!;
      if (pop.opcode === 'RELU') for (const [i, v] of value) value.set(i, Math.max(0, v));
      if (pop.opcode === 'RELU6') for (const [i, v] of value) value.set(i, Math.min(6, Math.max(0, v)));
      if (pop.opcode === 'DEPTHWISE_CONV_2D') {
        const dt = sg.tensors[pop.inputs[1]!]!;
        const dw = constFloat32(m, dt);
        const dc = dt.shape[3]!;
        const hasDb = (pop.inputs[2] ?? -1) >= 0 && isConstantTensor(m, sg, pop.inputs[2]!);
        const db = hasDb ? constFloat32(m, sg.tensors[pop.inputs[2]!]!) : new Float32Array(dc);
        for (const [i, v] of value) {
          let sum = 0;
          for (let k = i; k < dw.length; k += dc) sum += dw[k]!;
          value.set(i, applyAct(act(pop), sum * v + db[i]!));
        }
        const nd = dropAlong(dw, dt.shape, 3, drop);
        setConst(m, pop.inputs[1]!, nd.data, nd.shape);
        if (hasDb) { const b = dropAlong(db, [dc], 0, drop); setConst(m, pop.inputs[2]!, b.data, b.shape); }
      }
      shrink(pop.outputs[0]!);
    }
    // The reader: its input channels go, and what they still carried moves into its bias.
    const reader = sg.operators[path.reader]!;
    const rt = sg.tensors[reader.inputs[1]!]!;
    const rw = constFloat32(m, rt);
    const axis = rt.shape.length - 1;
    const rin = rt.shape[axis]!;
    if ((reader.inputs[2] ?? -1) >= 0 && isConstantTensor(m, sg, reader.inputs[2]!)) {
      const rb = constFloat32(m, sg.tensors[reader.inputs[2]!]!);
      const per2 = rw.length / rt.shape[0]!;
      for (let o = 0; o < rt.shape[0]!; o++) {
        for (let k = 0; k < per2; k++) {
          const v = value.get(k % rin);
          if (v !== undefined) rb[o] = rb[o]! + rw[o * per2 + k]! * v;
        }
      }
      setConst(m, reader.inputs[2]!, rb);
    }
    const nr = dropAlong(rw, rt.shape, axis, drop);
    setConst(m, reader.inputs[1]!, nr.data, nr.shape);
    layers.push(layerOf(m, oi, nw.data, { before: c, after: c - drop.size }));
  }
  return layers;
}
