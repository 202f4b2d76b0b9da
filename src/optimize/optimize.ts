/**
 * `optimizeTflite`: the experiment the export advice recommends, in one call. Builds the variants
 * (float; int8; pruned at each sparsity, unstructured and structured, each float and int8),
 * measures each here (accuracy on labelled samples, else the worst output's SQNR against the
 * original float model; size raw and gzip; median latency), marks the Pareto front (better quality
 * for less latency) and recommends the fastest variant within the user's limits.
 */
import { gzipSync } from 'node:zlib';
import { checkEdgetpu } from '../edgetpu/check.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { readTflite } from '../model/tflite/reader.js';
import { medianInvokeMs } from '../prune/measure.js';
import { pruneTflite } from '../prune/pipeline.js';
import type { Sample } from '../quantize/calibrate.js';
import { evaluate, type EvalSample } from '../quantize/evaluate.js';
import { quantizeTflite } from '../quantize/pipeline.js';
import type { RangeMethod } from '../quantize/ranges.js';

export interface OptimizeOptions {
  /** Sparsities of the pruned variants (default 0.25, 0.5, 0.75). */
  sparsities?: number[];
  method?: RangeMethod;
  /** Invokes timed per variant (default 100). */
  latencyRuns?: number;
  /** Recommend only variants at most this slow (ms). */
  budgetMs?: number;
  /** Recommend only variants losing at most this much: accuracy points with labels (default 1), else dB of SQNR below the best int8 variant... see {@link recommend}. */
  maxDrop?: number;
  threads?: number;
  source?: string;
  onProgress?: (done: number, total: number, variant: string) => void;
}

export interface Variant {
  name: string;
  dtype: 'float' | 'int8';
  pruning: { sparsity: number; structured: boolean } | null;
  bytes: Uint8Array;
  size: number;
  gzipSize: number;
  latencyMs: number;
  /** Top-1 accuracy (labelled samples) or null. */
  accuracy: number | null;
  /** Top-1 agreement with the original (classifiers) or null. */
  agreement: number | null;
  /** Worst output SQNR against the original float model (dB; 999 when exact). */
  sqnrDb: number;
  /** Edge TPU mapping as `reef edgetpu check` predicts it (int8 variants; null for float ones, which the Edge TPU cannot run). */
  edgetpu: { tpuOps: number; cpuOps: number; segments: number } | null;
  pareto: boolean;
}

export interface OptimizeResult {
  /** 'accuracy' with labelled samples, else 'sqnr'. */
  quality: 'accuracy' | 'sqnr';
  variants: Variant[];
  recommended: string | null;
  why: string;
}

const finite = (x: number): number => (Number.isFinite(x) ? x : x > 0 ? 999 : -999);

/** The quality a variant is ranked by. */
export const qualityOf = (v: Variant, q: OptimizeResult['quality']): number => (q === 'accuracy' ? 100 * (v.accuracy ?? 0) : v.sqnrDb);

async function measure(original: TfliteModel, name: string, dtype: Variant['dtype'], pruning: Variant['pruning'], bytes: Uint8Array,
  samples: EvalSample[], opts: OptimizeOptions): Promise<Variant> {
  const model = readTflite(bytes);
  const sg = model.subgraphs[0]!;
  // Tensor indices are kept by pruning and quantization: output i of the original is output i here.
  const ev = await evaluate(original, model, new Map(sg.outputs.map((o) => [o, o])), samples, { threads: opts.threads });
  return {
    name, dtype, pruning, bytes, size: bytes.length, gzipSize: gzipSync(bytes, { level: 9 }).length,
    latencyMs: await medianInvokeMs(bytes, opts.latencyRuns ?? 100),
    accuracy: ev.accuracy ? ev.accuracy.int8 : null,
    agreement: ev.top1Agreement,
    sqnrDb: Math.min(...ev.outputs.map((o) => finite(o.sqnrDb))),
    edgetpu: dtype === 'int8' ? (({ tpuOps, cpuOps, segments }) => ({ tpuOps, cpuOps, segments }))(checkEdgetpu(model)) : null,
    pareto: false,
  };
}

/**
 * Builds and measures every variant of a float model.
 * @example
 * const { variants, recommended } = await optimizeTflite(bytes, calibration, held, { budgetMs: 2 });
 */
export async function optimizeTflite(input: Uint8Array, calibration: Sample[], held: EvalSample[], opts: OptimizeOptions = {}): Promise<OptimizeResult> {
  const original = readTflite(input);
  const sparsities = opts.sparsities ?? [0.25, 0.5, 0.75];
  const plan: Array<{ name: string; pruning: Variant['pruning'] }> = [{ name: 'original', pruning: null }];
  for (const structured of [false, true]) {
    for (const s of sparsities) plan.push({ name: `pruned ${Math.round(100 * s)}%${structured ? ' structured' : ''}`, pruning: { sparsity: s, structured } });
  }
  const total = plan.length * 2;
  let done = 0;
  const variants: Variant[] = [];
  for (const p of plan) {
    const floatBytes = p.pruning ? (await pruneTflite(input, { ...p.pruning, latencyRuns: 0, source: opts.source })).bytes : input;
    variants.push(await measure(original, `${p.name}, float`, 'float', p.pruning, floatBytes, held, opts));
    opts.onProgress?.(++done, total, `${p.name}, float`);
    // Quantized after pruning; bias-corrected against the pruned float model it was made from.
    const q = await quantizeTflite(floatBytes, { calibration }, { method: opts.method, acceptLowSqnr: true, threads: opts.threads, source: opts.source });
    variants.push(await measure(original, `${p.name}, int8`, 'int8', p.pruning, q.bytes, held, opts));
    opts.onProgress?.(++done, total, `${p.name}, int8`);
  }
  const quality: OptimizeResult['quality'] = held.some((s) => s.label !== undefined) && variants[0]!.accuracy !== null ? 'accuracy' : 'sqnr';
  for (const v of variants) {
    const q = qualityOf(v, quality);
    v.pareto = !variants.some((o) => o !== v && qualityOf(o, quality) >= q && o.latencyMs <= v.latencyMs && (qualityOf(o, quality) > q || o.latencyMs < v.latencyMs));
  }
  return { quality, variants, ...recommend(variants, quality, opts) };
}

/**
 * The fastest variant within the limits: latency <= budgetMs (when given), and quality within
 * maxDrop of the original (accuracy points, default 1) or, without labels, SQNR >= 20 dB against
 * the original (the quantizer's warning line; maxDrop then lowers it from 20).
 */
export function recommend(variants: Variant[], quality: OptimizeResult['quality'], opts: Pick<OptimizeOptions, 'budgetMs' | 'maxDrop'>): { recommended: string | null; why: string } {
  const base = qualityOf(variants[0]!, quality);
  const floor = quality === 'accuracy' ? base - (opts.maxDrop ?? 1) : 20 - (opts.maxDrop ?? 0);
  const ok = variants.filter((v) => qualityOf(v, quality) >= floor - 1e-9 && (opts.budgetMs === undefined || v.latencyMs <= opts.budgetMs));
  const limits = `${quality === 'accuracy' ? `top-1 >= ${floor.toFixed(1)}%` : `SQNR >= ${floor.toFixed(1)} dB`}${opts.budgetMs !== undefined ? `, latency <= ${opts.budgetMs} ms` : ''}`;
  if (ok.length === 0) return { recommended: null, why: `no variant meets ${limits}` };
  const best = ok.reduce((a, b) => (b.latencyMs < a.latencyMs || (b.latencyMs === a.latencyMs && b.gzipSize < a.gzipSize) ? b : a));
  return { recommended: best.name, why: `the fastest variant with ${limits}` };
}
