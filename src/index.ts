/**
 * reef: take a trained model to a small device and run it there, fast.
 * @packageDocumentation
 */
export { load, Session } from './runtime/session.js';
export type { LoadOptions, Feed, Feeds, RunOptions, Outputs, TimedOutputs, LoadTimings, SessionVariant, SessionBundle } from './runtime/session.js';
export { ReefError, ERROR_CODES, isReefError } from './errors.js';
export type { ReefErrorCode, ErrorCodeInfo } from './errors.js';
export { quantize, dequantize } from './quant.js';
export type { QuantizedDType } from './quant.js';
export { topK } from './tasks/classify.js';
export type { Class } from './tasks/classify.js';
export { readLabels, parseLabels } from './labels.js';
export { imageToInput, decodeImage, pixelsToInput, DEFAULT_NORMALIZATION } from './image/preprocess.js';
export type { Normalization } from './image/preprocess.js';
export { listProfiles, getProfile, hostProfile, probeHost, matchProfile } from './devices.js';
export type { DeviceProfile, HostFacts } from './devices.js';
export { libraryInfo } from './runtime/info.js';
export type { DType, TensorInfo, Tensor, TypedArray, Quantization } from './types.js';

// Model tooling: read, validate, edit and write .tflite and .onnx models.
export * from './model/index.js';
// The model report (reef inspect).
export * from './inspect/index.js';
// Post-training int8 quantization with calibration.
export { quantizeTflite } from './quantize/pipeline.js';
export type { QuantizeResult } from './quantize/pipeline.js';
export { loadSamples } from './quantize/data.js';
// Edge TPU: support check, partition prediction, compiled-model reading, the compiler.
export { checkEdgetpu, formatCheckReport } from './edgetpu/check.js';
export { predictPartition } from './edgetpu/partition.js';
export { readEdgetpuCustomOp, describeEdgetpuCustomOp } from './edgetpu/custom_op.js';
export { compileEdgetpu, findCompiler } from './edgetpu/compiler.js';
export { parseCompilerLog } from './edgetpu/compiler_log.js';
// .reef bundles.
export { buildBundle } from './package/writer.js';
export { readBundle, openBundle } from './runtime/bundle.js';
export { chooseVariant } from './runtime/variant.js';
export type { Manifest, Variant, Preprocess, Task } from './bundle/manifest.js';
