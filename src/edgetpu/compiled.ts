/**
 * The real TPU/CPU split of a compiled model: which operators of the compiler's input model
 * ended up inside an `edgetpu-custom-op` and which stayed on the CPU.
 *
 * edgetpu_compiler replaces the mapped operators with one custom op per segment and keeps every
 * other operator as it was (same opcode, same output tensor names), so an operator of the input
 * ran on the CPU exactly when an operator with its opcode and output names is still in the
 * compiled model.
 */
import { ReefError } from '../errors.js';
import type { TfliteModel, TfliteOperator, TfliteSubgraph } from '../model/tflite/ir.js';
import { EDGETPU_CUSTOM_CODE } from './custom_op.js';

/** Per operator of the input model's main subgraph: true when the compiler mapped it. */
export interface CompiledSplit {
  mapped: boolean[];
  /** Number of edgetpu-custom-op operators (segments) in the compiled model. */
  segments: number;
}

function opKey(sg: TfliteSubgraph, op: TfliteOperator): string {
  const names = op.outputs.map((i) => (i >= 0 ? sg.tensors[i]?.name ?? `#${i}` : '-'));
  return `${op.customCode ?? op.opcode}|${names.join(',')}`;
}

/**
 * Work out which operators of `source` the compiler mapped, from its output `compiled`.
 *
 * @example
 * const split = compiledSplit(readTflite(src), readTflite(compiledBytes));
 * split.mapped.filter(Boolean).length // operators on the Edge TPU
 * @throws ReefError REEF_INVALID_ARGUMENT when `compiled` holds a CPU operator that is not in
 * `source` (the two models are not a compiler input/output pair).
 */
export function compiledSplit(source: TfliteModel, compiled: TfliteModel): CompiledSplit {
  const src = source.subgraphs[0];
  const out = compiled.subgraphs[0];
  if (!src || !out) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected models with a main subgraph for compiledSplit');
  const remaining = new Map<string, number>();
  let segments = 0;
  for (const op of out.operators) {
    if (op.opcode === 'CUSTOM' && op.customCode === EDGETPU_CUSTOM_CODE) { segments++; continue; }
    const k = opKey(out, op);
    remaining.set(k, (remaining.get(k) ?? 0) + 1);
  }
  const mapped = src.operators.map((op) => {
    const k = opKey(src, op);
    const n = remaining.get(k) ?? 0;
    if (n === 0) return true;
    remaining.set(k, n - 1);
    return false;
  });
  const left = [...remaining].filter(([, n]) => n > 0).map(([k]) => k.replace('|', ' -> '));
  if (left.length > 0) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `The compiled model has CPU operators that the source model does not have (${left.slice(0, 3).join('; ')}): not a compiler input/output pair`);
  }
  return { mapped, segments };
}
