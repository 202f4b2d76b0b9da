/**
 * Calibration: run the float model in reef's own runtime with every activation exposed, and
 * collect each activation's statistics (min/max and a histogram) in one pass over the samples.
 *
 * The TFLite C API reads only graph inputs and outputs, so calibration runs a copy of the model
 * whose outputs are extended with every float activation tensor.
 */
import { ReefError } from '../errors.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { writeTflite } from '../model/tflite/writer.js';
import { load, type Session } from '../runtime/session.js';
import { TYPED_ARRAY_FOR, type TypedArray } from '../types.js';
import { cloneModel, isConstantTensor, producersOf } from './graph.js';
import { TensorHistogram } from './histogram.js';

/** One calibration sample: one typed array per model input, in input order. */
export type Sample = TypedArray[];

export interface CalibrationOptions {
  /** Called after each sample with the count done so far. */
  onProgress?: (done: number) => void;
  /** Histogram bins per side (default 2048). */
  bins?: number;
  threads?: number;
  /** Tensors whose mean per channel (last axis) to collect too, for bias correction. */
  meansOf?: number[];
  /** Also return those means over the first `headSamples` samples only (`headMeans`; with `holdEvery`, fit samples only). */
  headSamples?: number;
  /** Every `holdEvery`-th sample (k % holdEvery === holdEvery - 1) is held out: `fitStats` leave it out. */
  holdEvery?: number;
  /** Tensors whose values to keep (copies) for the first `samples` samples (`kept`), for a later phase that would otherwise run the float model again. */
  keep?: { tensors: number[]; samples: number };
}

export interface CalibrationResult {
  /** Statistics of each activation tensor (graph inputs and every float op output), by tensor index. */
  stats: Map<number, TensorHistogram>;
  /** Mean per channel (last axis) of each tensor in `meansOf`. */
  means: Map<number, Float64Array>;
  /** The same over the first `headSamples` samples (empty when not asked). */
  headMeans: Map<number, Float64Array>;
  /** With `holdEvery`: statistics of the samples not held out (`stats` covers all). */
  fitStats: Map<number, TensorHistogram> | null;
  /** The values of `keep.tensors` on the first `keep.samples` samples. */
  kept: Map<number, Float32Array[]>;
  samples: number;
  ms: number;
}

/** Float activation tensors of subgraph 0: graph inputs and op outputs, in tensor order. */
export function activationTensors(model: TfliteModel, dtypes: readonly string[] = ['float32']): number[] {
  const sg = model.subgraphs[0]!;
  const prod = producersOf(sg);
  const out: number[] = [];
  sg.tensors.forEach((t, i) => {
    if (!dtypes.includes(t.dtype) || isConstantTensor(model, sg, i)) return;
    if (prod[i]! >= 0 || sg.inputs.includes(i)) out.push(i);
  });
  return out;
}

/**
 * A copy of `model` whose outputs are its own outputs followed by `expose` (those not already
 * outputs). Returns the bytes and, for each output position, the tensor index it carries.
 */
export function exposeTensors(model: TfliteModel, expose: number[]): { bytes: Uint8Array; outputTensors: number[] } {
  const m = cloneModel(model);
  const sg = m.subgraphs[0]!;
  const seen = new Set(sg.outputs);
  for (const i of expose) {
    if (!seen.has(i) && !sg.inputs.includes(i)) {
      sg.outputs.push(i);
      seen.add(i);
    }
  }
  // Signatures would list only the original outputs; TFLite uses the subgraph's own lists.
  m.signatureDefs = [];
  return { bytes: writeTflite(m), outputTensors: [...sg.outputs] };
}

/** A session over `bytes` plus output arrays allocated once and reused for every run. */
export class ExposedRunner {
  private constructor(readonly session: Session, readonly outputTensors: number[], private readonly arrays: TypedArray[]) {}

  /** Loads the exposed copy (XNNPACK on, as reef runs models). */
  static async open(bytes: Uint8Array, outputTensors: number[], threads?: number): Promise<ExposedRunner> {
    const session = await load(bytes, { threads, xnnpack: true, spinMicros: 0 });
    const arrays = session.outputs.map((t) => {
      const ctor = TYPED_ARRAY_FOR[t.dtype];
      if (!ctor) throw new ReefError('REEF_OUTPUT_MISMATCH', `tensor "${t.name}" has dtype ${t.dtype}, which reef cannot read back`);
      return new ctor(t.byteLength / ctor.BYTES_PER_ELEMENT);
    });
    return new ExposedRunner(session, outputTensors, arrays);
  }

  /** Runs one sample; the returned map (tensor index -> data) is valid until the next run. */
  async run(sample: Sample): Promise<Map<number, TypedArray>> {
    await this.session.run(sample, { outputs: this.arrays });
    const out = new Map<number, TypedArray>();
    this.outputTensors.forEach((t, k) => out.set(t, this.arrays[k]!));
    return out;
  }

  dispose(): Promise<void> {
    return this.session.dispose();
  }
}

/**
 * Runs every sample through the float model once and collects statistics of every activation.
 * @example
 * const { stats } = await calibrate(floatIr, samples, { onProgress: (n) => bar.update(n) });
 */
export async function calibrate(model: TfliteModel, samples: AsyncIterable<Sample> | Iterable<Sample>, opts: CalibrationOptions = {}): Promise<CalibrationResult> {
  const t0 = performance.now();
  const acts = activationTensors(model);
  const sg = model.subgraphs[0]!;
  const { bytes, outputTensors } = exposeTensors(model, acts);
  const runner = await ExposedRunner.open(bytes, outputTensors, opts.threads);
  const split = opts.holdEvery ?? 0;
  const histograms = (): Map<number, TensorHistogram> => new Map(acts.map((i) => [i, new TensorHistogram(opts.bins)]));
  const fitStats = histograms();
  const heldStats = split > 0 ? histograms() : fitStats;
  const newSums = (): Map<number, { acc: Float64Array; count: number }> => new Map((opts.meansOf ?? []).map((i) => {
    const shape = sg.tensors[i]!.shape;
    return [i, { acc: new Float64Array(shape.length > 0 ? shape[shape.length - 1]! : 1), count: 0 }];
  }));
  const sums = newSums();
  const headSums = newSums();
  const kept = new Map<number, Float32Array[]>((opts.keep?.tensors ?? []).map((t) => [t, []]));
  let n = 0, fitted = 0;
  const addMean = (m: { acc: Float64Array; count: number } | undefined, data: TypedArray): void => {
    if (!m) return;
    const c = m.acc.length;
    for (let k = 0; k < data.length; k++) m.acc[k % c] += (data as Float32Array)[k]!;
    m.count += data.length / c;
  };
  try {
    for await (const sample of samples) {
      const out = await runner.run(sample);
      const held = split > 0 && n % split === split - 1;
      const stats = held ? heldStats : fitStats;
      const head = !held && fitted < (opts.headSamples ?? 0);
      sg.inputs.forEach((ti, k) => stats.get(ti)?.add(sample[k] as ArrayLike<number>));
      for (const [ti, data] of out) {
        const h = stats.get(ti);
        if (!h) continue;
        try {
          h.add(data as ArrayLike<number>);
          addMean(sums.get(ti), data);
          if (head) addMean(headSums.get(ti), data);
        } catch (e) {
          throw new ReefError('REEF_INVALID_ARGUMENT',
            `calibration sample ${n + 1}: tensor ${ti} ('${sg.tensors[ti]!.name}') got a ${(e as Error).message}; check the calibration data and its normalisation`);
        }
      }
      if (n < (opts.keep?.samples ?? 0)) {
        for (const [t, list] of kept) list.push(((sg.inputs.includes(t) ? sample[sg.inputs.indexOf(t)] : out.get(t)) as Float32Array).slice());
      }
      n++;
      if (!held) fitted++;
      opts.onProgress?.(n);
    }
  } finally {
    await runner.dispose();
  }
  if (n === 0) throw new ReefError('REEF_CALIBRATION_INVALID', 'no calibration samples were given');
  const stats = split > 0 ? new Map([...fitStats].map(([i, h]) => [i, h.mergedWith(heldStats.get(i)!)])) : fitStats;
  return {
    stats, fitStats: split > 0 ? fitStats : null, kept, means: meansOf(sums), headMeans: opts.headSamples ? meansOf(headSums) : new Map(),
    samples: n, ms: performance.now() - t0,
  };
}

function meansOf(sums: Map<number, { acc: Float64Array; count: number }>): Map<number, Float64Array> {
  return new Map([...sums].map(([ti, m]) => [ti, m.acc.map((v) => v / Math.max(1, m.count))]));
}
