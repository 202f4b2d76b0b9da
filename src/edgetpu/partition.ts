/**
 * Predict the TPU/CPU split edgetpu_compiler will make of a model.
 *
 * The compiler maps one connected segment (without -a it never makes a second one):
 * 1. Operators that cannot be mapped and read only the model's inputs (or other such operators)
 *    stay on the CPU ahead of the segment: a float -> int QUANTIZE at the input, say.
 * 2. Inside the graph, an operator that cannot be mapped runs on the CPU with its own status,
 *    and every operator downstream of it (reading its output, directly or not) runs on the CPU
 *    too; those that could have been mapped get "More than one subgraph is not supported".
 * 3. Everything else is mapped. Operators upstream of or beside the first failure stay mapped
 *    (deeplabv3: the CONV_2D beside the RESIZE_BILINEAR stays on the TPU).
 * Not predicted: operators the compiler leaves out "for size" ("otherwise supported, but not
 * mapped") at the end of very large models; docs/edgetpu.md says why.
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import { DEFAULT_COMPILER_VERSION, REASONS, type ReasonKey } from './rules.js';
import { checkOperatorSupport } from './support.js';
import { isConstant } from './constraints.js';

/** Where an operator runs. */
export type Placement = 'cpu-before' | 'tpu' | 'cpu-after';

export interface PredictedOperator {
  index: number;
  /** Opcode name, or the custom code of a CUSTOM op. */
  opcode: string;
  version: number;
  mapped: boolean;
  placement: Placement;
  reasonKey: ReasonKey;
  /** The compiler's status for this operator, verbatim. */
  reason: string;
  /** The rule that failed, in reef's words (absent when mapped or only downstream of a failure). */
  detail?: string;
  hint?: string;
  /** For "More than one subgraph": the index of the CPU operator that cut the segment. */
  cutBy?: number;
  /** The compiler cannot read this operator and refuses the whole model: its error line. */
  refusal?: string;
}

export interface PartitionPrediction {
  compilerVersion: number;
  operators: PredictedOperator[];
  tpuOps: number;
  cpuOps: number;
  /** Edge TPU segments the compiler will make (0 or 1). */
  segments: number;
}

/** Options of {@link predictPartition}. */
export interface PredictOptions {
  /** Major version of the compiler to predict for (default 16). */
  compilerVersion?: number;
}

/**
 * Predict, operator by operator (main subgraph, execution order), what edgetpu_compiler maps.
 *
 * @example
 * const p = predictPartition(readTflite(bytes));
 * p.operators.filter((o) => !o.mapped).map((o) => `${o.index} ${o.opcode}: ${o.reason}`);
 */
export function predictPartition(model: TfliteModel, opts: PredictOptions = {}): PartitionPrediction {
  const compilerVersion = opts.compilerVersion ?? DEFAULT_COMPILER_VERSION;
  const sg = model.subgraphs[0]!;
  const producer = new Map<number, number>();
  sg.operators.forEach((op, i) => op.outputs.forEach((t) => { if (t >= 0) producer.set(t, i); }));
  const placement: Placement[] = [];
  const cutBy: (number | undefined)[] = [];
  const operators: PredictedOperator[] = sg.operators.map((op, i) => {
    const own = checkOperatorSupport(model, sg, op, compilerVersion);
    // Producers of this op's non-constant inputs (graph inputs and constants have none).
    const sources = op.inputs
      .filter((t) => t >= 0 && !isConstant(model, sg.tensors[t]))
      .map((t) => producer.get(t))
      .filter((p): p is number => p !== undefined);
    const cut = sources.map((p) => (placement[p] === 'cpu-after' ? cutBy[p] ?? p : undefined)).find((p) => p !== undefined);
    let where: Placement;
    if (own) where = cut === undefined && sources.every((p) => placement[p] === 'cpu-before') ? 'cpu-before' : 'cpu-after';
    else where = cut === undefined ? 'tpu' : 'cpu-after';
    placement.push(where);
    cutBy.push(own ? (where === 'cpu-after' ? cut ?? i : undefined) : cut);
    const reasonKey: ReasonKey = own ? own.reason : where === 'tpu' ? 'mapped' : 'subgraph';
    const base: PredictedOperator = {
      index: i,
      opcode: op.opcode === 'CUSTOM' ? op.customCode ?? 'CUSTOM' : op.opcode,
      version: op.version,
      mapped: where === 'tpu',
      placement: where,
      reasonKey,
      reason: REASONS[reasonKey],
    };
    if (own) {
      base.detail = own.detail;
      if (own.hint) base.hint = own.hint;
      if (own.refusal) base.refusal = own.refusal;
    } else if (cut !== undefined) {
      base.cutBy = cut;
    }
    return base;
  });
  const tpuOps = operators.filter((o) => o.mapped).length;
  return { compilerVersion, operators, tpuOps, cpuOps: operators.length - tpuOps, segments: tpuOps > 0 ? 1 : 0 };
}
