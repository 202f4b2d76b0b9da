/**
 * Never silent: after quantizing, every output's SQNR against the float model on held samples.
 * Below {@link SQNR_WARN_DB} the report carries a warning naming the outputs and the layers where
 * most of their error enters; below {@link SQNR_FAIL_DB} quantization fails with
 * REEF_QUANTIZE_LOW_SQNR unless the caller accepts it.
 */
import { ReefError } from '../errors.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { producersOf } from './graph.js';
import { RANGE_METHODS, type RangeMethod } from './ranges.js';
import type { LayerReport } from './report.js';

export const SQNR_WARN_DB = 20;
export const SQNR_FAIL_DB = 10;

export interface SqnrCheck {
  /** Samples the SQNR was measured on; `held` is false when none were held back (calibration samples were used). */
  samples: number;
  held: boolean;
  /** 'ok' (every output >= 20 dB), 'warning' (one below 20), 'low' (one below 10, accepted). */
  status: 'ok' | 'warning' | 'low';
  /** Outputs below 20 dB, with their SQNR. */
  outputs: Array<{ name: string; sqnrDb: number }>;
  /** Up to three layers where most error enters on the way to those outputs (largest SQNR drop first). */
  layers: Array<{ op: number; opcode: string; name: string; dropDb: number }>;
  /** What to try, as command-line options. */
  suggestion: string;
  /** The warning sentence (null when ok). */
  message: string | null;
}

export interface SqnrCheckInput {
  source: string;
  floatModel: TfliteModel;
  outputs: Array<{ name: string; sqnrDb: number | null }>;
  layers: LayerReport[];
  method: string;
  samples: number;
  held: boolean;
  acceptLow: boolean;
}

/** Operators whose outputs reach `tensors` (their ancestors, the producers included). */
function ancestorOps(model: TfliteModel, tensors: number[]): Set<number> {
  const sg = model.subgraphs[0]!;
  const prod = producersOf(sg);
  const seen = new Set<number>();
  const stack = tensors.map((t) => prod[t]!).filter((o) => o >= 0);
  while (stack.length) {
    const oi = stack.pop()!;
    if (seen.has(oi)) continue;
    seen.add(oi);
    for (const i of sg.operators[oi]!.inputs) if (i >= 0 && prod[i]! >= 0) stack.push(prod[i]!);
  }
  return seen;
}

/**
 * Checks every output's SQNR; returns the check for the report.
 * @throws ReefError REEF_QUANTIZE_LOW_SQNR when an output is below 10 dB and `acceptLow` is false.
 */
export function checkOutputSqnr(r: SqnrCheckInput): SqnrCheck {
  const sg = r.floatModel.subgraphs[0]!;
  const low = r.outputs
    .map((o, k) => ({ name: o.name, sqnrDb: o.sqnrDb ?? -Infinity, tensor: sg.outputs[k]! }))
    .filter((o) => o.sqnrDb < SQNR_WARN_DB);
  const base = { samples: r.samples, held: r.held };
  if (low.length === 0) return { ...base, status: 'ok', outputs: [], layers: [], suggestion: '', message: null };
  const ops = ancestorOps(r.floatModel, low.map((o) => o.tensor));
  const layers = r.layers
    .filter((l) => ops.has(l.op) && l.dropDb !== null && l.dropDb >= 0.1)
    .sort((a, b) => b.dropDb! - a.dropDb!)
    .slice(0, 3)
    .map((l) => ({ op: l.op, opcode: l.opcode, name: l.name, dropDb: l.dropDb! }));
  // auto has already tried every single method; then the data is the other lever.
  const others = RANGE_METHODS.filter((m) => m !== (r.method as RangeMethod));
  const suggestion = [
    ...(layers.length ? [`--keep-float ${layers.map((l) => l.op).join(',')}`] : []),
    r.method === 'auto' ? 'calibration data closer to the real inputs' : `--method ${others.join('|')}`,
  ].join(' or ');
  const dB = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)} dB` : 'no signal left');
  const where = layers.length
    ? `; most error enters at ${layers.map((l) => `operator ${l.op} (${l.opcode}, ${l.name}) -${l.dropDb.toFixed(1)} dB`).join(', ')}`
    : '';
  const on = `${r.samples} ${r.held ? 'held' : 'calibration (none were held back)'} sample${r.samples === 1 ? '' : 's'}`;
  const fail = low.some((o) => o.sqnrDb < SQNR_FAIL_DB);
  const list = low.map((o) => `"${o.name}" ${dB(o.sqnrDb)}`).join(', ');
  const message = `${r.source}: int8 output${low.length === 1 ? '' : 's'} ${list} against the float model on ${on}, ` +
    `below ${fail ? SQNR_FAIL_DB : SQNR_WARN_DB} dB${where}. Try ${suggestion}`;
  if (fail && !r.acceptLow) {
    throw new ReefError('REEF_QUANTIZE_LOW_SQNR', `${message}; or pass --accept-low-sqnr to write this model anyway. Nothing was written.`);
  }
  return { ...base, status: fail ? 'low' : 'warning', outputs: low.map(({ name, sqnrDb }) => ({ name, sqnrDb })), layers, suggestion, message };
}
