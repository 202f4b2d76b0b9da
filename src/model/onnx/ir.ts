/**
 * reef's IR for ONNX models (a faithful subset of onnx.proto: what reef reads, inspects and
 * converts). Field numbers follow onnx/onnx.proto (IR version 3..10).
 */
import type { DType } from '../../types.js';

/** ONNX TensorProto.DataType number -> reef dtype ('unknown' for types reef has no name for). */
export const ONNX_DTYPE: Record<number, DType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128',
};

/** Names of all ONNX data types, for messages. */
export const ONNX_DTYPE_NAME: Record<number, string> = {
  0: 'UNDEFINED', 1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING',
  9: 'BOOL', 10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128',
  16: 'BFLOAT16', 17: 'FLOAT8E4M3FN', 18: 'FLOAT8E4M3FNUZ', 19: 'FLOAT8E5M2', 20: 'FLOAT8E5M2FNUZ', 21: 'UINT4', 22: 'INT4',
};

export interface OnnxExternalData {
  location: string;
  offset?: number;
  length?: number;
  checksum?: string;
}

export interface OnnxTensor {
  name: string;
  /** ONNX data type number (TensorProto.DataType). */
  dataType: number;
  dtype: DType;
  dims: number[];
  /** raw_data, a view into the model bytes. */
  rawData?: Uint8Array;
  /** float_data / int32_data / int64_data / double_data / uint64_data, whichever was used. */
  values?: number[];
  /** string_data. */
  strings?: Uint8Array[];
  /** Set when the data lives in a file beside the model (data_location = EXTERNAL). */
  external?: OnnxExternalData;
  docString?: string;
}

export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  /** 'tensor' for tensor types; other kinds (sequence, map, optional, sparse_tensor) carry no shape here. */
  kind: 'tensor' | 'sequence' | 'map' | 'optional' | 'sparse_tensor' | 'none';
  elemType: number;
  dtype: DType;
  /** Dimensions: numbers, or the symbolic name ('batch'), or '?' for an unnamed unknown. */
  shape: OnnxDim[];
  /** False when the type has no shape at all (rank unknown). */
  hasShape: boolean;
}

export type OnnxAttribute =
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'tensor'; value: OnnxTensor }
  | { name: string; type: 'graph'; value: OnnxGraph }
  | { name: string; type: 'floats'; value: number[] }
  | { name: string; type: 'ints'; value: number[] }
  | { name: string; type: 'strings'; value: string[] }
  | { name: string; type: 'tensors'; value: OnnxTensor[] }
  | { name: string; type: 'graphs'; value: OnnxGraph[] }
  | { name: string; type: 'sparse_tensor' | 'sparse_tensors' | 'type_proto' | 'type_protos' | 'undefined'; value: null }
  | { name: string; type: 'ref'; value: string };

export interface OnnxNode {
  name: string;
  opType: string;
  /** '' for the default ai.onnx domain. */
  domain: string;
  /** Input names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  sparseInitializers: number;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxFunction {
  name: string;
  domain: string;
  nodes: OnnxNode[];
}

export interface OnnxModel {
  irVersion: number;
  /** Opset version by domain ('' = ai.onnx). */
  opsets: Record<string, number>;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: OnnxGraph;
  metadataProps: Record<string, string>;
  functions: OnnxFunction[];
  /** Shapes of intermediate values inferred by reef (name -> dims), filled by readOnnx. */
  inferredShapes?: Map<string, number[]>;
}

/** Get a node attribute by name. */
export function attr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes.find((a) => a.name === name);
}
