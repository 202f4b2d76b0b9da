/** reef's model report (`reef inspect`): I/O, operators, MACs, parameters, metadata, Edge TPU packages, defects. */
export { inspectModel, inspectTflite, inspectOnnx, formatInspect } from './report.js';
export type { InspectReport, InspectOperator, InspectTensor, QuantizationKind } from './report.js';
