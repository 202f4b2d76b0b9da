/**
 * Measuring what quantization cost: the float model and the int8 model run side by side on held
 * samples with every activation exposed; per-tensor SQNR of the dequantized int8 activations
 * against the float ones, output SQNR, top-1 agreement, and accuracy when labels are given.
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import { ReefError } from '../errors.js';
import type { TypedArray } from '../types.js';
import { activationTensors, exposeTensors, ExposedRunner, type Sample } from './calibrate.js';

export interface TensorError {
  /** Tensor index in the float model. */
  tensor: number;
  /** Signal and noise energy summed over all samples. */
  signal: number;
  noise: number;
  /** 10*log10(signal/noise); Infinity when exact. */
  sqnrDb: number;
}

export interface EvaluationResult {
  samples: number;
  /** Per activation of the float model that has an int8 form. */
  tensors: Map<number, TensorError>;
  /** Per graph output (float tensor index). */
  outputs: TensorError[];
  /** Share of samples where the top-1 class of output 0 agrees (classifier outputs only). */
  top1Agreement: number | null;
  /** Top-1 accuracy of float and int8 when labels were given (classifier outputs only). */
  accuracy: { float: number; int8: number; labelled: number } | null;
  ms: number;
}

/** A labelled sample for evaluation: `label` is the expected class index of output 0, or undefined. */
export interface EvalSample {
  inputs: Sample;
  label?: number;
}

function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** Quantizes a float sample for an int8/uint8 input; passes it through for float inputs. */
export function feedFor(dtype: string, q: { scale: number; zeroPoint: number }, data: TypedArray): TypedArray {
  if (dtype === 'float32') return data;
  const [lo, hi] = dtype === 'uint8' ? [0, 255] : [-128, 127];
  const out = dtype === 'uint8' ? new Uint8Array(data.length) : new Int8Array(data.length);
  const inv = 1 / q.scale;
  for (let i = 0; i < data.length; i++) {
    const x = (data as Float32Array)[i]! * inv;
    const r = Math.sign(x) * Math.round(Math.abs(x)) + q.zeroPoint;
    out[i] = r < lo ? lo : r > hi ? hi : r;
  }
  return out;
}

const sqnr = (signal: number, noise: number): number =>
  noise === 0 ? Infinity : signal === 0 ? -Infinity : 10 * Math.log10(signal / noise);

/**
 * Runs both models on `samples` and measures the int8 model's error against the float one.
 * `int8Of` maps float tensor indices to the int8 tensors carrying them (from quantizeGraph).
 */
export async function evaluate(
  floatModel: TfliteModel, int8Model: TfliteModel, int8Of: Map<number, number>,
  samples: Iterable<EvalSample> | AsyncIterable<EvalSample>,
  opts: { threads?: number; onProgress?: (done: number) => void; reference?: TfliteModel } = {},
): Promise<EvaluationResult> {
  const t0 = performance.now();
  const fsg = floatModel.subgraphs[0]!;
  const qsg = int8Model.subgraphs[0]!;
  const acts = activationTensors(floatModel).filter((i) => int8Of.has(i));
  const f = exposeTensors(floatModel, acts);
  const q = exposeTensors(int8Model, acts.map((i) => int8Of.get(i)!));
  const fr = await ExposedRunner.open(f.bytes, f.outputTensors, opts.threads);
  let qr: ExposedRunner;
  // Outputs, top-1 and accuracy are measured against `reference` (the model as the user gave it)
  // when the float model was rescaled before quantizing; per-layer errors against the rescaled one.
  let rr: ExposedRunner | null = null;
  try {
    qr = await ExposedRunner.open(q.bytes, q.outputTensors, opts.threads);
    if (opts.reference) rr = await ExposedRunner.open(exposeTensors(opts.reference, []).bytes, opts.reference.subgraphs[0]!.outputs, opts.threads);
  } catch (e) {
    await fr.dispose();
    await qr!?.dispose();
    throw e;
  }
  const acc = new Map<number, { s: number; n: number }>();
  for (const i of acts) acc.set(i, { s: 0, n: 0 });
  const outAcc = fsg.outputs.map(() => ({ s: 0, n: 0 }));
  const classifier = (() => {
    const t = fsg.tensors[fsg.outputs[0]!]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    return n > 1 && t.shape.length >= 1 && t.shape[t.shape.length - 1] === n;
  })();
  let agree = 0, hitsF = 0, hitsQ = 0, labelled = 0, count = 0;
  const deq = (ti: number, data: TypedArray, k: number): number => {
    const t = qsg.tensors[ti]!;
    const v = (data as Int8Array)[k]!;
    const qp = t.quantization;
    return qp && qp.scale.length ? qp.scale[0]! * (v - qp.zeroPoint[0]!) : v;
  };
  const addErr = (a: { s: number; n: number }, fd: TypedArray, qi: number, qd: TypedArray): void => {
    for (let k = 0; k < fd.length; k++) {
      const x = (fd as Float32Array)[k]!;
      const d = x - deq(qi, qd, k);
      a.s += x * x;
      a.n += d * d;
    }
  };
  try {
    for await (const sample of samples) {
      const fo = await fr.run(sample.inputs);
      const ro = rr ? await rr.run(sample.inputs) : fo;
      const refOut = (k: number): TypedArray => (rr ? ro.get(opts.reference!.subgraphs[0]!.outputs[k]!)! : fo.get(fsg.outputs[k]!)!);
      const qfeed = sample.inputs.map((d, k) => {
        const info = qr.session.inputs[k]!;
        return feedFor(info.dtype, info.quantization, d);
      });
      const qo = await qr.run(qfeed);
      for (const i of acts) {
        const fd = fsg.inputs.includes(i) ? sample.inputs[fsg.inputs.indexOf(i)]! : fo.get(i)!;
        const qi = int8Of.get(i)!;
        const qd = qsg.inputs.includes(qi) ? qfeed[qsg.inputs.indexOf(qi)]! : qo.get(qi)!;
        addErr(acc.get(i)!, fd, qi, qd);
      }
      fsg.outputs.forEach((_, k) => {
        const qo2 = qsg.outputs[k]!;
        addErr(outAcc[k]!, refOut(k), qo2, qo.get(qo2)!);
      });
      if (classifier) {
        const qo0 = qsg.outputs[0]!;
        const fd = refOut(0);
        const qd = qo.get(qo0)!;
        const a = argmax(fd as Float32Array);
        const qv = Float32Array.from({ length: qd.length }, (_, k) => deq(qo0, qd, k));
        const b = argmax(qv);
        if (a === b) agree++;
        if (sample.label !== undefined) {
          labelled++;
          if (a === sample.label) hitsF++;
          if (b === sample.label) hitsQ++;
        }
      }
      count++;
      opts.onProgress?.(count);
    }
  } finally {
    await fr.dispose();
    await qr.dispose();
    await rr?.dispose();
  }
  if (count === 0) throw new ReefError('REEF_INVALID_ARGUMENT', 'no samples to evaluate on');
  const tensors = new Map<number, TensorError>();
  for (const [i, a] of acc) tensors.set(i, { tensor: i, signal: a.s, noise: a.n, sqnrDb: sqnr(a.s, a.n) });
  return {
    samples: count,
    tensors,
    outputs: fsg.outputs.map((o, k) => ({ tensor: o, signal: outAcc[k]!.s, noise: outAcc[k]!.n, sqnrDb: sqnr(outAcc[k]!.s, outAcc[k]!.n) })),
    top1Agreement: classifier ? agree / count : null,
    accuracy: classifier && labelled > 0 ? { float: hitsF / labelled, int8: hitsQ / labelled, labelled } : null,
    ms: performance.now() - t0,
  };
}
