/**
 * The Edge TPU support table, as data: which TFLite operators edgetpu_compiler maps, up to
 * which operator version, from which compiler version, under which documented constraints,
 * and the compiler's own words for each way an operator can fail to map.
 *
 * Sources: coral.ai "Edge TPU model requirements" (supported operations and their known
 * limitations), the real compiler logs in ../shared/edgetpu-compiler-logs, and the compiled
 * pairs in ../shared/models/edgetpu. docs/edgetpu.md lists the evidence for each rule.
 * The constraint checks themselves (functions over the IR) are in constraints.ts, keyed by id.
 */

/** The compiler's status strings, verbatim from its operation log. */
export const REASONS = {
  mapped: 'Mapped to Edge TPU',
  notSupported: 'Operation not supported',
  dataType: 'Operation is working on an unsupported data type',
  version: 'Operation version not supported',
  subgraph: 'More than one subgraph is not supported',
  unspecified: 'Operation is otherwise supported, but not mapped due to some unspecified limitation',
  stridedSlice: 'Only Strided-Slice with unitary strides supported',
  rank: 'Tensor has unsupported rank (up to 3 innermost dimensions mapped)',
  dynamic: 'Attempting to use a delegate that only supports static-sized tensors with a graph that has dynamic-sized tensors.',
} as const;

export type ReasonKey = keyof typeof REASONS;

/** Ids of the per-operator constraints (checked by constraints.ts). */
export type ConstraintId =
  | 'no-fused-activation'
  | 'equal-dilation'
  | 'unit-strides'
  | 'softmax-1d'
  | 'fc-default-weights'
  | 'fc-1d-output'
  | 'no-batch-axis'
  | 'concat-const-zero-pad'
  | 'prelu-alpha-1d'
  | 'mean-z-multiple-4'
  | 'resize-integer-scale'
  | 'quantize-integer-input';

export interface ConstraintSpec {
  /** What is required, in reef's words (shown as the detail of a failure). */
  text: string;
  /** Which compiler status a failure is reported with. */
  reason: ReasonKey;
  hint?: string;
  /** Where the rule comes from (also in docs/edgetpu.md). */
  evidence: string;
}

export const CONSTRAINTS: Record<ConstraintId, ConstraintSpec> = {
  'no-fused-activation': {
    text: 'no fused activation function',
    reason: 'unspecified',
    hint: 'move the activation into a separate RELU/RELU6 operator',
    evidence: 'coral.ai model requirements: AveragePool2d, MaxPool2d, Concatenation',
  },
  'equal-dilation': {
    text: 'the same dilation in x and y',
    reason: 'unspecified',
    evidence: 'coral.ai model requirements: Conv2d, DepthwiseConv2d',
  },
  'unit-strides': {
    text: 'all strides equal to 1',
    reason: 'stridedSlice',
    hint: 'slice with strides of 1 (e.g. a strided slice followed by a stride-2 pooling or convolution)',
    evidence: 'compiler log v15_yolov5s_console.txt: "STRIDED_SLICE 4 Only Strided-Slice with unitary strides supported"',
  },
  'softmax-1d': {
    text: 'a 1-D input (only the innermost dimension above 1) of at most 16000 elements',
    reason: 'unspecified',
    evidence: 'coral.ai model requirements: Softmax',
  },
  'fc-default-weights': {
    text: 'the default weights format',
    reason: 'unspecified',
    evidence: 'coral.ai model requirements: FullyConnected',
  },
  'fc-1d-output': {
    text: 'a one-dimensional output (only the innermost dimension above 1)',
    reason: 'unspecified',
    hint: 'set keep_num_dims=False or reshape to [1, N] before the fully-connected layer',
    evidence: 'coral.ai model requirements: FullyConnected',
  },
  'no-batch-axis': {
    text: 'no operation along the batch dimension',
    reason: 'unspecified',
    evidence: 'coral.ai model requirements: Pack, Pad, Split, Mean, ReduceMax, ReduceMin',
  },
  'concat-const-zero-pad': {
    text: 'a constant input only as the second of exactly 2 inputs, and all zeros (a zero-padding)',
    reason: 'unspecified',
    evidence: 'coral.ai model requirements: Concatenation',
  },
  'prelu-alpha-1d': {
    text: 'a 1-dimensional alpha (only the innermost dimension above 1)',
    reason: 'unspecified',
    hint: 'with Keras PReLU on 4-D input, use shared_axes=[1, 2]',
    evidence: 'coral.ai model requirements: PReLU',
  },
  'mean-z-multiple-4': {
    text: 'a reduction over the channel (z) dimension only when it is a multiple of 4',
    reason: 'unspecified',
    evidence: 'coral.ai model requirements: Mean',
  },
  'resize-integer-scale': {
    text: 'an integer scale between input and output (with align_corners: (out-1)/(in-1) an integer, and in > 1)',
    reason: 'unspecified',
    hint: 'resize in steps of an integer factor, or do this resize on the CPU after the model',
    evidence: 'deeplabv3_mnv2_dm05_pascal_quant pair: RESIZE_BILINEAR [1,1,1,256] -> [1,33,33,256] (align_corners) left on the CPU; ' +
      'google-coral/edgetpu#31: the compiler refuses resizes that lose precision',
  },
  'quantize-integer-input': {
    text: 'an integer (int8/uint8/int16) input: a float -> integer QUANTIZE stays on the CPU',
    reason: 'unspecified',
    hint: 'give the model integer I/O (converter inference_input_type=tf.uint8 or tf.int8; reef quantize --io uint8)',
    evidence: 'compiler log v15_mnist.log: "QUANTIZE 1 Operation is otherwise supported, but not mapped due to some unspecified limitation" (the float input QUANTIZE)',
  },
};

/** One supported operator. */
export interface OpRule {
  /** Highest operator version the compiler takes (per compiler major version from `since`). */
  maxVersion: number;
  /** Compiler versions in which a different maximum version applied: [compiler major below which, max version]. */
  maxVersionBefore?: [number, number];
  /** First compiler major version that maps the operator (0: all). */
  minCompiler?: number;
  constraints?: ConstraintId[];
  /** Tensors that may be int16 besides int8/uint8 (LSTM state). */
  allowInt16?: boolean;
  /** True when the operator is listed but its output is never an integer on the TPU (DEQUANTIZE). */
  integerOnly?: boolean;
  evidence?: string;
}

/** The compiler version reef predicts for when none is given (the last one released). */
export const DEFAULT_COMPILER_VERSION = 16;

/** Supported operators (coral.ai "Supported operations"), keyed by TFLite opcode name. */
export const OP_RULES: Record<string, OpRule> = {
  ADD: { maxVersion: 2 },
  AVERAGE_POOL_2D: { maxVersion: 2, constraints: ['no-fused-activation'] },
  CONCATENATION: { maxVersion: 2, constraints: ['no-fused-activation', 'concat-const-zero-pad'] },
  CONV_2D: { maxVersion: 3, constraints: ['equal-dilation'] },
  DEPTHWISE_CONV_2D: { maxVersion: 3, constraints: ['equal-dilation'] },
  EXPAND_DIMS: { maxVersion: 1 },
  FULLY_CONNECTED: { maxVersion: 4, constraints: ['fc-default-weights', 'fc-1d-output'], evidence: 'keras_lstm_mnist_ptq pair: FULLY_CONNECTED v4 mapped' },
  L2_NORMALIZATION: { maxVersion: 2 },
  LOGISTIC: { maxVersion: 2, evidence: 'v16_yolov5s_224_sa_console.txt: LOGISTIC 62 Mapped' },
  UNIDIRECTIONAL_SEQUENCE_LSTM: { maxVersion: 1, allowInt16: true, evidence: 'keras_lstm_mnist_ptq pair: mapped, int16 cell state included' },
  LSTM: { maxVersion: 1, allowInt16: true },
  MAXIMUM: { maxVersion: 2 },
  MAX_POOL_2D: { maxVersion: 2, constraints: ['no-fused-activation'] },
  MEAN: { maxVersion: 2, constraints: ['no-batch-axis', 'mean-z-multiple-4'] },
  MINIMUM: { maxVersion: 2 },
  MUL: { maxVersion: 2, evidence: 'v16_yolov5s_224_sa_console.txt: MUL 80 Mapped' },
  PACK: { maxVersion: 2, constraints: ['no-batch-axis'] },
  PAD: { maxVersion: 2, constraints: ['no-batch-axis'] },
  PRELU: { maxVersion: 1, constraints: ['prelu-alpha-1d'] },
  QUANTIZE: { maxVersion: 2, constraints: ['quantize-integer-input'], evidence: 'keras_lstm_mnist_ptq pair: uint8->int8 and int8->uint8 QUANTIZE mapped' },
  DEQUANTIZE: { maxVersion: 2, integerOnly: true, evidence: 'v15_mnist.log: "DEQUANTIZE 1 Operation is working on an unsupported data type"; blazeface_front_quant_edgetpu keeps both DEQUANTIZE on the CPU' },
  REDUCE_MAX: { maxVersion: 2, constraints: ['no-batch-axis'] },
  REDUCE_MIN: { maxVersion: 2, constraints: ['no-batch-axis'] },
  RELU: { maxVersion: 2 },
  RELU6: { maxVersion: 2 },
  RELU_N1_TO_1: { maxVersion: 1 },
  RESHAPE: { maxVersion: 1 },
  RESIZE_BILINEAR: { maxVersion: 3, maxVersionBefore: [16, 2], constraints: ['resize-integer-scale'],
    evidence: 'google-coral/edgetpu#396 (v15): "RESIZE_BILINEAR 2 Operation version not supported"' },
  RESIZE_NEAREST_NEIGHBOR: { maxVersion: 3, maxVersionBefore: [16, 2], constraints: ['resize-integer-scale'],
    evidence: 'v14.1_tiny_yolo.log and v15_yolov5s_console.txt: "Operation version not supported"; v16_yolov5s_224_sa_console.txt: mapped' },
  RSQRT: { maxVersion: 2 },
  SLICE: { maxVersion: 2 },
  SOFTMAX: { maxVersion: 2, constraints: ['softmax-1d'] },
  SPACE_TO_DEPTH: { maxVersion: 2 },
  SPLIT: { maxVersion: 2, constraints: ['no-batch-axis'] },
  SQUEEZE: { maxVersion: 1, minCompiler: 14 },
  STRIDED_SLICE: { maxVersion: 2, minCompiler: 14, constraints: ['unit-strides'] },
  SUB: { maxVersion: 2 },
  SUM: { maxVersion: 1 },
  SQUARED_DIFFERENCE: { maxVersion: 1, minCompiler: 14 },
  TANH: { maxVersion: 2 },
  TRANSPOSE: { maxVersion: 2, minCompiler: 16, evidence: 'v15_yolov5s_console.txt: "TRANSPOSE 3 Operation not supported"; v16 log: mapped' },
  TRANSPOSE_CONV: { maxVersion: 2, minCompiler: 14 },
};

/** Fix hints for operators the Edge TPU does not have at all. */
export const UNSUPPORTED_HINTS: Record<string, string> = {
  LEAKY_RELU: 'replace LEAKY_RELU with RELU (or PRELU with a 1-D alpha) and retrain/fine-tune',
  HARD_SWISH: 'replace hard-swish with RELU6 (or x * RELU6(x + 3) / 6 built from supported ops)',
  CAST: 'remove the CAST: feed the model the integer type it computes in',
  ARG_MAX: 'take the arg-max on the CPU after the model (post-processing)',
  GATHER: 'move the GATHER to pre- or post-processing',
  EXP: 'move the EXP to post-processing',
  DIV: 'multiply by a constant reciprocal instead of dividing',
  CUSTOM: 'run the custom operator on the CPU after the model',
};
