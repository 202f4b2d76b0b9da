/**
 * reef's graph IR for TensorFlow Lite models: what readTflite() returns and writeTflite() takes.
 *
 * It mirrors the flatbuffer closely (indices stay indices, so edits are cheap and explicit)
 * with three simplifications: operators carry their opcode name, custom code and version
 * directly (the writer rebuilds the operator_codes table), tensor types use reef's dtype
 * names, and buffers are plain Uint8Array views into the bytes read (never copies).
 */
import type { DType } from '../../types.js';
import type {
  BuiltinOptions,
  BuiltinOptions2,
  QuantizationDetails,
  SparsityParameters,
  VariantSubType,
} from './schema.generated.js';

export type { BuiltinOptions, BuiltinOptions2 } from './schema.generated.js';

/** Quantization of a tensor: real = scale[i] * (q - zeroPoint[i]), i along quantizedDimension. */
export interface TfliteQuantization {
  /** One value per tensor (per-tensor) or one per slice along quantizedDimension (per-axis). */
  scale: number[];
  zeroPoint: number[];
  /** The axis the per-axis scales run along (0 for per-tensor). */
  quantizedDimension: number;
  min?: number[];
  max?: number[];
  details?: QuantizationDetails;
}

export interface TfliteTensor {
  name: string;
  dtype: DType;
  /** The TensorType number when dtype cannot name it (UINT16, INT4 -> dtype 'unknown'). */
  tfliteType?: number;
  shape: number[];
  /** Shape with -1 for dimensions unknown at conversion time (e.g. batch). */
  shapeSignature?: number[];
  /** Index into {@link TfliteModel.buffers}; 0 is the empty sentinel (no constant data). */
  buffer: number;
  quantization?: TfliteQuantization;
  isVariable: boolean;
  hasRank: boolean;
  sparsity?: SparsityParameters;
  variantTensors?: VariantSubType[];
}

export interface TfliteOperator {
  /** BuiltinOperator name ('CONV_2D', ...), 'CUSTOM', or 'BUILTIN_<n>' for a code this schema does not know. */
  opcode: string;
  /** For CUSTOM ops: the custom code ('edgetpu-custom-op', 'TFLite_Detection_PostProcess'). */
  customCode?: string;
  /** Op version from the operator_codes table. */
  version: number;
  /** Tensor indices into the subgraph's tensors; -1 is an omitted optional input. */
  inputs: number[];
  outputs: number[];
  intermediates?: number[];
  builtinOptions?: BuiltinOptions;
  builtinOptions2?: BuiltinOptions2;
  /** Custom options bytes (a view into the model bytes). For TFLite builtins-as-custom they are FlexBuffers. */
  customOptions?: Uint8Array;
  customOptionsFormat: number;
  mutatingVariableInputs?: boolean[];
}

export interface TfliteSubgraph {
  name?: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  /** In execution order. */
  operators: TfliteOperator[];
}

export interface TfliteTensorMap {
  name: string;
  tensorIndex: number;
}

export interface TfliteSignatureDef {
  signatureKey?: string;
  subgraphIndex: number;
  inputs: TfliteTensorMap[];
  outputs: TfliteTensorMap[];
}

export interface TfliteMetadataEntry {
  name: string;
  buffer: number;
}

/** A file packed into the zip archive that TFLite metadata tools append to a model. */
export interface TfliteAssociatedFile {
  name: string;
  data: Uint8Array;
}

export interface TfliteModel {
  /** Schema version (3 for every current model). */
  version: number;
  description?: string;
  subgraphs: TfliteSubgraph[];
  /** Raw data buffers; index 0 is the empty sentinel. */
  buffers: Uint8Array[];
  metadata: TfliteMetadataEntry[];
  /** The deprecated `metadata_buffer` list, kept for round trips. */
  metadataBuffer?: number[];
  signatureDefs: TfliteSignatureDef[];
  /** Files of the zip appended after the flatbuffer (labels etc.), in archive order. */
  associatedFiles?: TfliteAssociatedFile[];
}

/** Bytes per element of each fixed-size dtype (string/resource/variant have none). */
export const DTYPE_SIZE: Partial<Record<DType, number>> = {
  float32: 4, float16: 2, float64: 8, int8: 1, uint8: 1, int16: 2, int32: 4, int64: 8,
  uint32: 4, uint64: 8, bool: 1, complex64: 8, complex128: 16,
};
