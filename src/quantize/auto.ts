/**
 * `--method auto`: per activation tensor the candidate range with the least expected int8 error
 * (ranges.ts autoRange), then a check of the whole model against every single method: each
 * candidate set of ranges is rewritten, bias-corrected on a head of the calibration samples and
 * scored (the worst output's SQNR against float) on all of them (a whole-model run is cheap; the
 * more samples, the less the choice is noise); the best is kept. So auto is
 * never worse than the best single method on the scoring samples, and says which range each
 * tensor got.
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import { writeTflite } from '../model/tflite/writer.js';
import { exposeTensors, ExposedRunner, type Sample } from './calibrate.js';
import { correctBiasesAll } from './correct.js';
import { feedFor } from './evaluate.js';
import type { TensorHistogram } from './histogram.js';
import type { QuantizedGraph } from './quantize.js';
import { autoRange, chooseRange, SINGLE_METHODS, type Range } from './ranges.js';

/** Calibration samples used to bias-correct each candidate; every calibration sample (up to SCORE_SAMPLES) scores it. */
export const HEAD_SAMPLES = 32;
export const SCORE_SAMPLES = 200;

export interface MethodChoice {
  /** The ranges to quantize with, and the method each tensor's range came from. */
  ranges: Map<number, Range>;
  methods: Map<number, string>;
  /** Each candidate's worst output SQNR (dB) on the scoring samples (after bias correction on the head), best first. */
  candidates: Array<{ method: string; sqnrDb: number }>;
  /** How many calibration samples scored the candidates, and whether they were held out of the candidates' ranges and bias correction. */
  scoredOn: { samples: number; held: boolean };
  chosen: string;
  ms: number;
}

export interface AutoOptions {
  percentile?: number;
  /** Every `holdEvery`-th calibration sample is held out to score the candidates (0: score on every sample). */
  holdEvery: number;
  /** With `holdEvery`: statistics of the other samples (the candidates' ranges come from them). */
  fitStats: Map<number, TensorHistogram> | null;
  biasCorrection: boolean;
  threads?: number;
  /** The model as the user gave it, when `floatModel` was rescaled: candidates are scored against its outputs. */
  reference?: TfliteModel;
  onProgress?: (done: number, total: number) => void;
}

/** Outputs of a model (dequantized to float) on `samples`, fed in the model's input types. */
async function outputsOn(model: TfliteModel, bytes: Uint8Array, samples: Sample[], threads?: number): Promise<Float32Array[][]> {
  const sg = model.subgraphs[0]!;
  const runner = await ExposedRunner.open(bytes, sg.outputs, threads);
  const out: Float32Array[][] = [];
  try {
    for (const s of samples) {
      const feed = sg.inputs.map((ti, k) => {
        const q = sg.tensors[ti]!.quantization;
        return feedFor(sg.tensors[ti]!.dtype, { scale: q?.scale[0] ?? 0, zeroPoint: q?.zeroPoint[0] ?? 0 }, s[k]!);
      });
      const r = await runner.run(feed);
      out.push(sg.outputs.map((ti) => {
        const d = r.get(ti)!;
        const q = sg.tensors[ti]!.quantization;
        if (sg.tensors[ti]!.dtype === 'float32' || !q?.scale.length) return Float32Array.from(d as ArrayLike<number>);
        return Float32Array.from(d as ArrayLike<number>, (v) => q.scale[0]! * (v - q.zeroPoint[0]!));
      }));
    }
  } finally {
    await runner.dispose();
  }
  return out;
}

/** The worst output's SQNR (dB) of `got` against `ref`. */
function worstSqnr(ref: Float32Array[][], got: Float32Array[][]): number {
  let worst = Infinity;
  for (let k = 0; k < (ref[0]?.length ?? 0); k++) {
    let s = 0, n = 0;
    ref.forEach((r, i) => {
      const a = r[k]!, b = got[i]![k]!;
      for (let j = 0; j < a.length; j++) { s += a[j]! * a[j]!; n += (a[j]! - b[j]!) ** 2; }
    });
    worst = Math.min(worst, n === 0 ? Infinity : s === 0 ? -Infinity : 10 * Math.log10(s / n));
  }
  return worst;
}

/**
 * Chooses the ranges for `--method auto`. `build` rewrites the float model with a set of ranges;
 * `headMeans` are the float means of the correction targets over the first HEAD_SAMPLES samples.
 */
export async function chooseAuto(floatModel: TfliteModel, stats: Map<number, TensorHistogram>, samples: Sample[],
  headMeans: Map<number, Float64Array>, build: (ranges: Map<number, Range>) => QuantizedGraph, opts: AutoOptions): Promise<MethodChoice> {
  const t0 = performance.now();
  const held = opts.holdEvery > 0 && opts.fitStats !== null;
  const candidatesFrom = (st: Map<number, TensorHistogram>) => {
    const list: Array<{ method: string; ranges: Map<number, Range>; methods: Map<number, string> }> = [];
    const ranges = new Map<number, Range>();
    const methods = new Map<number, string>();
    for (const [t, h] of st) {
      const a = autoRange(h, opts.percentile);
      ranges.set(t, a.range);
      methods.set(t, a.method);
    }
    list.push({ method: 'auto', ranges, methods });
    for (const m of SINGLE_METHODS) {
      const label = m === 'percentile' ? `percentile ${opts.percentile ?? 99.99}` : m;
      list.push({
        method: label,
        ranges: new Map([...st].map(([t, h]) => [t, chooseRange(h, { method: m, percentile: opts.percentile })])),
        methods: new Map([...st.keys()].map((t) => [t, label])),
      });
    }
    return list;
  };
  // Held out: the candidates' ranges and their bias correction come from the other samples, so the
  // choice is scored on samples none of them saw; the winner is then rebuilt from every sample.
  const candidates = candidatesFrom(held ? opts.fitStats! : stats);
  const isHeld = (k: number): boolean => held && k % opts.holdEvery === opts.holdEvery - 1;
  const head = samples.filter((_, k) => !isHeld(k)).slice(0, HEAD_SAMPLES);
  const score = held ? samples.filter((_, k) => isHeld(k)) : samples.slice(-SCORE_SAMPLES);
  const refModel = opts.reference ?? floatModel;
  const ref = await outputsOn(refModel, exposeTensors(refModel, []).bytes, score, opts.threads);
  // Bias correction changes the ranking (MobileNet v1: mse 10 dB before, 18 dB after), so every
  // candidate is corrected on the head before it is scored.
  // All candidates are corrected in one walk (one load per operator for all of them).
  const graphs = candidates.map((c) => build(c.ranges));
  if (opts.biasCorrection) await correctBiasesAll(graphs, floatModel, head, headMeans, { threads: opts.threads, refit: false });
  const scored = [];
  for (const [k, c] of candidates.entries()) {
    const g = graphs[k]!;
    scored.push({ c, sqnrDb: worstSqnr(ref, await outputsOn(g.model, writeTflite(g.model), score, opts.threads)) });
    opts.onProgress?.(scored.length, candidates.length);
  }
  const best = scored.reduce((a, b) => (b.sqnrDb > a.sqnrDb + 1e-9 ? b : a));
  const win = held ? candidatesFrom(stats).find((c) => c.method === best.c.method)! : best.c;
  return {
    ranges: win.ranges, methods: win.methods, chosen: win.method,
    candidates: scored.map((x) => ({ method: x.c.method, sqnrDb: x.sqnrDb })).sort((a, b) => b.sqnrDb - a.sqnrDb),
    scoredOn: { samples: score.length, held },
    ms: performance.now() - t0,
  };
}
