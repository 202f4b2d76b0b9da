/**
 * `quantizeTflite`: the whole post-training quantization of a TFLite model, from bytes to bytes
 * plus a report: prepare (fold constant DEQUANTIZE; legacy uint8 models are dequantized), calibrate,
 * choose ranges, rewrite to int8, correct biases, evaluate on held samples.
 */
import { ReefError } from '../errors.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { readTflite } from '../model/tflite/reader.js';
import { writeTflite } from '../model/tflite/writer.js';
import { calibrate, type Sample } from './calibrate.js';
import { correctBiases, correctionTargets, refitInputs } from './correct.js';
import { evaluate, type EvalSample, type EvaluationResult } from './evaluate.js';
import { checkFloatModel, foldConstantDequantize, modelKind } from './prepare.js';
import { legacyToFloat } from './requantize-uint8.js';
import { chooseRange, type Range, type RangeMethod } from './ranges.js';
import { chooseAuto, HEAD_SAMPLES, type MethodChoice } from './auto.js';
import type { TensorHistogram } from './histogram.js';
import { paramsToRange } from './params.js';
import { quantizeGraph, type IoType, type QuantizedGraph } from './quantize.js';
import { buildReport, type QuantizeReport } from './report.js';
import { checkOutputSqnr } from './guard.js';
import { equalize } from './equalize.js';

export interface QuantizeOptions {
  /** Range method (default 'auto': per tensor the least-error range, checked against every single method). */
  method?: RangeMethod;
  /** Percentile for method 'percentile' (default 99.99). */
  percentile?: number;
  /** Input/output type (default 'int8'; 'uint8' for legacy uint8 models). */
  io?: IoType;
  /** Keep ops without int8 kernels in float (default false: fail listing them). */
  allowFloat?: boolean;
  /** Operators to keep in float: operator indices, or names of the tensors they write (as the report lists them). */
  keepFloat?: Array<number | string>;
  /** Return a model whose output SQNR is below 10 dB instead of failing with REEF_QUANTIZE_LOW_SQNR. */
  acceptLowSqnr?: boolean;
  /** Empirical bias correction after the rewrite (default true when there are calibration samples). */
  biasCorrection?: boolean;
  /** Rescale the channels between a convolution and the depthwise convolution it feeds (default true; equalize.ts). */
  equalize?: boolean;
  threads?: number;
  /** Name of the model in messages and the report. */
  source?: string;
  /** Progress: stage name, done, total. */
  onProgress?: (stage: QuantizeStage, done: number, total: number) => void;
}

/** The phases of quantizeTflite, as progress reports them. */
export type QuantizeStage = 'calibrate' | 'choose ranges' | 'bias correction' | 'evaluate';

export interface QuantizeData {
  /** Calibration samples (one typed array per input, float32, already pre-processed). */
  calibration: Sample[];
  /** Held samples for the report (not used for calibration); labels give accuracy. */
  evaluation?: EvalSample[];
}

export interface QuantizeResult {
  bytes: Uint8Array;
  model: TfliteModel;
  graph: QuantizedGraph;
  report: QuantizeReport;
  evaluation: EvaluationResult | null;
}

/**
 * Quantizes a float32 (or float16-weight, or legacy uint8) TFLite model to full-integer int8.
 * @example
 * const { bytes, report } = await quantizeTflite(floatBytes, { calibration: samples }, { io: 'int8' });
 */
export async function quantizeTflite(input: Uint8Array, data: QuantizeData, opts: QuantizeOptions = {}): Promise<QuantizeResult> {
  const t0 = performance.now();
  const source = opts.source ?? '<buffer>';
  const method = opts.method ?? 'auto';
  const biasCorrection = (opts.biasCorrection ?? true) && data.calibration.length > 0;
  const raw = readTflite(input);
  if (raw.subgraphs.length !== 1) checkFloatModel(raw, source);
  const kind = modelKind(raw);
  let floatModel: TfliteModel;
  let ranges = new Map<number, Range>();
  let fixedParams: Map<number, import('./params.js').QParams> | undefined;
  let legacyChanges: string[] | null = null;
  let calibrateMs = 0;
  let floatMeans = new Map<number, Float64Array>();
  let headMeans = new Map<number, Float64Array>();
  let stats = new Map<number, TensorHistogram>();
  let fitStats: Map<number, TensorHistogram> | null = null;
  let kept: Map<number, Float32Array[]> | undefined;
  let folded = 0;
  const equalizeOn = opts.equalize ?? true;
  /** The model as given, when the one quantized was rescaled (equalize): outputs are measured against it. */
  let reference: TfliteModel | undefined;
  let equalized = { pairs: 0, maxScale: 1 };
  let equalizeMs = 0;
  if (kind === 'uint8-legacy') {
    const legacy = legacyToFloat(raw);
    floatModel = legacy.model;
    fixedParams = legacy.params;
    legacyChanges = legacy.changes;
    for (const [t, p] of legacy.params) ranges.set(t, paramsToRange(p));
  } else {
    checkFloatModel(raw, source);
    const f = foldConstantDequantize(raw);
    floatModel = f.model;
    folded = f.folded;
    if (equalizeOn && data.calibration.length > 0) {
      const t = performance.now();
      const eq = await equalize(floatModel, data.calibration, opts.threads);
      if (eq.pairs > 0) reference = floatModel;
      floatModel = eq.model;
      equalized = { pairs: eq.pairs, maxScale: eq.maxScale };
      equalizeMs = performance.now() - t;
    }
    if (data.calibration.length === 0) throw new ReefError('REEF_CALIBRATION_INVALID', `${source}: no calibration samples were given`);
    checkSamples(floatModel, data.calibration, source);
    const total = data.calibration.length;
    const cal = await calibrate(floatModel, data.calibration, {
      threads: opts.threads, onProgress: (n) => opts.onProgress?.('calibrate', n, total), meansOf: correctionTargets(floatModel),
      headSamples: Math.min(HEAD_SAMPLES, total), holdEvery: method === 'auto' ? holdEvery(total) : 0,
      ...(biasCorrection ? { keep: refitInputs(floatModel, total) } : {}),
    });
    kept = cal.kept;
    fitStats = cal.fitStats;
    floatMeans = cal.means;
    headMeans = cal.headMeans;
    stats = cal.stats;
    calibrateMs = cal.ms;
    if (method !== 'auto') ranges = new Map([...cal.stats].map(([t, h]) => [t, chooseRange(h, { method, percentile: opts.percentile })]));
  }
  const io = opts.io ?? (kind === 'uint8-legacy' ? 'uint8' : 'int8');
  const keepFloat = resolveOps(floatModel, opts.keepFloat ?? [], source);
  const build = (r: Map<number, Range>): QuantizedGraph =>
    quantizeGraph(floatModel, { ranges: r, io, allowFloat: opts.allowFloat, fixedParams, source, keepFloat });
  let choice: MethodChoice | null = null;
  if (method === 'auto' && kind !== 'uint8-legacy') {
    opts.onProgress?.('choose ranges', 0, 1);
    choice = await chooseAuto(floatModel, stats, data.calibration, headMeans, build, {
      percentile: opts.percentile, biasCorrection, threads: opts.threads, reference, fitStats, holdEvery: holdEvery(data.calibration.length), onProgress: (n, total) => opts.onProgress?.('choose ranges', n, total),
    });
    ranges = choice.ranges;
  }
  const t1 = performance.now();
  const graph = build(ranges);
  const quantizeMs = performance.now() - t1;
  let correctMs = 0;
  let corrected = 0;
  if (biasCorrection && kind !== 'uint8-legacy') {
    const t2 = performance.now();
    opts.onProgress?.('bias correction', 0, 1);
    corrected = await correctBiases(graph, floatModel, data.calibration, floatMeans, {
      threads: opts.threads, onProgress: (n, total) => opts.onProgress?.('bias correction', n, total), floatInputs: kept,
    });
    correctMs = performance.now() - t2;
  }
  const bytes = writeTflite(graph.model);
  let evaluation: EvaluationResult | null = null;
  const given = data.evaluation ?? [];
  // The SQNR check needs samples: held ones when given, else the last calibration samples.
  const held = given.length > 0;
  const evalSamples = held ? given : data.calibration.slice(-GUARD_SAMPLES).map((inputs) => ({ inputs }));
  if (evalSamples.length > 0) {
    checkSamples(floatModel, evalSamples.map((s) => s.inputs), source);
    evaluation = await evaluate(floatModel, graph.model, graph.int8Of, evalSamples, {
      threads: opts.threads, reference, onProgress: (n) => opts.onProgress?.('evaluate', n, evalSamples.length),
    });
  }
  const report = buildReport({
    source, kind, method, percentile: opts.percentile, io, floatModel, graph, evaluation, legacyChanges, folded, corrected, equalized,
    ...(choice ? { methods: choice.methods, methodChoice: { chosen: choice.chosen, candidates: choice.candidates, scoredOn: choice.scoredOn } } : {}),
    samples: { calibration: kind === 'uint8-legacy' ? 0 : data.calibration.length, evaluation: given.length },
    timings: { equalizeMs, calibrateMs, chooseMs: choice?.ms ?? 0, quantizeMs, correctMs, evaluateMs: evaluation?.ms ?? 0, totalMs: performance.now() - t0 },
    bytes: bytes.length,
  });
  if (evaluation) {
    report.sqnrCheck = checkOutputSqnr({
      source, floatModel, outputs: report.outputs, layers: report.layers, method, samples: evaluation.samples, held,
      acceptLow: opts.acceptLowSqnr ?? false,
    });
  }
  return { bytes, model: graph.model, graph, report, evaluation };
}

/**
 * `--method auto` scores its candidates on every 4th calibration sample, held out of their ranges
 * and bias correction, when that makes at least 32 samples (128 calibration samples); with fewer,
 * on every sample: fastestdet with 64 photos kept percentile 99.99 on its 16 held ones (17.8 dB
 * there) and lost 1.2 dB on 16 other photos against mse, which scoring on all 64 keeps.
 */
function holdEvery(samples: number): number {
  return samples >= 128 ? 4 : 0;
}

/** Calibration samples the SQNR check runs on when no held samples are given. */
const GUARD_SAMPLES = 20;

/** Operator indices for --keep-float: an index, or the name of a tensor the operator writes. */
function resolveOps(model: TfliteModel, ids: Array<number | string>, source: string): Set<number> {
  const sg = model.subgraphs[0]!;
  const out = new Set<number>();
  for (const id of ids) {
    const n = typeof id === 'number' ? id : /^\d+$/.test(id) ? Number(id) : sg.operators.findIndex((op) => op.outputs.some((o) => o >= 0 && sg.tensors[o]!.name === id));
    if (!Number.isInteger(n) || n < 0 || n >= sg.operators.length) {
      throw new ReefError('REEF_INVALID_ARGUMENT',
        `Expected an operator index (0-${sg.operators.length - 1}) or the name of a tensor an operator writes for --keep-float but received "${id}" (${source}; the quantize report lists both)`);
    }
    out.add(n);
  }
  return out;
}

/** Checks every sample against the model's inputs (count, dtype, element count). */
function checkSamples(model: TfliteModel, samples: Sample[], source: string): void {
  const sg = model.subgraphs[0]!;
  samples.forEach((s, k) => {
    if (s.length !== sg.inputs.length) {
      throw new ReefError('REEF_CALIBRATION_INVALID', `${source}: sample ${k + 1} has ${s.length} tensors but the model has ${sg.inputs.length} inputs`);
    }
    sg.inputs.forEach((ti, j) => {
      const t = sg.tensors[ti]!;
      const n = t.shape.reduce((a, b) => a * b, 1);
      const d = s[j]!;
      if (!(d instanceof Float32Array) || d.length !== n) {
        throw new ReefError('REEF_CALIBRATION_INVALID',
          `${source}: sample ${k + 1} gives ${d?.constructor?.name ?? typeof d}(${(d as { length?: number })?.length ?? '?'}) for input "${t.name}", which needs Float32Array(${n}) (shape [${t.shape.join(',')}])`);
      }
    });
  });
}
