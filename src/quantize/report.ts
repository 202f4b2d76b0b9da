/**
 * The quantization report: what the int8 model costs against the float one, per layer and at the
 * outputs, the ranges chosen, and the time taken; as plain data (written with --report) and as
 * text for the terminal.
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import type { EvaluationResult } from './evaluate.js';
import type { ModelKind } from './prepare.js';
import type { QuantizedGraph, IoType } from './quantize.js';
import type { RangeMethod } from './ranges.js';
import type { SqnrCheck } from './guard.js';

export interface LayerReport {
  /** Operator index in the float model. */
  op: number;
  opcode: string;
  /** Output tensor (index in the float model) and its name. */
  tensor: number;
  name: string;
  range: [number, number];
  scale: number;
  zeroPoint: number;
  /** SQNR of the int8 activation against the float one on the held samples (dB), null without samples. */
  sqnrDb: number | null;
  /** SQNR lost in this layer: best input SQNR (at most 60 dB) minus this one (dB). */
  dropDb: number | null;
  /** The range method this tensor's range came from (with --method auto, chosen per tensor). */
  method: string;
}

export interface QuantizeReport {
  model: string;
  kind: ModelKind;
  method: RangeMethod;
  percentile?: number;
  io: IoType;
  samples: { calibration: number; evaluation: number };
  layers: LayerReport[];
  /** The layer that loses the most SQNR (where error enters). */
  worstLayer: LayerReport | null;
  outputs: Array<{ name: string; sqnrDb: number | null }>;
  top1Agreement: number | null;
  accuracy: { float: number; int8: number; labelled: number } | null;
  /** Ops kept in float (--allow-float). */
  floatOps: Array<{ index: number; opcode: string; reason: string }>;
  weights: { perChannel: number; perTensor: number };
  biasesCorrected: number;
  /** Convolution -> depthwise pairs whose channels were rescaled (equalize.ts), and the largest factor. */
  equalized: { pairs: number; maxScale: number };
  float16Folded: number;
  legacyChanges: string[] | null;
  operators: { before: number; after: number };
  bytes: number;
  timings: { equalizeMs: number; calibrateMs: number; chooseMs: number; quantizeMs: number; correctMs: number; evaluateMs: number; totalMs: number };
  /** With --method auto: each candidate's worst output SQNR on the scoring samples (best first) and the one kept. */
  methodChoice: { chosen: string; candidates: Array<{ method: string; sqnrDb: number }>; scoredOn: { samples: number; held: boolean } } | null;
  /** Every output's SQNR checked against 20 dB (warning) and 10 dB (failure); null without samples. */
  sqnrCheck: SqnrCheck | null;
}

export interface ReportInput {
  source: string;
  kind: ModelKind;
  method: RangeMethod;
  percentile?: number;
  io: IoType;
  floatModel: TfliteModel;
  graph: QuantizedGraph;
  evaluation: EvaluationResult | null;
  legacyChanges: string[] | null;
  folded: number;
  corrected: number;
  equalized: { pairs: number; maxScale: number };
  /** Per float tensor, the method its range came from (auto), else every tensor has `method`. */
  methods?: Map<number, string>;
  methodChoice?: QuantizeReport['methodChoice'];
  samples: { calibration: number; evaluation: number };
  timings: QuantizeReport['timings'];
  bytes: number;
}

const EXACT_INPUT_DB = 60;
const finite = (x: number): number | null => (Number.isFinite(x) ? x : x > 0 ? 999 : null);

/** Assembles the report from the pieces the pipeline produced. */
export function buildReport(r: ReportInput): QuantizeReport {
  const sg = r.floatModel.subgraphs[0]!;
  const ev = r.evaluation;
  const sqnrOf = (t: number): number | null => {
    const e = ev?.tensors.get(t);
    return e ? finite(e.sqnrDb) : null;
  };
  const floatOpSet = new Set(r.graph.floatOps.map((f) => f.index));
  const layers: LayerReport[] = [];
  sg.operators.forEach((op, oi) => {
    if (floatOpSet.has(oi)) return;
    for (const t of op.outputs) {
      const p = r.graph.params.get(t);
      if (!p || !r.graph.int8Of.has(t)) continue;
      const s = sqnrOf(t);
      // An exact input (999) counts as 60 dB, about the best an int8 tensor can be, so the drop stays a real figure.
      const ins = op.inputs.map(sqnrOf).filter((x): x is number => x !== null).map((x) => Math.min(x, EXACT_INPUT_DB));
      const best = ins.length ? Math.max(...ins) : null;
      layers.push({
        op: oi, opcode: op.opcode, tensor: t, name: sg.tensors[t]!.name,
        range: r.graph.ranges.get(t)!, scale: p.scale, zeroPoint: p.zeroPoint,
        sqnrDb: s, dropDb: s !== null && best !== null ? best - s : null,
        method: r.kind === 'uint8-legacy' ? 'legacy' : r.methods?.get(t) ?? (r.method === 'percentile' ? `percentile ${r.percentile ?? 99.99}` : r.method),
      });
    }
  });
  const worst = layers.reduce<LayerReport | null>((w, l) => (l.dropDb !== null && (w === null || l.dropDb > (w.dropDb ?? -Infinity)) ? l : w), null);
  return {
    model: r.source, kind: r.kind, method: r.method, ...(r.method === 'percentile' ? { percentile: r.percentile ?? 99.99 } : {}),
    io: r.io, samples: r.samples, layers, worstLayer: worst,
    outputs: sg.outputs.map((o, k) => ({ name: sg.tensors[o]!.name, sqnrDb: ev ? finite(ev.outputs[k]!.sqnrDb) : null })),
    top1Agreement: ev?.top1Agreement ?? null,
    accuracy: ev?.accuracy ?? null,
    floatOps: r.graph.floatOps,
    weights: {
      perChannel: r.graph.weights.filter((w) => w.channels > 1).length,
      perTensor: r.graph.weights.filter((w) => w.channels === 1).length,
    },
    biasesCorrected: r.corrected,
    equalized: r.equalized,
    float16Folded: r.folded,
    legacyChanges: r.legacyChanges,
    operators: { before: sg.operators.length, after: r.graph.model.subgraphs[0]!.operators.length },
    bytes: r.bytes,
    timings: r.timings,
    methodChoice: r.methodChoice ?? null,
    sqnrCheck: null,
  };
}

const db = (x: number | null): string => (x === null ? '   -  ' : `${x.toFixed(1).padStart(5)} dB`);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The report as text for the terminal. */
export function formatReport(r: QuantizeReport): string {
  const lines: string[] = [];
  lines.push(`reef quantize: ${r.model} (${r.kind}) -> int8, io ${r.io}, method ${r.method}${r.percentile ? ` ${r.percentile}` : ''}`);
  lines.push(`samples: ${r.samples.calibration} calibration, ${r.samples.evaluation} held for the report`);
  if (r.legacyChanges) for (const c of r.legacyChanges) lines.push(`  changed: ${c}`);
  if (r.float16Folded) lines.push(`  ${r.float16Folded} constant DEQUANTIZE op(s) (float16/int8 weights) folded into float32 weights first`);
  lines.push(`weights: ${r.weights.perChannel} per-channel, ${r.weights.perTensor} per-tensor; ${r.biasesCorrected} bias(es) corrected`);
  if (r.equalized.pairs) lines.push(`equalized: ${r.equalized.pairs} convolution -> depthwise pair(s) rescaled per channel (largest factor ${r.equalized.maxScale.toFixed(1)})`);
  lines.push(`operators: ${r.operators.before} -> ${r.operators.after}; ${r.bytes} bytes`);
  if (r.floatOps.length) {
    lines.push(`kept in float (--allow-float; this model will not map fully to the Edge TPU):`);
    for (const f of r.floatOps) lines.push(`  operator ${f.index} (${f.opcode}): ${f.reason}`);
  }
  lines.push('');
  lines.push('  op  type                     range                    scale      zp    SQNR    drop  method           tensor');
  for (const l of r.layers) {
    lines.push(`${String(l.op).padStart(4)}  ${l.opcode.padEnd(22)} [${l.range[0].toFixed(3).padStart(9)}, ${l.range[1].toFixed(3).padStart(9)}]  ${l.scale.toExponential(3)} ${String(l.zeroPoint).padStart(5)}  ${db(l.sqnrDb)} ${l.dropDb === null ? '      ' : `${l.dropDb.toFixed(1).padStart(5)}`}  ${l.method.padEnd(15)}  ${l.name}`);
  }
  if (r.methodChoice) {
    const on = r.methodChoice.scoredOn;
    lines.push(`method auto: kept ${r.methodChoice.chosen} (worst output SQNR on ${on.samples} calibration samples${on.held ? ' held out of the ranges and bias correction' : ''}: ${r.methodChoice.candidates.map((c) => `${c.method} ${c.sqnrDb.toFixed(1)} dB`).join(', ')})`);
  }
  lines.push('');
  for (const o of r.outputs) lines.push(`output ${o.name}: SQNR ${db(o.sqnrDb)}`);
  if (r.worstLayer && r.worstLayer.dropDb !== null) {
    lines.push(`most error enters at operator ${r.worstLayer.op} (${r.worstLayer.opcode}, ${r.worstLayer.name}): -${r.worstLayer.dropDb.toFixed(1)} dB`);
  }
  if (r.sqnrCheck?.message) lines.push(`warning: ${r.sqnrCheck.message}`);
  if (r.top1Agreement !== null) lines.push(`top-1 agreement with the float model: ${pct(r.top1Agreement)}`);
  if (r.accuracy) lines.push(`top-1 accuracy on ${r.accuracy.labelled} labelled samples: float ${pct(r.accuracy.float)}, int8 ${pct(r.accuracy.int8)}`);
  const t = r.timings;
  lines.push(`time: ${t.equalizeMs ? `equalize ${(t.equalizeMs / 1000).toFixed(1)} s, ` : ''}calibrate ${(t.calibrateMs / 1000).toFixed(1)} s, choose ranges ${(t.chooseMs / 1000).toFixed(1)} s, rewrite ${(t.quantizeMs / 1000).toFixed(2)} s, bias correction ${(t.correctMs / 1000).toFixed(1)} s, evaluate ${(t.evaluateMs / 1000).toFixed(1)} s, total ${(t.totalMs / 1000).toFixed(1)} s`);
  return lines.join('\n') + '\n';
}

/** The report as JSON (Infinity-free). */
export function reportJson(r: QuantizeReport): string {
  return JSON.stringify(r, null, 2) + '\n';
}
