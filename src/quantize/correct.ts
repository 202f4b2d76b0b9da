/**
 * Empirical bias correction, second step: after the rewrite, run the float and the int8 model on
 * calibration samples, measure each weighted op's mean output error per channel, and fold it into
 * that op's int32 bias. It removes the systematic shifts that rounding leaves in near-constant
 * channels (MobileNet v1 has channels that the next layer amplifies a hundredfold).
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import { exposeTensors, ExposedRunner, type Sample } from './calibrate.js';
import { feedFor } from './evaluate.js';
import { bytesOf, constInt32 } from './graph.js';
import { INT8_RULES } from './ops.js';
import type { QuantizedGraph } from './quantize.js';

interface Target {
  /** Output tensor in the float model and in the int8 model. */
  floatOut: number;
  int8Out: number;
  /** Bias tensor in the int8 model. */
  bias: number;
  channels: number;
}

/**
 * Corrects the int32 biases of `q.model` in place from the mean output error over `samples`.
 * Returns how many biases were changed.
 */
export async function correctBiases(floatModel: TfliteModel, q: QuantizedGraph, samples: Sample[], opts: { threads?: number } = {}): Promise<number> {
  const fsg = floatModel.subgraphs[0]!;
  const qm = q.model;
  const qsg = qm.subgraphs[0]!;
  const targets: Target[] = [];
  for (const w of q.weights) {
    const fop = fsg.operators[w.op]!;
    const rule = INT8_RULES[fop.opcode];
    if (!rule || rule.bias === undefined || fop.opcode === 'TRANSPOSE_CONV') continue;
    const floatOut = fop.outputs[0]!;
    const int8Out = q.int8Of.get(floatOut);
    const qop = qsg.operators.find((o) => o.inputs[rule.weights!] === w.tensor && o.opcode === fop.opcode);
    const bias = qop?.inputs[rule.bias] ?? -1;
    if (int8Out === undefined || bias < 0 || qsg.tensors[bias]!.dtype !== 'int32') continue;
    const shape = fsg.tensors[floatOut]!.shape;
    targets.push({ floatOut, int8Out, bias, channels: shape[shape.length - 1]! });
  }
  if (targets.length === 0 || samples.length === 0) return 0;
  // Float means of every target once; then, in execution order, each layer's int8 mean with the
  // layers before it already corrected (correcting all at once would count upstream shifts twice).
  const floatMeans = await channelMeansOf(floatModel, targets.map((t) => t.floatOut), targets.map((t) => t.channels), samples, opts.threads, false);
  const inputs = qsg.inputs.map((i) => qsg.tensors[i]!);
  const int8Samples = samples.map((sample) => sample.map((d, k) => {
    const t = inputs[k]!;
    const qp = t.quantization;
    return feedFor(t.dtype, { scale: qp?.scale[0] ?? 0, zeroPoint: qp?.zeroPoint[0] ?? 0 }, d);
  }));
  let changed = 0;
  for (let ti = 0; ti < targets.length; ti++) {
    const t = targets[ti]!;
    const [qMean] = await channelMeansOf(qm, [t.int8Out], [t.channels], int8Samples, opts.threads, true);
    const bt = qsg.tensors[t.bias]!;
    const b = constInt32(qm, bt);
    const scales = bt.quantization!.scale;
    let any = false;
    for (let c = 0; c < b.length; c++) {
      const err = qMean![c]! - floatMeans[ti]![c]!;
      const s = scales.length === 1 ? scales[0]! : scales[c]!;
      const delta = Math.round(err / s);
      if (delta !== 0) { b[c] = b[c]! - delta; any = true; }
    }
    if (any) {
      qm.buffers[bt.buffer] = bytesOf(b);
      changed++;
    }
  }
  return changed;
}

/** Per-channel means of `tensors` over `samples` (already in the model's input types; int8 tensors dequantized). */
async function channelMeansOf(model: TfliteModel, tensors: number[], channels: number[], samples: Sample[],
  threads: number | undefined, quantized: boolean): Promise<Float64Array[]> {
  const sg = model.subgraphs[0]!;
  const ex = exposeTensors(model, tensors);
  const runner = await ExposedRunner.open(ex.bytes, ex.outputTensors, threads);
  const sums = channels.map((c) => new Float64Array(c));
  const counts = channels.map(() => 0);
  try {
    for (const sample of samples) {
      const out = await runner.run(sample);
      tensors.forEach((ti, k) => {
        const data = out.get(ti)! as ArrayLike<number>;
        const qp = sg.tensors[ti]!.quantization;
        const s = quantized && qp ? qp.scale[0]! : 1;
        const z = quantized && qp ? qp.zeroPoint[0]! : 0;
        const acc = sums[k]!;
        const c = channels[k]!;
        for (let j = 0; j < data.length; j++) acc[j % c] += s * (data[j]! - z);
        counts[k] += data.length / c;
      });
    }
  } finally {
    await runner.dispose();
  }
  return sums.map((a, k) => a.map((v) => v / Math.max(1, counts[k]!)));
}
