/**
 * Activation equalization into depthwise convolutions: a CONV_2D or DEPTHWISE_CONV_2D whose output
 * only feeds a DEPTHWISE_CONV_2D (depth multiplier 1) gets each output channel c scaled by s_c
 * (its weights and bias), and the depthwise weights of channel c divided by s_c. With per-channel
 * weights both rescalings cost nothing in weight precision, but the shared int8 scale of the
 * activation between them now resolves every channel over the whole range instead of the few
 * channels that reach it (MobileNet v1: most channels of a pointwise output use a few of the 255
 * steps a ReLU6 range of [0, 6] gives them). s_c brings channel c's calibrated maximum to the
 * tensor's; with a fused RELU6 that is at most 6 / max_c, so the scaled layer clips exactly where
 * the original did on every value up to the calibrated maximum (Nagel et al. 2019 rescale by
 * weight ranges instead; with per-channel weights the activation range is what is left).
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import { bytesOf, cloneModel, constFloat32, consumersOf, isConstantTensor } from './graph.js';
import { exposeTensors, ExposedRunner, type Sample } from './calibrate.js';

/** Fused activations, as the TFLite schema numbers them. */
const NONE = 0, RELU = 1, RELU6 = 3;
/** The largest factor one channel is scaled by. */
const MAX_SCALE = 64;

interface Pair {
  producer: number;
  consumer: number;
  tensor: number;
  activation: number;
}

/** Producer/depthwise pairs of `model` that can be equalized. */
export function equalizablePairs(model: TfliteModel): Pair[] {
  const sg = model.subgraphs[0]!;
  const cons = consumersOf(sg);
  const pairs: Pair[] = [];
  sg.operators.forEach((op, oi) => {
    if (op.opcode !== 'CONV_2D' && op.opcode !== 'DEPTHWISE_CONV_2D') return;
    const t = op.outputs[0]!;
    const act = (op.builtinOptions?.value as { fusedActivationFunction?: number } | undefined)?.fusedActivationFunction ?? NONE;
    if (![NONE, RELU, RELU6].includes(act) || sg.outputs.includes(t) || cons[t]!.length !== 1) return;
    if (op.inputs.length < 3 || op.inputs[2]! < 0 || !isConstantTensor(model, sg, op.inputs[1]!) || !isConstantTensor(model, sg, op.inputs[2]!)) return;
    if (sg.tensors[op.inputs[1]!]!.dtype !== 'float32' || sg.tensors[op.inputs[2]!]!.dtype !== 'float32') return;
    const ci = cons[t]![0]!;
    const c = sg.operators[ci]!;
    if (c.opcode !== 'DEPTHWISE_CONV_2D' || c.inputs[0] !== t || !isConstantTensor(model, sg, c.inputs[1]!)) return;
    const dw = sg.tensors[c.inputs[1]!]!;
    const channels = sg.tensors[t]!.shape.at(-1);
    if (dw.dtype !== 'float32' || dw.shape.at(-1) !== channels) return;
    pairs.push({ producer: oi, consumer: ci, tensor: t, activation: act });
  });
  return pairs;
}

export interface Equalized {
  model: TfliteModel;
  /** Pairs rescaled, and the largest factor used. */
  pairs: number;
  maxScale: number;
}

/**
 * Measures each pair's per-channel range on `samples` with the float model and returns a rescaled
 * copy (the input model is not changed).
 */
export async function equalize(model: TfliteModel, samples: Sample[], threads?: number): Promise<Equalized> {
  const pairs = equalizablePairs(model);
  if (pairs.length === 0 || samples.length === 0) return { model, pairs: 0, maxScale: 1 };
  const sg0 = model.subgraphs[0]!;
  const ranges = new Map(pairs.map((p) => {
    const c = sg0.tensors[p.tensor]!.shape.at(-1)!;
    return [p.tensor, { lo: new Float64Array(c), hi: new Float64Array(c) }];
  }));
  const { bytes, outputTensors } = exposeTensors(model, pairs.map((p) => p.tensor));
  const runner = await ExposedRunner.open(bytes, outputTensors, threads);
  try {
    for (const s of samples) {
      const out = await runner.run(s);
      for (const [t, r] of ranges) {
        const d = out.get(t) as Float32Array;
        const c = r.hi.length;
        for (let k = 0; k < d.length; k++) {
          const v = d[k]!, ch = k % c;
          if (v > r.hi[ch]!) r.hi[ch] = v;
          if (v < r.lo[ch]!) r.lo[ch] = v;
        }
      }
    }
  } finally {
    await runner.dispose();
  }
  const m = cloneModel(model);
  const sg = m.subgraphs[0]!;
  let maxScale = 1;
  for (const p of pairs) {
    const r = ranges.get(p.tensor)!;
    const c = r.hi.length;
    const hi = p.activation === RELU6 ? 6 : Math.max(...r.hi);
    const lo = Math.min(...r.lo);
    const scales = Array.from({ length: c }, (_, ch) => {
      let s = MAX_SCALE;
      if (r.hi[ch]! > 0) s = Math.min(s, hi / r.hi[ch]!);
      if (r.lo[ch]! < 0) s = Math.min(s, lo / r.lo[ch]!);
      if (r.hi[ch]! <= 0 && r.lo[ch]! >= 0) s = 1; // a channel that is always 0 stays as it is
      return Math.max(1, s);
    });
    maxScale = Math.max(maxScale, ...scales);
    const prod = sg.operators[p.producer]!;
    scaleChannels(m, prod.inputs[1]!, prod.opcode === 'CONV_2D' ? 0 : 3, scales, false);
    scaleChannels(m, prod.inputs[2]!, 0, scales, false);
    scaleChannels(m, sg.operators[p.consumer]!.inputs[1]!, 3, scales, true);
  }
  return { model: m, pairs: pairs.length, maxScale };
}

/** Multiplies (or divides) channel c of constant tensor `ti` along `axis` by scales[c], into a new buffer. */
function scaleChannels(m: TfliteModel, ti: number, axis: number, scales: number[], divide: boolean): void {
  const sg = m.subgraphs[0]!;
  const t = sg.tensors[ti]!;
  const v = constFloat32(m, t);
  const channels = t.shape[axis]!;
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  for (let k = 0; k < v.length; k++) {
    const s = scales[Math.floor(k / inner) % channels]!;
    v[k] = divide ? v[k]! / s : v[k]! * s;
  }
  m.buffers.push(bytesOf(v));
  sg.tensors[ti] = { ...t, buffer: m.buffers.length - 1 };
}
