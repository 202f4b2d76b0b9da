/**
 * `pruneTflite`: bytes in, pruned bytes out, plus a report: per-layer sparsity, MACs, parameters,
 * size raw and gzip, latency before and after, and (with samples) what it cost against the
 * original float model: output SQNR, top-1 agreement, accuracy with labels. With calibration
 * samples, pruning (unstructured or structured) is followed by bias correction.
 */
import { readTflite } from '../model/tflite/reader.js';
import { writeTflite } from '../model/tflite/writer.js';
import { evaluate, type EvalSample } from '../quantize/evaluate.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { calibrate, exposeTensors, ExposedRunner, type Sample } from '../quantize/calibrate.js';
import { correctionTargets, walkAndCorrect } from '../quantize/correct.js';
import { isConstantTensor } from '../quantize/graph.js';
import { modelFigures, type ModelFigures } from './measure.js';
import { pruneModel, type PruneOptions, type PrunedLayer, type PruneResult } from './prune.js';

export interface PruneRunOptions extends PruneOptions {
  /** Invokes to time before and after (0: no latency). Default 100. */
  latencyRuns?: number;
  /** Bias correction with the calibration samples (default true when there are some). */
  biasCorrection?: boolean;
  threads?: number;
}

export interface PruneData {
  /** Samples (float inputs) for bias correction: each pruned layer's mean output per channel is set back to the original's. */
  calibration?: Sample[];
  /** Held samples measuring the cost against the original (labels give accuracy). */
  evaluation?: EvalSample[];
}

export interface PruneReport {
  model: string;
  mode: 'unstructured global' | 'unstructured per-layer' | 'structured';
  /** Structured: how the channels were chosen (PruneOptions.criterion). */
  criterion?: 'l1' | 'activation';
  sparsity: number;
  layers: Array<PrunedLayer & { sparsity: number }>;
  skipped: PruneResult['skipped'];
  /** Zeros among the weights of the pruned layers. */
  weightSparsity: number;
  /** Biases set back to the original's mean output (0 without calibration samples). */
  biasesCorrected: number;
  before: ModelFigures;
  after: ModelFigures;
  /** Against the original float model on the given samples (null without samples). */
  cost: { samples: number; outputs: Array<{ name: string; sqnrDb: number | null }>; top1Agreement: number | null;
    accuracy: { float: number; pruned: number; labelled: number } | null } | null;
}

/**
 * Bias correction after pruning (the same empirical correction the quantizer makes): the pruned
 * model is walked one operator at a time over the samples, and each weighted layer's mean output
 * per channel is set back to the original model's. Tensor indices are the same in both; a layer
 * that lost output channels (structured) is held to the original means of the channels it kept.
 */
async function correctPruned(original: TfliteModel, pruned: TfliteModel, kept: Map<number, number[]>, samples: Sample[], threads?: number): Promise<number> {
  const outs = correctionTargets(original);
  const cal = await calibrate(original, samples, { threads, meansOf: outs });
  const sg = pruned.subgraphs[0]!;
  const targets = new Map<number, { bias: number; mean: Float64Array }>();
  sg.operators.forEach((op, oi) => {
    const full = cal.means.get(op.outputs[0]!);
    const bias = op.inputs[2] ?? -1;
    // A layer that lost output channels (structured) is held to the original means of those it kept.
    const k = kept.get(op.outputs[0]!);
    const mean = full && k ? Float64Array.from(k, (c) => full[c]!) : full;
    if (mean && mean.length === sg.tensors[op.outputs[0]!]!.shape.at(-1) && bias >= 0 && isConstantTensor(pruned, sg, bias)) targets.set(oi, { bias, mean });
  });
  if (targets.size === 0) return 0;
  return walkAndCorrect(pruned, samples, targets, { threads });
}

/**
 * The standard deviation of each channel (last axis) of every float tensor a CONV_2D or
 * FULLY_CONNECTED reads, over `samples` (the float model as given).
 */
async function channelSpread(model: TfliteModel, samples: Sample[], threads?: number): Promise<Map<number, Float64Array>> {
  const sg = model.subgraphs[0]!;
  const tensors = [...new Set(sg.operators.filter((op) => op.opcode === 'CONV_2D' || op.opcode === 'FULLY_CONNECTED').map((op) => op.inputs[0]!))]
    .filter((t) => t >= 0 && !isConstantTensor(model, sg, t) && sg.tensors[t]!.dtype === 'float32');
  const sums = new Map(tensors.map((t) => {
    const c = sg.tensors[t]!.shape.at(-1) ?? 1;
    return [t, { s: new Float64Array(c), q: new Float64Array(c), n: 0 }];
  }));
  const { bytes, outputTensors } = exposeTensors(model, tensors);
  const runner = await ExposedRunner.open(bytes, outputTensors, threads);
  try {
    for (const sample of samples) {
      const out = await runner.run(sample);
      for (const [t, a] of sums) {
        const d = (sg.inputs.includes(t) ? sample[sg.inputs.indexOf(t)] : out.get(t)) as Float32Array;
        const c = a.s.length;
        for (let j = 0; j < d.length; j += c) for (let k = 0; k < c; k++) { const v = d[j + k]!; a.s[k] += v; a.q[k] += v * v; }
        a.n += d.length / c;
      }
    }
  } finally {
    await runner.dispose();
  }
  return new Map([...sums].map(([t, a]) => [t, Float64Array.from(a.s, (x, k) => Math.sqrt(Math.max(0, a.q[k]! / a.n - (x / a.n) ** 2)))]));
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : x > 0 ? 999 : null);

/**
 * Prunes a float TFLite model and measures it before and after.
 * @example
 * const { bytes, report } = await pruneTflite(floatBytes, { sparsity: 0.5, structured: true }, samples);
 */
export async function pruneTflite(input: Uint8Array, opts: PruneRunOptions, data: PruneData = {}): Promise<{ bytes: Uint8Array; report: PruneReport }> {
  const original = readTflite(input);
  const samples = data.evaluation ?? [];
  const cal = data.calibration ?? [];
  // Structured pruning chooses channels by the error they cause in the next layer when there are samples to measure them on.
  const criterion = opts.structured ? opts.criterion ?? (cal.length > 0 ? 'activation' : 'l1') : undefined;
  const activity = criterion === 'activation' && cal.length > 0 ? await channelSpread(original, cal, opts.threads) : undefined;
  const r = pruneModel(original, { ...opts, ...(criterion ? { criterion } : {}), ...(activity ? { activity } : {}) });
  let biasesCorrected = 0;
  if ((opts.biasCorrection ?? true) && cal.length > 0) biasesCorrected = await correctPruned(original, r.model, r.kept, cal, opts.threads);
  const bytes = writeTflite(r.model);
  const runs = opts.latencyRuns ?? 100;
  const before = await modelFigures(original, input, runs);
  const after = await modelFigures(r.model, bytes, runs);
  let cost: PruneReport['cost'] = null;
  if (samples.length > 0) {
    const sg = r.model.subgraphs[0]!;
    const ev = await evaluate(readTflite(input), r.model, new Map(sg.outputs.map((o) => [o, o])), samples, { threads: opts.threads });
    cost = {
      samples: ev.samples,
      outputs: ev.outputs.map((o) => ({ name: sg.tensors[o.tensor]!.name, sqnrDb: finite(o.sqnrDb) })),
      top1Agreement: ev.top1Agreement,
      accuracy: ev.accuracy ? { float: ev.accuracy.float, pruned: ev.accuracy.int8, labelled: ev.accuracy.labelled } : null,
    };
  }
  const w = r.layers.reduce((a, l) => a + l.weights, 0);
  const z = r.layers.reduce((a, l) => a + l.zeros, 0);
  return {
    bytes,
    report: {
      model: opts.source ?? '<buffer>',
      mode: opts.structured ? 'structured' : opts.perLayer ? 'unstructured per-layer' : 'unstructured global',
      ...(criterion ? { criterion } : {}),
      sparsity: opts.sparsity,
      layers: r.layers.map((l) => ({ ...l, sparsity: l.weights ? l.zeros / l.weights : 0 })),
      skipped: r.skipped,
      weightSparsity: w ? z / w : 0,
      biasesCorrected,
      before, after, cost,
    },
  };
}

const mega = (n: number): string => `${(n / 1e6).toFixed(2)} M`;
const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;
const ratio = (a: number, b: number): string => (a > 0 ? `${((100 * b) / a).toFixed(0)}%` : '-');

/** The report as text for the terminal. */
export function formatPruneReport(r: PruneReport): string {
  const lines: string[] = [];
  lines.push(`reef prune: ${r.model}, ${r.mode}, sparsity ${r.sparsity}`);
  lines.push('');
  lines.push('  op  type                  weights   zeros   sparsity  channels   tensor');
  for (const l of r.layers) {
    const ch = l.channels ? `${l.channels.before} -> ${l.channels.after}` : '';
    lines.push(`${String(l.op).padStart(4)}  ${l.opcode.padEnd(20)} ${String(l.weights).padStart(8)} ${String(l.zeros).padStart(7)}   ${(100 * l.sparsity).toFixed(1).padStart(5)}%   ${ch.padEnd(10)} ${l.name}`);
  }
  for (const s of r.skipped) lines.push(`  kept operator ${s.op} (${s.opcode}): ${s.reason}`);
  lines.push('');
  lines.push(`weights of the pruned layers: ${(100 * r.weightSparsity).toFixed(1)}% zero; ${r.biasesCorrected} bias(es) corrected`);
  const row = (name: string, a: string, b: string, rel: string): string => `  ${name.padEnd(16)} ${a.padStart(12)} ${b.padStart(12)} ${rel.padStart(6)}`;
  lines.push(row('', 'before', 'after', 'ratio'));
  lines.push(row('MACs', mega(r.before.macs), mega(r.after.macs), ratio(r.before.macs, r.after.macs)));
  lines.push(row('parameters', mega(r.before.params), mega(r.after.params), ratio(r.before.params, r.after.params)));
  lines.push(row('size', kb(r.before.bytes), kb(r.after.bytes), ratio(r.before.bytes, r.after.bytes)));
  lines.push(row('size, gzip', kb(r.before.gzipBytes), kb(r.after.gzipBytes), ratio(r.before.gzipBytes, r.after.gzipBytes)));
  if (r.before.latencyMs !== null && r.after.latencyMs !== null) {
    lines.push(row('latency (median)', `${r.before.latencyMs.toFixed(3)} ms`, `${r.after.latencyMs.toFixed(3)} ms`, ratio(r.before.latencyMs, r.after.latencyMs)));
  }
  if (r.cost) {
    lines.push('');
    for (const o of r.cost.outputs) lines.push(`output ${o.name}: SQNR against the original ${o.sqnrDb === null ? '-' : `${o.sqnrDb.toFixed(1)} dB`} on ${r.cost.samples} samples`);
    if (r.cost.top1Agreement !== null) lines.push(`top-1 agreement with the original: ${(100 * r.cost.top1Agreement).toFixed(1)}%`);
    if (r.cost.accuracy) lines.push(`top-1 accuracy on ${r.cost.accuracy.labelled} labelled samples: original ${(100 * r.cost.accuracy.float).toFixed(1)}%, pruned ${(100 * r.cost.accuracy.pruned).toFixed(1)}%`);
  }
  return lines.join('\n') + '\n';
}
