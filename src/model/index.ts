/** reef's model tooling: read, validate, edit and write .tflite and .onnx models (the report over them is src/inspect/). */
export { readTflite, validateTflite, validateModel, isTflite, builtinName, calledSubgraphs, MAX_TENSOR_BYTES } from './tflite/reader.js';
export { writeTflite, builtinCode } from './tflite/writer.js';
export { detectDefects, describeDefect, repairDefects, repairTflite } from './tflite/defects.js';
export type { ModelDefect, DefectKind, RepairResult } from './tflite/defects.js';
export { readTfliteMetadata, encodeTfliteMetadata, TFLITE_METADATA } from './tflite/metadata.js';
export type { TfliteMetadataSummary, TensorMetadataSummary, ModelMetadata } from './tflite/metadata.js';
export {
  addBuffer, addTensor, addOperator, removeOperator, rewire, exposeAsOutputs, consumers, producers,
  topologicalOrder, sortOperators, removeDeadTensors, removeUnusedBuffers,
} from './tflite/edit.js';
export { decodeFlexbuffer, readFlexbuffer, FlexRef, FlexType, FlexbufferError } from './flexbuffer.js';
export type { FlexValue } from './flexbuffer.js';
export type {
  TfliteModel, TfliteSubgraph, TfliteTensor, TfliteOperator, TfliteQuantization, TfliteSignatureDef,
  TfliteMetadataEntry, TfliteAssociatedFile, BuiltinOptions, BuiltinOptions2,
} from './tflite/ir.js';
export { readOnnx, readOnnxFile, resolveExternalData, isOnnx } from './onnx/reader.js';
export type { OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo, OnnxAttribute } from './onnx/ir.js';
export { tfliteOpCost } from './macs.js';
