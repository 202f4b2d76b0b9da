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
import { OpStepper } from './stepwise.js';
import { exposeTensors, ExposedRunner } from './calibrate.js';
import { refitLayer, refitLayerOf, type RefitLayer } from './refit.js';

/** Float values kept for weight refitting (refit.ts): 48M (192 MB); fewer samples when the inputs are larger. */
const REFIT_FLOATS = 48 * 1024 * 1024;

/** Float tensors whose per-channel means bias correction needs: outputs of weighted ops with a bias. */
export function correctionTargets(floatModel: TfliteModel): number[] {
  const sg = floatModel.subgraphs[0]!;
  const out: number[] = [];
  for (const op of sg.operators) {
    const rule = INT8_RULES[op.opcode];
    if (rule?.kind === 'weighted' && rule.bias !== undefined && op.opcode !== 'TRANSPOSE_CONV' && (op.inputs[rule.bias] ?? -1) >= 0) out.push(op.outputs[0]!);
  }
  return out;
}

/**
 * Corrects the int32 biases of `q.model` in place so that each weighted op's mean output per
 * channel over `samples` matches `floatMeans` (by float tensor index). Returns how many biases changed.
 */
export async function correctBiases(q: QuantizedGraph, floatOps: TfliteModel, samples: Sample[], floatMeans: Map<number, Float64Array>,
  opts: { threads?: number; onProgress?: (done: number, total: number) => void; refit?: boolean } = {}): Promise<number> {
  const fsg = floatOps.subgraphs[0]!;
  const qm = q.model;
  const qsg = qm.subgraphs[0]!;
  // int8 operator index -> (float output tensor, bias tensor in the int8 model)
  const targets = new Map<number, { floatOut: number; bias: number }>();
  const refits = new Map<number, RefitLayer>();
  for (const w of q.weights) {
    const fop = fsg.operators[w.op]!;
    const rule = INT8_RULES[fop.opcode]!;
    const floatOut = fop.outputs[0]!;
    if (!floatMeans.has(floatOut)) continue;
    const qi = qsg.operators.findIndex((o) => o.inputs[rule.weights!] === w.tensor && o.opcode === fop.opcode);
    const bias = qi >= 0 ? qsg.operators[qi]!.inputs[rule.bias!] ?? -1 : -1;
    if (bias < 0 || qsg.tensors[bias]!.dtype !== 'int32') continue;
    targets.set(qi, { floatOut, bias });
    const r = opts.refit === false ? null : refitLayerOf(floatOps, w.op, qi);
    if (r) refits.set(qi, r);
  }
  if (targets.size === 0 || samples.length === 0) return 0;
  const inputs = qsg.inputs.map((i) => qsg.tensors[i]!);
  const feeds = samples.map((sample) => sample.map((d, k) => {
    const qp = inputs[k]!.quantization;
    return feedFor(inputs[k]!.dtype, { scale: qp?.scale[0] ?? 0, zeroPoint: qp?.zeroPoint[0] ?? 0 }, d);
  }));
  // The float inputs of the refitted layers are kept for every sample, within a memory budget.
  const refitInputs = [...new Set([...refits.values()].map((r) => r.floatInput))];
  const perSample = refitInputs.reduce((a, t) => a + fsg.tensors[t]!.shape.reduce((x, y) => x * y, 1), 0);
  const refitSamples = samples.slice(0, Math.max(1, Math.floor(REFIT_FLOATS / Math.max(1, perSample))));
  const floatInputs = await floatValues(floatOps, refitInputs, refitSamples, opts.threads);
  const before = (oi: number, stepper: OpStepper): void => {
    const r = refits.get(oi);
    if (r) refitLayer(qm, r, stepper.values.get(qsg.operators[oi]!.inputs[0]!)!.slice(0, refitSamples.length), floatInputs.get(r.floatInput)!);
  };
  return walkAndCorrect(qm, feeds, new Map([...targets].map(([oi, t]) => [oi, { bias: t.bias, mean: floatMeans.get(t.floatOut)! }])), { ...opts, before });
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
      for (const t of tensors) out.get(t)!.push(Float32Array.from((sg.inputs.includes(t) ? s[sg.inputs.indexOf(t)] : r.get(t)) as Float32Array));
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
  opts: { threads?: number; onProgress?: (done: number, total: number) => void; before?: (oi: number, stepper: OpStepper) => void } = {}): Promise<number> {
  const sg = model.subgraphs[0]!;
  const stepper = new OpStepper(model, feeds, opts.threads);
  let changed = 0;
  const last = Math.max(...targets.keys());
  for (let oi = 0; oi <= last; oi++) {
    opts.before?.(oi, stepper);
    let outs = await stepper.run(oi);
    const t = targets.get(oi);
    if (t && adjustBias(model, t.bias, sg.operators[oi]!.outputs[0]!, outs[0]!, t.mean)) {
      changed++;
      outs = await stepper.run(oi);
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
    for (let j = 0; j < data.length; j++) sums[j % c] += s * ((data as Float32Array)[j]! - z);
    count += data.length / c;
  }
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
