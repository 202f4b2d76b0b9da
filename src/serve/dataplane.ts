/**
 * The one data plane both protocols map onto (MLServer's dataplane.py, Triton's core API):
 * lookups, readiness, metadata in protocol-neutral form, inference with deadlines and metrics,
 * and the single map from errors to HTTP statuses (Triton's HttpCodeFromError).
 */
import { performance } from 'node:perf_hooks';
import { ERROR_CODES, ReefError } from '../errors.js';
import { dequantize } from '../quant.js';
import type { ServeMetrics } from './metrics.js';
import type { InferResult, ServedModel } from './model.js';
import type { Repository } from './repository.js';
import type { WireTensor } from './tensor.js';
import { valueAt } from './tensor.js';

export interface DataPlaneOptions {
  /** Default deadline of a request, in ms from its arrival (0: none). */
  deadlineMs: number;
  /** Status for a full queue: 503 (default) or 429. */
  overloadStatus: 503 | 429;
}

/** The HTTP status of an error: every ReefError code carries one (src/errors.ts). */
export function httpStatus(e: unknown, overloadStatus: number): number {
  if (e instanceof ReefError) {
    if (e.code === 'REEF_SERVE_OVERLOADED') return overloadStatus;
    return ERROR_CODES[e.code].http;
  }
  return 500;
}

export interface ClassScore {
  index: number;
  label: string;
  score: number;
}

export class DataPlane {
  readonly repo: Repository;
  readonly metrics: ServeMetrics;
  readonly options: DataPlaneOptions;
  /** reef's version, for server metadata. */
  readonly version: string;

  constructor(repo: Repository, metrics: ServeMetrics, options: DataPlaneOptions, version: string) {
    this.version = version;
    this.repo = repo;
    this.metrics = metrics;
    this.options = options;
  }

  /** The deadline of a request that arrived at `start` (performance.now()), given an optional override. */
  deadline(start: number, overrideMs?: number): number {
    const ms = overrideMs ?? this.options.deadlineMs;
    return ms > 0 ? start + ms : Infinity;
  }

  async infer(model: ServedModel, tensors: Map<string, WireTensor>, deadline: number, outputs?: string[]): Promise<InferResult> {
    const labels = { model: model.name, version: String(model.version) };
    const r = await model.infer(tensors, { deadline, ...(outputs ? { outputs } : {}) });
    this.metrics.queueSeconds.observe(labels, r.queueMs / r.runs / 1000);
    this.metrics.invokeSeconds.observe(labels, r.invokeMs / r.runs / 1000);
    for (const p of r.predictions) {
      this.metrics.predictions.inc({ ...labels, class: p.cls });
      this.metrics.confidence.observe(labels, p.score);
    }
    return r;
  }

  /**
   * Per row, the classes of a classifier output as (index, label, score), scores dequantized.
   * `top` 0 keeps every class in index order (TF Serving's classify); N > 0 keeps the N best.
   */
  classes(model: ServedModel, out: WireTensor, top: number): ClassScore[][] {
    const spec = model.output(out.name);
    const rows = out.shape.length > 1 ? out.shape[0] : 1;
    const per = out.data.length / rows;
    const q = spec?.quantization ?? { scale: 0, zeroPoint: 0 };
    const result: ClassScore[][] = [];
    for (let r = 0; r < rows; r++) {
      let scores: number[];
      if (q.scale !== 0 && (out.dtype === 'uint8' || out.dtype === 'int8' || out.dtype === 'int16')) {
        scores = Array.from(dequantize(out.data.subarray(r * per, (r + 1) * per) as Uint8Array, q));
      } else {
        scores = Array.from({ length: per }, (_, i) => Number(valueAt(out, r * per + i)));
      }
      let list = scores.map((score, index) => ({ index, label: model.labels?.[index] ?? '', score }));
      if (top > 0) list = list.sort((a, b) => b.score - a.score || a.index - b.index).slice(0, top);
      result.push(list);
    }
    return result;
  }

  /** performance.now(), for callers stamping arrivals. */
  now(): number {
    return performance.now();
  }
}
