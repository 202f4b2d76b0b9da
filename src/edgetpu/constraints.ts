/**
 * The checks behind each constraint id of rules.ts: pure functions over one operator of the IR.
 * Each returns true when the operator satisfies the constraint.
 */
import type { TfliteModel, TfliteOperator, TfliteSubgraph, TfliteTensor } from '../model/tflite/ir.js';
import type { ConstraintId } from './rules.js';

/** What a constraint check sees. */
export interface OpContext {
  model: TfliteModel;
  sg: TfliteSubgraph;
  op: TfliteOperator;
}

/** The builtin option `key` of an operator, if it has one. */
export function option(op: TfliteOperator, key: string): unknown {
  const v = op.builtinOptions?.value as Record<string, unknown> | undefined;
  return v?.[key];
}

/** The tensor at input/output index `i` (undefined for -1). */
export function tensorAt(sg: TfliteSubgraph, i: number | undefined): TfliteTensor | undefined {
  return i === undefined || i < 0 ? undefined : sg.tensors[i];
}

/** True when the tensor holds constant data. */
export function isConstant(model: TfliteModel, t: TfliteTensor | undefined): boolean {
  return !!t && !t.isVariable && (model.buffers[t.buffer]?.length ?? 0) > 0;
}

/** Integer values of a constant int32/int64 tensor, or undefined when not constant. */
export function constInts(model: TfliteModel, t: TfliteTensor | undefined): number[] | undefined {
  if (!t || !isConstant(model, t)) return undefined;
  const b = model.buffers[t.buffer]!;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  if (t.dtype === 'int32') for (let i = 0; i + 4 <= b.length; i += 4) out.push(v.getInt32(i, true));
  else if (t.dtype === 'int64') for (let i = 0; i + 8 <= b.length; i += 8) out.push(Number(v.getBigInt64(i, true)));
  else return undefined;
  return out;
}

/** True when only the innermost dimension may exceed 1. */
function oneDimensional(shape: number[]): boolean {
  return shape.slice(0, -1).every((d) => d === 1);
}

function normAxes(axes: number[], rank: number): number[] {
  return axes.map((a) => (a < 0 ? a + rank : a));
}

/** Scale test for one spatial dimension of a resize. */
function integerScale(inp: number, out: number, alignCorners: boolean): boolean {
  if (alignCorners) return inp > 1 && out > 1 && ((out - 1) % (inp - 1) === 0 || (inp - 1) % (out - 1) === 0);
  return out % inp === 0 || inp % out === 0;
}

function allZero(model: TfliteModel, t: TfliteTensor): boolean {
  const b = model.buffers[t.buffer]!;
  const zp = t.quantization?.zeroPoint[0] ?? 0;
  if (t.dtype === 'uint8' || t.dtype === 'int8') {
    const arr = t.dtype === 'uint8' ? b : new Int8Array(b.buffer, b.byteOffset, b.byteLength);
    for (const x of arr) if (x !== zp) return false;
    return true;
  }
  return b.every((x) => x === 0);
}

/** The check for each constraint id. */
export const CONSTRAINT_CHECKS: Record<ConstraintId, (c: OpContext) => boolean> = {
  'no-fused-activation': ({ op }) => {
    const f = option(op, 'fusedActivationFunction');
    return f === undefined || f === 0;
  },
  'equal-dilation': ({ op }) => (option(op, 'dilationWFactor') ?? 1) === (option(op, 'dilationHFactor') ?? 1),
  'unit-strides': ({ model, sg, op }) => {
    const strides = constInts(model, tensorAt(sg, op.inputs[3]));
    return strides !== undefined && strides.every((s) => s === 1);
  },
  'softmax-1d': ({ sg, op }) => {
    const t = tensorAt(sg, op.inputs[0]);
    if (!t) return false;
    return oneDimensional(t.shape) && (t.shape[t.shape.length - 1] ?? 1) <= 16000;
  },
  'fc-default-weights': ({ op }) => (option(op, 'weightsFormat') ?? 0) === 0,
  'fc-1d-output': ({ sg, op }) => {
    const t = tensorAt(sg, op.outputs[0]);
    return !!t && oneDimensional(t.shape);
  },
  'no-batch-axis': ({ model, sg, op }) => {
    const input = tensorAt(sg, op.inputs[0]);
    switch (op.opcode) {
      case 'PAD': {
        const pads = constInts(model, tensorAt(sg, op.inputs[1]));
        return pads !== undefined && pads[0] === 0 && pads[1] === 0;
      }
      case 'SPLIT': {
        const axis = constInts(model, tensorAt(sg, op.inputs[0]));
        const data = tensorAt(sg, op.inputs[1]);
        return axis !== undefined && data !== undefined && normAxes(axis, data.shape.length)[0] !== 0;
      }
      case 'PACK': {
        const axis = Number(option(op, 'axis') ?? 0);
        const rank = (input?.shape.length ?? 0) + 1;
        return normAxes([axis], rank)[0] !== 0;
      }
      default: { // MEAN, REDUCE_MAX, REDUCE_MIN, SUM: axes in input 1
        const axes = constInts(model, tensorAt(sg, op.inputs[1]));
        return axes !== undefined && input !== undefined && !normAxes(axes, input.shape.length).includes(0);
      }
    }
  },
  'concat-const-zero-pad': ({ model, sg, op }) => {
    const consts = op.inputs.map((i) => tensorAt(sg, i)).filter((t): t is TfliteTensor => isConstant(model, t));
    if (consts.length === 0) return true;
    return op.inputs.length === 2 && consts.length === 1 && allZero(model, consts[0]!);
  },
  'prelu-alpha-1d': ({ sg, op }) => {
    const alpha = tensorAt(sg, op.inputs[1]);
    return !!alpha && oneDimensional(alpha.shape);
  },
  'mean-z-multiple-4': ({ model, sg, op }) => {
    const input = tensorAt(sg, op.inputs[0]);
    const axes = constInts(model, tensorAt(sg, op.inputs[1]));
    if (!input || !axes) return false;
    const rank = input.shape.length;
    if (!normAxes(axes, rank).includes(rank - 1)) return true;
    return (input.shape[rank - 1] ?? 0) % 4 === 0;
  },
  'resize-integer-scale': ({ sg, op }) => {
    const i = tensorAt(sg, op.inputs[0]);
    const o = tensorAt(sg, op.outputs[0]);
    if (!i || !o || i.shape.length !== 4 || o.shape.length !== 4) return false;
    const align = option(op, 'alignCorners') === true;
    return integerScale(i.shape[1]!, o.shape[1]!, align) && integerScale(i.shape[2]!, o.shape[2]!, align);
  },
  'strided-slice-masks': ({ op }) => Number(option(op, 'ellipsisMask') ?? 0) === 0 && Number(option(op, 'newAxisMask') ?? 0) === 0,
  'squeeze-leading-ones': ({ sg, op }) => {
    const t = tensorAt(sg, op.inputs[0]);
    if (!t) return false;
    const dims = (option(op, 'squeezeDims') as number[] | undefined) ?? [];
    const squeezed = dims.length > 0 ? normAxes(dims, t.shape.length) : t.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    const firstBig = t.shape.findIndex((d) => d !== 1);
    return firstBig < 0 || squeezed.every((a) => a < firstBig);
  },
  'quantize-integer-input': ({ sg, op }) => {
    const t = tensorAt(sg, op.inputs[0]);
    return !!t && (t.dtype === 'int8' || t.dtype === 'uint8' || t.dtype === 'int16');
  },
};
