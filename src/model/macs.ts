/**
 * Multiply-accumulate and parameter counts for TFLite operators.
 *
 * Convention (the one model cards use, e.g. MobileNet's "14 M multiply-adds"): MACs are the
 * multiply-accumulates of the weighted layers (convolutions, depthwise, transpose conv,
 * fully connected, batch matmul, recurrent cells); element-wise ops, pooling, softmax and
 * resizing count 0. Parameters are the elements of constant operands: every constant input of
 * a weighted op (weights and int32 biases, not TRANSPOSE_CONV's output-shape operand), and
 * constant data operands (not int32/int64 index operands such as shapes or axes) of other ops.
 */
import type { TfliteModel, TfliteOperator, TfliteSubgraph } from './tflite/ir.js';

/** Ops whose constant inputs are all parameters. */
const WEIGHTED = new Set([
  'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'TRANSPOSE_CONV', 'CONV_3D', 'CONV_3D_TRANSPOSE',
  'LSTM', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'RNN', 'UNIDIRECTIONAL_SEQUENCE_RNN',
  'BIDIRECTIONAL_SEQUENCE_RNN', 'SVDF', 'BATCH_MATMUL', 'EMBEDDING_LOOKUP', 'PRELU',
]);

const INDEX_DTYPES = new Set(['int32', 'int64']);

export interface OpCost {
  macs: number;
  params: number;
  /** Indices of the constant tensors counted in `params`. */
  paramTensors: number[];
}

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** True when tensor `i` of `sg` holds constant data. */
export function isConstant(model: TfliteModel, sg: TfliteSubgraph, i: number): boolean {
  const t = sg.tensors[i];
  return t !== undefined && (model.buffers[t.buffer]?.length ?? 0) > 0;
}

/** MACs and parameters of one operator (see the module comment for the convention). */
export function tfliteOpCost(model: TfliteModel, sg: TfliteSubgraph, op: TfliteOperator): OpCost {
  const shape = (k: number): number[] | undefined => {
    const i = op.inputs[k];
    return i === undefined || i < 0 ? undefined : sg.tensors[i]?.shape;
  };
  const outShape = op.outputs[0] !== undefined && op.outputs[0] >= 0 ? sg.tensors[op.outputs[0]]?.shape : undefined;
  const weighted = WEIGHTED.has(op.opcode);
  const paramTensors: number[] = [];
  op.inputs.forEach((i, k) => {
    if (i < 0 || !isConstant(model, sg, i)) return;
    if (op.opcode === 'TRANSPOSE_CONV' && k === 0) return;
    if (!weighted && INDEX_DTYPES.has(sg.tensors[i]!.dtype)) return;
    if (!paramTensors.includes(i)) paramTensors.push(i);
  });
  const params = paramTensors.reduce((a, i) => a + prod(sg.tensors[i]!.shape), 0);
  let macs = 0;
  const w = shape(1);
  switch (op.opcode) {
    case 'CONV_2D':
      if (outShape && w && w.length === 4) macs = prod(outShape) * w[1]! * w[2]! * w[3]!;
      break;
    case 'DEPTHWISE_CONV_2D':
      if (outShape && w && w.length === 4) macs = prod(outShape) * w[1]! * w[2]!;
      break;
    case 'FULLY_CONNECTED':
      if (outShape && w && w.length === 2) macs = prod(outShape) * w[1]!;
      break;
    case 'TRANSPOSE_CONV': {
      const x = shape(2);
      if (x && w && w.length === 4) macs = prod(x) * w[0]! * w[1]! * w[2]!;
      break;
    }
    case 'CONV_3D':
      if (outShape && w && w.length === 5) macs = prod(outShape) * w[0]! * w[1]! * w[2]! * w[3]!;
      break;
    case 'CONV_3D_TRANSPOSE': {
      const x = shape(2);
      if (x && w && w.length === 5) macs = prod(x) * w[0]! * w[1]! * w[2]! * w[4]!;
      break;
    }
    case 'BATCH_MATMUL': {
      const a = shape(0);
      const o = op.builtinOptions?.type === 'BatchMatMulOptions' ? op.builtinOptions.value : undefined;
      if (outShape && a && a.length >= 2) macs = prod(outShape) * (o?.adjX ? a[a.length - 2]! : a[a.length - 1]!);
      break;
    }
    case 'LSTM': case 'UNIDIRECTIONAL_SEQUENCE_LSTM': case 'BIDIRECTIONAL_SEQUENCE_LSTM':
    case 'RNN': case 'UNIDIRECTIONAL_SEQUENCE_RNN': case 'BIDIRECTIONAL_SEQUENCE_RNN': case 'SVDF': {
      // Each step multiplies the input and the recurrent state by every weight matrix once.
      const x = shape(0);
      if (!x || x.length < 2) break;
      const steps = prod(x.slice(0, -1));
      let perStep = 0;
      op.inputs.forEach((i, k) => {
        if (k === 0 || i < 0) return;
        const t = sg.tensors[i]!;
        if (t.shape.length === 2 && (isConstant(model, sg, i) || !t.isVariable)) perStep += prod(t.shape);
      });
      macs = steps * perStep;
      break;
    }
    default:
      break;
  }
  return { macs, params, paramTensors };
}
