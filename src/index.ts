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
export { topK } from './postprocess/classify.js';
export type { Class } from './postprocess/classify.js';
export { readLabels, parseLabels } from './labels.js';
export { imageToInput, decodeImage, pixelsToInput, DEFAULT_NORMALIZATION } from './image/preprocess.js';
export type { Normalization } from './image/preprocess.js';
export { listProfiles, getProfile, hostProfile, probeHost, matchProfile } from './devices.js';
export type { DeviceProfile, HostFacts } from './devices.js';
export { libraryInfo } from './runtime/info.js';
export type { DType, TensorInfo, Tensor, TypedArray, Quantization } from './types.js';
