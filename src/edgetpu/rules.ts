/**
 * The Edge TPU support table, as data: which TFLite operators edgetpu_compiler maps, up to
 * which operator version, from which compiler version, under which documented constraints,
 * and the compiler's own words for each way an operator can fail to map.
 *
 * Sources (each rule's `evidence` names the one it rests on; docs/edgetpu.md has the audit):
 * - the coral.ai "Supported operations" table (coral.ai/docs/edgetpu/models-intro), read here through
 *   two copies: {@link AXIS_TABLE} (the current text, rows Add .. ResizeBilinear) and
 *   {@link TABLE_2019} (an early copy with the rows ResizeNearestNeighbor .. StridedSlice);
 * - the real compiler logs in ../shared/edgetpu-compiler-logs, cited as `file:line "words"`
 *   (test/edgetpu/rules.test.ts checks each citation against the file);
 * - the compiled pairs in ../shared/models/edgetpu, and google-coral/edgetpu issues.
 * The constraint checks themselves (functions over the IR) are in constraints.ts, keyed by id.
 */

/** Axis's copy of Coral's supported-operations table (ARTPEC-7 uses the Edge TPU). */
export const AXIS_TABLE = 'https://developer.axis.com/computer-vision/on-device/system-on-chip/artpec-7/supported-ops/';
/** An early (2019, quantization-aware-training era) copy of Coral's table. */
export const TABLE_2019 = 'github.com/dgist-datalab/Datalab_Intern Edge_TPU/convert_model_for_Edge_TPU.md';
/** Said when no stored source confirms a rule (the rule is kept as it was). */
export const NO_SOURCE = 'no source found here (rule kept as it was)';

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
  | 'quantize-integer-input'
  | 'strided-slice-masks'
  | 'squeeze-leading-ones';

export interface ConstraintSpec {
  /** What is required, in reef's words (shown as the detail of a failure). */
  text: string;
  /** Which compiler status a failure is reported with. */
  reason: ReasonKey;
  hint?: string;
  /** Compilers from this major version on no longer impose the constraint. */
  untilCompiler?: number;
  /** Where the rule comes from (also in docs/edgetpu.md). */
  evidence: string;
}

export const CONSTRAINTS: Record<ConstraintId, ConstraintSpec> = {
  'no-fused-activation': {
    text: 'no fused activation function',
    reason: 'unspecified',
    hint: 'move the activation into a separate RELU/RELU6 operator',
    evidence: `coral.ai table rows AveragePool2d, MaxPool2d, Concatenation: "No fused activation function." (${AXIS_TABLE})`,
  },
  'equal-dilation': {
    text: 'the same dilation in x and y',
    reason: 'unspecified',
    evidence: `coral.ai table rows Conv2d, DepthwiseConv2d: "Must use the same dilation in x and y dimensions." (${AXIS_TABLE})`,
  },
  'unit-strides': {
    text: 'all strides equal to 1',
    reason: 'stridedSlice',
    hint: 'slice with strides of 1 (e.g. a strided slice followed by a stride-2 pooling or convolution), or compile with edgetpu_compiler 16',
    untilCompiler: 16,
    evidence: `v15_yolov5s_console.txt:32 "STRIDED_SLICE 4 Only Strided-Slice with unitary strides supported"; ` +
      `the same yolov5s graph under compiler 16: v16_yolov5s_224_sa_console.txt:26 "STRIDED_SLICE 13 Mapped to Edge TPU" (all 13, the 4 stride-2 Focus slices included); ` +
      `coral.ai table row StridedSlice: "Supported only when all strides are equal to 1" (${TABLE_2019})`,
  },
  'softmax-1d': {
    text: 'a 1-D input (only the innermost dimension above 1) of at most 16000 elements',
    reason: 'unspecified',
    evidence: `coral.ai table row Softmax: "Supports only 1D input tensor with a max of 16,000 elements." (${TABLE_2019})`,
  },
  'fc-default-weights': {
    text: 'the default weights format',
    reason: 'unspecified',
    evidence: `coral.ai table row FullyConnected: "Only the default format is supported for fully-connected weights." (${AXIS_TABLE})`,
  },
  'fc-1d-output': {
    text: 'a one-dimensional output (only the innermost dimension above 1)',
    reason: 'unspecified',
    hint: 'set keep_num_dims=False or reshape to [1, N] before the fully-connected layer',
    evidence: `coral.ai table row FullyConnected: "Output tensor is one-dimensional." (${AXIS_TABLE})`,
  },
  'no-batch-axis': {
    text: 'no operation along the batch dimension',
    reason: 'unspecified',
    evidence: `coral.ai table rows Mean ("No reduction in batch dimension"), Pack ("No packing in batch dimension"), Pad ("No padding in batch dimension"), ` +
      `ReduceMax/ReduceMin ("Cannot operate on the batch dimension") (${AXIS_TABLE}); for Split: ${NO_SOURCE} (the early copy lists Split without a limitation)`,
  },
  'concat-const-zero-pad': {
    text: 'a constant input only as the second of exactly 2 inputs, and all zeros (a zero-padding)',
    reason: 'unspecified',
    evidence: `coral.ai table row Concatenation: "If any input is a compile-time constant tensor, there must be only 2 inputs, and this constant tensor must be all zeros" (${AXIS_TABLE})`,
  },
  'prelu-alpha-1d': {
    text: 'a 1-dimensional alpha (only the innermost dimension above 1)',
    reason: 'unspecified',
    hint: 'with Keras PReLU on 4-D input, use shared_axes=[1, 2]',
    evidence: `coral.ai table row PReLU: "Alpha must be 1-dimensional (only the innermost dimension can be >1 size)" (${AXIS_TABLE})`,
  },
  'mean-z-multiple-4': {
    text: 'a reduction over the channel (z) dimension only when it is a multiple of 4',
    reason: 'unspecified',
    evidence: `coral.ai table row Mean: "If a z-reduction, the z-dimension must be multiple of 4." (${AXIS_TABLE})`,
  },
  'resize-integer-scale': {
    text: 'an integer scale between input and output (with align_corners: (out-1)/(in-1) an integer, and in > 1)',
    reason: 'unspecified',
    hint: 'resize in steps of an integer factor, or do this resize on the CPU after the model',
    evidence: 'deeplabv3_mnv2_dm05_pascal_quant pair: RESIZE_BILINEAR [1,1,1,256] -> [1,33,33,256] (align_corners) left on the CPU; ' +
      'google-coral/edgetpu#31: the compiler refuses resizes that lose precision; ' +
      `coral.ai table rows ResizeBilinear/ResizeNearestNeighbor: "Depending on input/output size, this operation may not be mapped to the Edge TPU to avoid loss in precision" (${AXIS_TABLE}, ${TABLE_2019}); ` +
      'the integer-scale test itself is inferred from the one deeplab data point',
  },
  'quantize-integer-input': {
    text: 'an integer (int8/uint8/int16) input: a float -> integer QUANTIZE stays on the CPU',
    reason: 'unspecified',
    hint: 'give the model integer I/O (converter inference_input_type=tf.uint8 or tf.int8; reef quantize --io uint8)',
    evidence: 'v15_mnist.log:10 "QUANTIZE 1 Operation is otherwise supported, but not mapped due to some unspecified limitation" (the float input QUANTIZE)',
  },
  'strided-slice-masks': {
    text: 'ellipsis_mask == 0 and new_axis_mask == 0',
    reason: 'unspecified',
    hint: 'index without ... or tf.newaxis (reshape separately)',
    evidence: `coral.ai table row StridedSlice: "with ellipsis-axis-mask == 0, and new-axis-max == 0" (${TABLE_2019}); ` +
      'no log here shows the compiler\'s words for it, so reef reports the generic "otherwise supported" status',
  },
  'squeeze-leading-ones': {
    text: 'only leading size-1 dimensions squeezed (no relayout): [1,5,10] is fine, [5,1,10] is not',
    reason: 'unspecified',
    hint: 'reshape instead, or squeeze before the non-1 dimensions',
    evidence: `coral.ai table row Squeeze: "Supported only when input tensor dimensions that have leading 1s (that is, no relayout needed). ` +
      `For example input tensor with [y][x][z] = 1,1,10 or 1,5,10 is ok. But [y][x][z] = 5,1,10 is not supported." (${TABLE_2019}); ` +
      'the current coral.ai row could not be read here; the compiler\'s status for it is not in any log here',
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
  /**
   * Operator versions the compiler's own TFLite cannot even read: [compiler major up to which, highest readable version].
   * Above it the compiler refuses the whole model ("Didn't find op for builtin opcode ...").
   */
  readableUpTo?: Array<[number, number]>;
  constraints?: ConstraintId[];
  /** Tensors that may be int16 besides int8/uint8 (LSTM state). */
  allowInt16?: boolean;
  /** True when the operator is listed but its output is never an integer on the TPU (DEQUANTIZE). */
  integerOnly?: boolean;
  /** Where the rule comes from: a source for each part, or {@link NO_SOURCE}. */
  evidence: string;
}

/** The compiler version reef predicts for when none is given (the last one released). */
export const DEFAULT_COMPILER_VERSION = 16;

const row = (name: string, limits?: string): string => `coral.ai table row ${name}${limits ? `: "${limits}"` : ' (no limitation listed)'} (${AXIS_TABLE})`;
const row2019 = (name: string, limits?: string): string => `coral.ai table row ${name}${limits ? `: "${limits}"` : ' (no limitation listed)'} (${TABLE_2019})`;
const VERSIONS_UNSOURCED = `max op version: ${NO_SOURCE}`;

/** Supported operators (coral.ai "Supported operations"), keyed by TFLite opcode name. */
export const OP_RULES: Record<string, OpRule> = {
  ADD: { maxVersion: 2, evidence: `${row('Add')}; v16_yolov5s_224_sa_console.txt:37 "ADD 10 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  AVERAGE_POOL_2D: { maxVersion: 2, constraints: ['no-fused-activation'], evidence: `${row('AveragePool2d', 'No fused activation function.')}; mobilenet pairs: mapped; ${VERSIONS_UNSOURCED}` },
  CONCATENATION: { maxVersion: 2, constraints: ['no-fused-activation', 'concat-const-zero-pad'], evidence: `${row('Concatenation', 'No fused activation function. If any input is a compile-time constant tensor, there must be only 2 inputs, and this constant tensor must be all zeros')}; v16_yolov5s_224_sa_console.txt:25 "CONCATENATION 17 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  CONV_2D: { maxVersion: 3, constraints: ['equal-dilation'], evidence: `${row('Conv2d', 'Must use the same dilation in x and y dimensions.')}; v16_yolov5s_224_sa_console.txt:39 "CONV_2D 62 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  DEPTHWISE_CONV_2D: { maxVersion: 3, constraints: ['equal-dilation'], evidence: `${row('DepthwiseConv2d', 'Must use the same dilation in x and y dimensions.')}; deeplabv3 pair: dilated (2,2) v2 mapped; ${VERSIONS_UNSOURCED}` },
  EXPAND_DIMS: { maxVersion: 1, evidence: `${row('ExpandDims')}; ${VERSIONS_UNSOURCED}` },
  FULLY_CONNECTED: { maxVersion: 4, constraints: ['fc-default-weights', 'fc-1d-output'], evidence: `${row('FullyConnected', 'Only the default format is supported for fully-connected weights. Output tensor is one-dimensional.')}; keras_lstm_mnist_ptq pair: FULLY_CONNECTED v4 mapped` },
  L2_NORMALIZATION: { maxVersion: 2, evidence: `${row('L2Normalization')}; ${VERSIONS_UNSOURCED}` },
  LOGISTIC: { maxVersion: 2, evidence: `${row('Logistic')}; v16_yolov5s_224_sa_console.txt:30 "LOGISTIC 62 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  UNIDIRECTIONAL_SEQUENCE_LSTM: { maxVersion: 1, allowInt16: true, evidence: `${row('LSTM', 'Unidirectional LSTM only.')}; keras_lstm_mnist_ptq pair: mapped, int16 cell state included` },
  LSTM: { maxVersion: 1, allowInt16: true, evidence: `${row('LSTM', 'Unidirectional LSTM only.')}; whether the row also means the single-step LSTM builtin: ${NO_SOURCE}` },
  MAXIMUM: { maxVersion: 2, evidence: `${row('Maximum')}; ${VERSIONS_UNSOURCED}` },
  MAX_POOL_2D: { maxVersion: 2, constraints: ['no-fused-activation'], evidence: `${row('MaxPool2d', 'No fused activation function.')}; v15_mnist.log:12 "MAX_POOL_2D 2 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  MEAN: { maxVersion: 2, constraints: ['no-batch-axis', 'mean-z-multiple-4'], evidence: `${row('Mean', 'No reduction in batch dimension. If a z-reduction, the z-dimension must be multiple of 4.')}; ${VERSIONS_UNSOURCED}` },
  MINIMUM: { maxVersion: 2, evidence: `${row('Minimum')}; ${VERSIONS_UNSOURCED}` },
  MUL: { maxVersion: 2, evidence: `${row('Mul')}; v16_yolov5s_224_sa_console.txt:38 "MUL 80 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  PACK: { maxVersion: 2, constraints: ['no-batch-axis'], evidence: `${row('Pack', 'No packing in batch dimension.')}; ${VERSIONS_UNSOURCED}` },
  PAD: { maxVersion: 2, constraints: ['no-batch-axis'], evidence: `${row('Pad', 'No padding in batch dimension.')}; v16_yolov5s_224_sa_console.txt:34 "PAD 6 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  PRELU: { maxVersion: 1, constraints: ['prelu-alpha-1d'], evidence: `${row('PReLU', 'Alpha must be 1-dimensional (only the innermost dimension can be >1 size).')}; ${VERSIONS_UNSOURCED}` },
  QUANTIZE: { maxVersion: 2, constraints: ['quantize-integer-input'], evidence: `${row('Quantize')}; keras_lstm_mnist_ptq pair: uint8->int8 and int8->uint8 QUANTIZE mapped; v16_yolov5s_224_sa_console.txt:32 "QUANTIZE 24 Mapped to Edge TPU"` },
  DEQUANTIZE: { maxVersion: 2, integerOnly: true, evidence: 'not a row of the coral.ai table (it sorts between DepthwiseConv2d and ExpandDims, and is absent there: ' + AXIS_TABLE + '; google-coral/edgetpu#659), yet the compiler knows it: v15_mnist.log:11 "DEQUANTIZE 1 Operation is working on an unsupported data type"; blazeface_front_quant_edgetpu keeps both DEQUANTIZE on the CPU' },
  REDUCE_MAX: { maxVersion: 2, constraints: ['no-batch-axis'], evidence: `${row('ReduceMax', 'Cannot operate on the batch dimension.')}; ${VERSIONS_UNSOURCED}` },
  REDUCE_MIN: { maxVersion: 2, constraints: ['no-batch-axis'], evidence: `${row('ReduceMin', 'Cannot operate on the batch dimension.')}; ${VERSIONS_UNSOURCED}` },
  RELU: { maxVersion: 2, evidence: `${row('ReLU')}; ${VERSIONS_UNSOURCED}` },
  RELU6: { maxVersion: 2, evidence: `${row('ReLU6')}; ${VERSIONS_UNSOURCED}` },
  RELU_N1_TO_1: { maxVersion: 1, evidence: `${row('ReLUN1To1')}; ${VERSIONS_UNSOURCED}` },
  RESHAPE: { maxVersion: 1, evidence: `${row('Reshape', 'Certain reshapes might not be mapped for large tensor sizes.')} (no size is given: not modelled); v15_mnist.log:7 "RESHAPE 1 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  RESIZE_BILINEAR: { maxVersion: 3, maxVersionBefore: [16, 2], readableUpTo: [[2, 2]], constraints: ['resize-integer-scale'],
    evidence: `${row('ResizeBilinear', 'Input/output is a 3-dimensional tensor. Depending on input/output size, this operation might not be mapped to the Edge TPU to avoid loss in precision.')}; ` +
      `google-coral/edgetpu#396 (v15): "RESIZE_BILINEAR 2 Operation version not supported"; google-coral/edgetpu#45: compiler 2.0 "Didn't find op for builtin opcode 'RESIZE_BILINEAR' version '3'"; that v16 takes v3: by analogy with RESIZE_NEAREST_NEIGHBOR only` },
  RESIZE_NEAREST_NEIGHBOR: { maxVersion: 3, maxVersionBefore: [16, 2], constraints: ['resize-integer-scale'],
    evidence: `${row2019('ResizeNearestNeighbor', 'Input/output is a 3-dimensional tensor. Depending on input/output size, this operation may not be mapped to the Edge TPU to avoid loss in precision.')}; ` +
      'v14.1_tiny_yolo.log:9 "RESIZE_NEAREST_NEIGHBOR 1 Operation version not supported"; v15_yolov5s_console.txt:35 "RESIZE_NEAREST_NEIGHBOR 2 Operation version not supported"; v16_yolov5s_224_sa_console.txt:23 "RESIZE_NEAREST_NEIGHBOR 2 Mapped to Edge TPU"' },
  RSQRT: { maxVersion: 2, evidence: `table row: ${NO_SOURCE}` },
  SLICE: { maxVersion: 2, evidence: `${row2019('Slice')}; ${VERSIONS_UNSOURCED}` },
  SOFTMAX: { maxVersion: 2, constraints: ['softmax-1d'], evidence: `${row2019('Softmax', 'Supports only 1D input tensor with a max of 16,000 elements.')}; v15_mnist.log:9 "SOFTMAX 1 Mapped to Edge TPU"; keras_lstm_mnist_ptq pair: SOFTMAX v2 mapped` },
  SPACE_TO_DEPTH: { maxVersion: 2, evidence: `${row2019('SpaceToDepth')}; ${VERSIONS_UNSOURCED}` },
  SPLIT: { maxVersion: 2, constraints: ['no-batch-axis'], evidence: `${row2019('Split')}; split_concat pair: channel-axis SPLIT mapped; batch-axis limit: ${NO_SOURCE}` },
  SQUEEZE: { maxVersion: 1, constraints: ['squeeze-leading-ones'], evidence: `${row2019('Squeeze', 'Supported only when input tensor dimensions that have leading 1s (that is, no relayout needed).')} (so in the table from the early compilers on); ${VERSIONS_UNSOURCED}` },
  STRIDED_SLICE: { maxVersion: 2, constraints: ['unit-strides', 'strided-slice-masks'],
    evidence: `${row2019('StridedSlice', 'Supported only when all strides are equal to 1 (that is, effectively a Stride op), and with ellipsis-axis-mask == 0, and new-axis-max == 0.')} (so in the table from the early compilers on); ` +
      'v15_yolov5s_console.txt:31 "STRIDED_SLICE 9 More than one subgraph is not supported"; v16_yolov5s_224_sa_console.txt:26 "STRIDED_SLICE 13 Mapped to Edge TPU"; ' + VERSIONS_UNSOURCED },
  SUB: { maxVersion: 2, evidence: `${row2019('Sub')}; v16_yolov5s_224_sa_console.txt:33 "SUB 3 Mapped to Edge TPU"; ${VERSIONS_UNSOURCED}` },
  SUM: { maxVersion: 1, evidence: `table row and its batch-axis limit: ${NO_SOURCE}` },
  SQUARED_DIFFERENCE: { maxVersion: 1, minCompiler: 14, evidence: `table row and minimum compiler 14: ${NO_SOURCE}` },
  TANH: { maxVersion: 2, evidence: `${row2019('Tanh')}; ${VERSIONS_UNSOURCED}` },
  TRANSPOSE: { maxVersion: 2, minCompiler: 16,
    evidence: 'v15_yolov5s_console.txt:26 "TRANSPOSE 3 Operation not supported"; v16_yolov5s_224_sa_console.txt:28 "TRANSPOSE 2 Mapped to Edge TPU"; ' +
      `google-coral/edgetpu#193 (Coral, 2021-08-03): "Compiler version 16 supports 'Transpose' operations"; ` + VERSIONS_UNSOURCED },
  TRANSPOSE_CONV: { maxVersion: 3, minCompiler: 14, readableUpTo: [[2, 2], [16, 3]],
    evidence: 'in the coral.ai table (google-coral/edgetpu#684; #64 quotes it as "supported as of ... runtime version 13.0"); minimum compiler 14: ' + NO_SOURCE + '; ' +
      'google-coral/edgetpu#686: compiler 16 maps 3 of 4 TF 2.10 Conv2DTranspose (version 3, with bias); ' +
      `#147/#358: compiler 2.1 "Didn't find op for builtin opcode 'TRANSPOSE_CONV' version '3'" while 14.1 and 15 read it; ` +
      `#845: compiler 16.0 "Didn't find op for builtin opcode 'TRANSPOSE_CONV' version '4'" (workaround there: converter.experimental_new_converter = False)` },
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
  BIDIRECTIONAL_SEQUENCE_LSTM: 'the Edge TPU takes unidirectional LSTMs only: use a unidirectional LSTM (or two, one on the reversed sequence)',
};
