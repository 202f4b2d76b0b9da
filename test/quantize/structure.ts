/**
 * Structural comparison of two int8 TFLite models (reef's against TensorFlow's twin): operator
 * sequence and versions, tensor dtypes at every operand, per-channel vs per-tensor quantization
 * and its axis. Returns the differences as readable lines (empty = same structure).
 */
import type { TfliteModel } from '../../src/model/tflite/ir.js';

export interface OperandShape {
  dtype: string;
  /** 'none', 'per-tensor' or `per-channel@axis`. */
  quant: string;
}

export function describeOperand(model: TfliteModel, i: number): OperandShape | null {
  if (i < 0) return null;
  const t = model.subgraphs[0]!.tensors[i]!;
  const q = t.quantization;
  const quant = !q || q.scale.length === 0 ? 'none' : q.scale.length > 1 ? `per-channel@${q.quantizedDimension}` : 'per-tensor';
  return { dtype: t.dtype, quant };
}

export function structureDiff(ours: TfliteModel, theirs: TfliteModel): string[] {
  const a = ours.subgraphs[0]!;
  const b = theirs.subgraphs[0]!;
  const diffs: string[] = [];
  const seq = (m: TfliteModel): string[] => m.subgraphs[0]!.operators.map((op) => `${op.opcode}@v${op.version}`);
  if (seq(ours).join(' ') !== seq(theirs).join(' ')) {
    diffs.push(`operator sequence differs:\n  ours:   ${seq(ours).join(' ')}\n  theirs: ${seq(theirs).join(' ')}`);
    return diffs;
  }
  const io = (m: TfliteModel, list: number[]): string => list.map((i) => JSON.stringify(describeOperand(m, i))).join(',');
  if (io(ours, a.inputs) !== io(theirs, b.inputs)) diffs.push(`graph inputs: ours ${io(ours, a.inputs)} theirs ${io(theirs, b.inputs)}`);
  if (io(ours, a.outputs) !== io(theirs, b.outputs)) diffs.push(`graph outputs: ours ${io(ours, a.outputs)} theirs ${io(theirs, b.outputs)}`);
  a.operators.forEach((op, k) => {
    const other = b.operators[k]!;
    const side = (name: string, x: number[], y: number[]): void => {
      if (x.length !== y.length) { diffs.push(`operator ${k} (${op.opcode}): ${x.length} ${name} vs ${y.length}`); return; }
      x.forEach((i, j) => {
        const p = JSON.stringify(describeOperand(ours, i));
        const q = JSON.stringify(describeOperand(theirs, y[j]!));
        if (p !== q) diffs.push(`operator ${k} (${op.opcode}) ${name} ${j}: ours ${p} theirs ${q}`);
      });
    };
    side('input', op.inputs, other.inputs);
    side('output', op.outputs, other.outputs);
  });
  return diffs;
}
