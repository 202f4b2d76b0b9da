/**
 * Per-operator int8 rules, as data: which inputs are weights and biases (and the per-channel
 * axis), which ops have fixed output parameters, which must keep input and output scales equal,
 * and the operator version TensorFlow's converter writes for the int8 form
 * (tensorflow/lite/tools/versioning/op_version.cc; the int8 twins in ../shared agree).
 * An op missing from {@link INT8_RULES} has no int8 kernel reef can target in TFLite 2.9.
 */
import type { TfliteOperator, TfliteSubgraph } from '../model/tflite/ir.js';
import type { QParams } from './params.js';

export type OpKind =
  /** Weights (and a bias) plus an activation input: conv, depthwise, fully connected, transpose conv. */
  | 'weighted'
  /** Output gets its own calibrated range (add, mul, mean, relu, ...). */
  | 'own'
  /** Inputs and outputs share one scale and zero point (pools, reshape, concat, pad, ...). */
  | 'same'
  /** Output parameters fixed by the kernel (softmax, logistic, tanh, ...). */
  | 'fixed';

export interface OpRule {
  kind: OpKind;
  /** The int8 version (at least; the float model's version is kept when higher). */
  version: (op: TfliteOperator, sg: TfliteSubgraph) => number;
  /** For 'weighted': operand positions of the activation input, weights and bias. */
  activation?: number;
  weights?: number;
  bias?: number;
  /** Per-channel axis of the weights; undefined = per-tensor (fully connected, as TensorFlow does it for 2.9 kernels). */
  axis?: number;
  /** For 'same': operand positions that carry data (default: every non-int operand). */
  dataInputs?: number[];
  /** For 'fixed': the output parameters the kernel requires. */
  fixed?: QParams;
}

const v = (n: number) => (): number => n;
const rank = (sg: TfliteSubgraph, op: TfliteOperator, k: number): number => sg.tensors[op.inputs[k]!]?.shape.length ?? 0;

export const INT8_RULES: Readonly<Record<string, OpRule>> = {
  CONV_2D: { kind: 'weighted', version: v(3), activation: 0, weights: 1, bias: 2, axis: 0 },
  DEPTHWISE_CONV_2D: { kind: 'weighted', version: v(3), activation: 0, weights: 1, bias: 2, axis: 3 },
  FULLY_CONNECTED: {
    kind: 'weighted', activation: 0, weights: 1, bias: 2,
    version: (op) => {
      if (op.inputs.length < 3 || op.inputs[2] === -1) return 6;
      const o = op.builtinOptions;
      if (o?.type === 'FullyConnectedOptions' && o.value.keepNumDims) return 5;
      return 4;
    },
  },
  TRANSPOSE_CONV: {
    kind: 'weighted', activation: 2, weights: 1, bias: 3, axis: 0,
    version: (op) => {
      const o = op.builtinOptions;
      if (o?.type === 'TransposeConvOptions' && o.value.fusedActivationFunction !== 0) return 4;
      return op.inputs.length >= 4 && op.inputs[3] !== -1 ? 3 : 2;
    },
  },
  ADD: { kind: 'own', version: v(2) },
  SUB: { kind: 'own', version: (op, sg) => (Math.max(rank(sg, op, 0), rank(sg, op, 1)) > 4 ? 3 : 2) },
  MUL: { kind: 'own', version: v(2) },
  MEAN: { kind: 'own', version: v(2) },
  SUM: { kind: 'own', version: v(2) },
  RELU: { kind: 'own', version: v(2) },
  RELU6: { kind: 'own', version: v(2) },
  RELU_N1_TO_1: { kind: 'own', version: v(1) },
  LEAKY_RELU: { kind: 'own', version: v(1) },
  PRELU: { kind: 'own', version: v(1) },
  HARD_SWISH: { kind: 'own', version: v(1) },
  SQUARED_DIFFERENCE: { kind: 'own', version: v(2) },
  ABS: { kind: 'own', version: v(2) },
  RSQRT: { kind: 'own', version: v(2) },
  AVERAGE_POOL_2D: { kind: 'same', version: v(2) },
  MAX_POOL_2D: { kind: 'same', version: v(2) },
  RESHAPE: { kind: 'same', version: v(1), dataInputs: [0] },
  SQUEEZE: { kind: 'same', version: v(1) },
  EXPAND_DIMS: { kind: 'same', version: v(1), dataInputs: [0] },
  TRANSPOSE: { kind: 'same', version: (op, sg) => (rank(sg, op, 0) > 4 ? 4 : 2), dataInputs: [0] },
  CONCATENATION: { kind: 'same', version: v(2) },
  PAD: { kind: 'same', version: (op, sg) => (rank(sg, op, 0) > 4 ? 4 : 2), dataInputs: [0] },
  PADV2: { kind: 'same', version: (op, sg) => (rank(sg, op, 0) > 4 ? 4 : 2), dataInputs: [0, 2] },
  MIRROR_PAD: { kind: 'same', version: v(2), dataInputs: [0] },
  RESIZE_BILINEAR: {
    kind: 'same', dataInputs: [0],
    version: (op) => (op.builtinOptions?.type === 'ResizeBilinearOptions' && op.builtinOptions.value.halfPixelCenters ? 3 : 2),
  },
  RESIZE_NEAREST_NEIGHBOR: {
    kind: 'same', dataInputs: [0],
    version: (op) => {
      const o = op.builtinOptions;
      return o?.type === 'ResizeNearestNeighborOptions' && (o.value.halfPixelCenters || o.value.alignCorners) ? 3 : 2;
    },
  },
  STRIDED_SLICE: {
    kind: 'same', dataInputs: [0],
    version: (op, sg) => {
      const o = op.builtinOptions;
      if (o?.type === 'StridedSliceOptions' && (o.value.ellipsisMask !== 0 || o.value.newAxisMask !== 0)) return 6;
      return rank(sg, op, 0) > 4 ? 4 : 2;
    },
  },
  SLICE: { kind: 'same', version: (op, sg) => (rank(sg, op, 0) > 4 ? 5 : 2), dataInputs: [0] },
  SPLIT: { kind: 'same', version: v(2), dataInputs: [1] },
  SPLIT_V: { kind: 'same', version: v(2), dataInputs: [0] },
  GATHER: { kind: 'same', version: v(2), dataInputs: [0] },
  SPACE_TO_DEPTH: { kind: 'same', version: v(2) },
  DEPTH_TO_SPACE: { kind: 'same', version: v(2) },
  BATCH_TO_SPACE_ND: { kind: 'same', version: (op, sg) => (rank(sg, op, 0) !== 4 ? 3 : 2), dataInputs: [0] },
  SPACE_TO_BATCH_ND: { kind: 'same', version: (op, sg) => (rank(sg, op, 0) !== 4 ? 3 : 2), dataInputs: [0] },
  MAXIMUM: { kind: 'same', version: v(2) },
  MINIMUM: { kind: 'same', version: v(2) },
  REDUCE_MAX: { kind: 'same', version: v(2), dataInputs: [0] },
  REDUCE_MIN: { kind: 'same', version: v(2), dataInputs: [0] },
  TILE: { kind: 'same', version: v(3), dataInputs: [0] },
  PACK: { kind: 'same', version: v(2) },
  UNPACK: { kind: 'same', version: v(2) },
  SOFTMAX: { kind: 'fixed', version: v(2), fixed: { scale: 1 / 256, zeroPoint: -128 } },
  LOGISTIC: { kind: 'fixed', version: v(2), fixed: { scale: 1 / 256, zeroPoint: -128 } },
  TANH: { kind: 'fixed', version: v(2), fixed: { scale: 1 / 128, zeroPoint: 0 } },
  L2_NORMALIZATION: { kind: 'fixed', version: v(2), fixed: { scale: 1 / 128, zeroPoint: 0 } },
  LOG_SOFTMAX: { kind: 'fixed', version: v(2), fixed: { scale: 16 / 256, zeroPoint: 127 } },
};

/** Ops reef recognises but cannot quantize yet, with the reason given to the user. */
export const NOT_YET: Readonly<Record<string, string>> = {
  UNIDIRECTIONAL_SEQUENCE_LSTM: 'LSTM not supported yet (int8 LSTM needs int16 cell state and per-gate intermediate scales)',
  BIDIRECTIONAL_SEQUENCE_LSTM: 'LSTM not supported yet',
  LSTM: 'LSTM not supported yet',
};

/** Why an op cannot be int8, for the error listing. */
export function unsupportedReason(opcode: string): string {
  return NOT_YET[opcode] ?? 'TFLite 2.9 has no int8 kernel for it';
}

/** Version of the QUANTIZE/DEQUANTIZE ops reef inserts at the edges (what TensorFlow writes). */
export const EDGE_OP_VERSION = { QUANTIZE: 1, DEQUANTIZE: 2 } as const;
