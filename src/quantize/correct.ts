/**
 * Empirical bias correction: after the rewrite, each weighted op's mean output error per channel
 * (int8 against float, on the calibration samples) is folded into its int32 bias. It removes the
 * systematic shifts that rounding leaves in near-constant channels (MobileNet v1 has channels that
 * the next layer amplifies a hundredfold).
 *
 * The float means come from the calibration pass. The int8 side walks the graph one operator at a
 * time (stepwise.ts) in execution order, so each layer is measured with the layers before it
 * already corrected (correcting all at once would count upstream shifts twice), and the whole walk
 * costs about one int8 pass plus a second run of each corrected layer.
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import type { TypedArray } from '../types.js';
import type { Sample } from './calibrate.js';
import { feedFor } from './evaluate.js';
import { bytesOf, constFloat32, constInt32 } from './graph.js';
import { INT8_RULES } from './ops.js';
import type { QuantizedGraph } from './quantize.js';
import { OpStepper, sameGraph } from './stepwise.js';
import { exposeTensors, ExposedRunner } from './calibrate.js';
import { refitLayer, refitLayerOf, type RefitLayer } from './refit.js';

/** Float values kept for weight refitting (refit.ts): 48M (192 MB); fewer samples when the inputs are larger. */
const REFIT_FLOATS = 48 * 1024 * 1024;

/** Float tensors whose per-channel means bias correction needs: outputs of weighted ops with a bias. */
export function correctionTargets(floatModel: TfliteModel): number[] {
  const sg = floatModel.subgraphs[0]!;
  return sg.operators.flatMap((op, oi) => (correctionTargetOp(floatModel, oi) ? [op.outputs[0]!] : []));
}

/** True when float operator `oi` is a weighted op with a bias (not TRANSPOSE_CONV): bias correction adjusts it. */
function correctionTargetOp(floatModel: TfliteModel, oi: number): boolean {
  const op = floatModel.subgraphs[0]!.operators[oi]!;
  const rule = INT8_RULES[op.opcode];
  return rule?.kind === 'weighted' && rule.bias !== undefined && op.opcode !== 'TRANSPOSE_CONV' && (op.inputs[rule.bias] ?? -1) >= 0;
}

/**
 * The float tensors the pointwise refit (refit.ts) reads, and how many samples of them are kept
 * within REFIT_FLOATS; the calibration pass keeps them (`keep`) so no float pass runs again.
 */
export function refitInputs(floatModel: TfliteModel, samples: number): { tensors: number[]; samples: number } {
  const sg = floatModel.subgraphs[0]!;
  const tensors = new Set<number>();
  sg.operators.forEach((op, oi) => {
    const r = correctionTargetOp(floatModel, oi) ? refitLayerOf(floatModel, oi, -1) : null;
    if (r) tensors.add(r.floatInput);
  });
  const perSample = [...tensors].reduce((a, t) => a + sg.tensors[t]!.shape.reduce((x, y) => x * y, 1), 0);
  return { tensors: [...tensors], samples: Math.min(samples, Math.max(1, Math.floor(REFIT_FLOATS / Math.max(1, perSample)))) };
}

/** Options of {@link correctBiases}. */
export interface CorrectOptions {
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  /** Refit pointwise convolutions (refit.ts) during the walk (default true). */
  refit?: boolean;
  /** The float values of refitInputs() on the first samples, when the calibration pass kept them. */
  floatInputs?: Map<number, Float32Array[]>;
}

/**
 * Corrects the int32 biases of `q.model` in place so that each weighted op's mean output per
 * channel over `samples` matches `floatMeans` (by float tensor index). Returns how many biases changed.
 */
export async function correctBiases(q: QuantizedGraph, floatOps: TfliteModel, samples: Sample[], floatMeans: Map<number, Float64Array>,
  opts: CorrectOptions = {}): Promise<number> {
  return (await correctBiasesAll([q], floatOps, samples, floatMeans, opts))[0]!;
}

/**
 * {@link correctBiases} for several quantizations of the same float model at once (`--method
 * auto`'s candidates): when their int8 graphs have the same structure they are walked in lockstep,
 * each step one load and one run per batch for all of them. Returns, per graph, how many biases changed.
 */
export async function correctBiasesAll(qs: QuantizedGraph[], floatOps: TfliteModel, samples: Sample[], floatMeans: Map<number, Float64Array>,
  opts: CorrectOptions = {}): Promise<number[]> {
  if (qs.length > 1 && !qs.every((q) => sameGraph(q.model, qs[0]!.model))) {
    const out: number[] = [];
    for (const q of qs) out.push(await correctBiases(q, floatOps, samples, floatMeans, opts));
    return out;
  }
  const fsg = floatOps.subgraphs[0]!;
  const lanes = qs.map((q) => {
    const qsg = q.model.subgraphs[0]!;
    // int8 operator index -> (float output tensor, bias tensor in the int8 model)
    const targets = new Map<number, { bias: number; mean: Float64Array }>();
    const refits = new Map<number, RefitLayer>();
    for (const w of q.weights) {
      const fop = fsg.operators[w.op]!;
      const rule = INT8_RULES[fop.opcode]!;
      const floatOut = fop.outputs[0]!;
      if (!floatMeans.has(floatOut)) continue;
      const qi = qsg.operators.findIndex((o) => o.inputs[rule.weights!] === w.tensor && o.opcode === fop.opcode);
      const bias = qi >= 0 ? qsg.operators[qi]!.inputs[rule.bias!] ?? -1 : -1;
      if (bias < 0 || qsg.tensors[bias]!.dtype !== 'int32') continue;
      targets.set(qi, { bias, mean: floatMeans.get(floatOut)! });
      const r = opts.refit === false ? null : refitLayerOf(floatOps, w.op, qi);
      if (r) refits.set(qi, r);
    }
    const inputs = qsg.inputs.map((i) => qsg.tensors[i]!);
    const feeds = samples.map((sample) => sample.map((d, k) => {
      const qp = inputs[k]!.quantization;
      return feedFor(inputs[k]!.dtype, { scale: qp?.scale[0] ?? 0, zeroPoint: qp?.zeroPoint[0] ?? 0 }, d);
    }));
    return { model: q.model, targets, refits, feeds };
  });
  if (lanes.every((l) => l.targets.size === 0) || samples.length === 0) return qs.map(() => 0);
  // The float inputs of the refitted layers are kept for every sample, within a memory budget.
  const need = refitInputs(floatOps, samples.length);
  const refitSamples = samples.slice(0, need.samples);
  const kept = opts.floatInputs;
  const floatInputs = lanes.every((l) => l.refits.size === 0) ? new Map<number, Float32Array[]>()
    : kept && need.tensors.every((t) => (kept.get(t)?.length ?? 0) >= need.samples) ? kept
      : await floatValues(floatOps, need.tensors, refitSamples, opts.threads);
  const before = async (oi: number, stepper: OpStepper): Promise<void> => {
    for (const [k, l] of lanes.entries()) {
      const r = l.refits.get(oi);
      if (!r) continue;
      const xq = stepper.lanes[k]!.get(l.model.subgraphs[0]!.operators[oi]!.inputs[0]!)!.slice(0, refitSamples.length);
      refitLayer(l.model, r, xq, floatInputs.get(r.floatInput)!.slice(0, refitSamples.length));
    }
  };
  return walkAndCorrectAll(lanes.map((l) => l.model), lanes.map((l) => l.feeds), lanes.map((l) => l.targets), { ...opts, before });
}

/** The float model's values of `tensors` on every sample (copies). */
async function floatValues(model: TfliteModel, tensors: number[], samples: Sample[], threads?: number): Promise<Map<number, Float32Array[]>> {
  const out = new Map<number, Float32Array[]>(tensors.map((t) => [t, []]));
  if (tensors.length === 0) return out;
  const sg = model.subgraphs[0]!;
  const { bytes, outputTensors } = exposeTensors(model, tensors);
  const runner = await ExposedRunner.open(bytes, outputTensors, threads);
  try {
    for (const s of samples) {
      const r = await runner.run(s);
      for (const t of tensors) out.get(t)!.push(((sg.inputs.includes(t) ? s[sg.inputs.indexOf(t)] : r.get(t)) as Float32Array).slice());
    }
  } finally {
    await runner.dispose();
  }
  return out;
}

/**
 * Walks `model` one operator at a time over `feeds`; after each operator in `targets`, folds its
 * mean output error per channel against `mean` into its bias (int32 or float32) and runs it again.
 * Returns how many biases changed.
 */
export async function walkAndCorrect(model: TfliteModel, feeds: Sample[], targets: Map<number, { bias: number; mean: Float64Array }>,
  opts: { threads?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<number> {
  return (await walkAndCorrectAll([model], [feeds], [targets], opts))[0]!;
}

/** {@link walkAndCorrect} for models of the same graph in lockstep (feeds and targets per model). */
async function walkAndCorrectAll(models: TfliteModel[], feeds: Sample[][], targets: Array<Map<number, { bias: number; mean: Float64Array }>>,
  opts: { threads?: number; onProgress?: (done: number, total: number) => void; before?: (oi: number, stepper: OpStepper) => Promise<void> } = {}): Promise<number[]> {
  const stepper = new OpStepper(models, feeds, opts.threads);
  const changed = models.map(() => 0);
  const last = Math.max(...targets.flatMap((t) => [...t.keys()]));
  for (let oi = 0; oi <= last; oi++) {
    await opts.before?.(oi, stepper);
    const outs = await stepper.run(oi);
    const again: number[] = [];
    models.forEach((model, k) => {
      const t = targets[k]!.get(oi);
      if (t && adjustBias(model, t.bias, model.subgraphs[0]!.operators[oi]!.outputs[0]!, outs[k]![0]!, t.mean)) {
        changed[k]!++;
        again.push(k);
      }
    });
    if (again.length > 0) {
      const rerun = await stepper.run(oi, again);
      for (const k of again) outs[k] = rerun[k]!;
    }
    stepper.commit(oi, outs);
    opts.onProgress?.(oi + 1, last + 1);
  }
  return changed;
}

/** Folds the mean error of `out` (int8, per sample) against `floatMean` into the bias; true when it changed. */
function adjustBias(model: TfliteModel, biasIdx: number, outIdx: number, out: TypedArray[], floatMean: Float64Array): boolean {
  const sg = model.subgraphs[0]!;
  const qp = sg.tensors[outIdx]!.quantization;
  const quantized = sg.tensors[outIdx]!.dtype !== 'float32' && (qp?.scale.length ?? 0) > 0;
  const s = quantized ? qp!.scale[0]! : 1;
  const z = quantized ? qp!.zeroPoint[0]! : 0;
  const c = floatMean.length;
  const sums = new Float64Array(c);
  let count = 0;
  for (const data of out) {
    const d = data as Int8Array;
    for (let j = 0; j < d.length; j += c) for (let ch = 0; ch < c; ch++) sums[ch] += d[j + ch]!;
    count += d.length / c;
  }
  // sum of s * (q - z) = s * (sum q - count * z)
  for (let ch = 0; ch < c; ch++) sums[ch] = s * (sums[ch]! - count * z);
  const bt = sg.tensors[biasIdx]!;
  const floatBias = bt.dtype === 'float32';
  const b = floatBias ? constFloat32(model, bt) : constInt32(model, bt);
  const scales = bt.quantization?.scale ?? [1];
  let any = false;
  for (let k = 0; k < b.length; k++) {
    const err = sums[k]! / Math.max(1, count) - floatMean[k]!;
    const delta = floatBias ? err : Math.round(err / (scales.length === 1 ? scales[0]! : scales[k]!));
    if (delta !== 0 && Number.isFinite(delta)) { b[k] = b[k]! - delta; any = true; }
  }
  if (any) model.buffers[bt.buffer] = bytesOf(b);
  return any;
}
