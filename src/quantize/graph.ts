/**
 * Graph helpers the quantizer needs beyond the IR's own (src/model/tflite/edit.ts, whose
 * add/consumer/producer helpers are re-exported here). Everything works on subgraph 0 unless
 * told otherwise, copies what it changes, and keeps existing tensor indices stable: new
 * tensors and buffers are appended, so tensor i of the float model is tensor i of the
 * quantized one.
 */
import type { TfliteModel, TfliteOperator, TfliteSubgraph, TfliteTensor } from '../model/tflite/ir.js';
import { elementCount } from '../types.js';
import { float16ToNumber } from '../tensor/values.js';

// The IR's own edit helpers; re-exported under the names the quantizer uses.
export { addBuffer, addTensor, consumers as consumersOf, producers as producersOf } from '../model/tflite/edit.js';

/** True when tensor `i` holds constant data (a non-empty buffer). */
export function isConstantTensor(model: TfliteModel, sg: TfliteSubgraph, i: number): boolean {
  const t = sg.tensors[i];
  return t !== undefined && (model.buffers[t.buffer]?.length ?? 0) > 0;
}

/** A shallow-structural copy: new arrays/objects for subgraphs, tensors and operators; buffers shared. */
export function cloneModel(model: TfliteModel): TfliteModel {
  return {
    ...model,
    subgraphs: model.subgraphs.map((sg) => ({
      ...sg,
      tensors: sg.tensors.map((t) => ({ ...t, shape: [...t.shape], ...(t.quantization ? { quantization: { ...t.quantization } } : {}) })),
      inputs: [...sg.inputs],
      outputs: [...sg.outputs],
      operators: sg.operators.map((op) => ({ ...op, inputs: [...op.inputs], outputs: [...op.outputs] })),
    })),
    buffers: [...model.buffers],
    metadata: model.metadata.map((m) => ({ ...m })),
    signatureDefs: model.signatureDefs.map((s) => ({ ...s, inputs: s.inputs.map((m) => ({ ...m })), outputs: s.outputs.map((m) => ({ ...m })) })),
  };
}

/** The float32 values of a constant float32 tensor (a copy, safe for unaligned buffers). */
export function constFloat32(model: TfliteModel, t: TfliteTensor): Float32Array {
  const b = model.buffers[t.buffer]!;
  const out = new Float32Array(elementCount(t.shape));
  new Uint8Array(out.buffer).set(b.subarray(0, out.length * 4));
  return out;
}

/** The int32 values of a constant int32 tensor (a copy). */
export function constInt32(model: TfliteModel, t: TfliteTensor): Int32Array {
  const b = model.buffers[t.buffer]!;
  const out = new Int32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** Bytes of a typed array, as a fresh Uint8Array (what model buffers hold). */
export function bytesOf(a: Float32Array | Int32Array | Int8Array | Uint8Array | Int16Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** Float16 bits -> number (reef's one decoder). */
export const halfToFloat = float16ToNumber;

/** The label used in messages: `operator 7 (CONV_2D)`. */
export function opLabel(op: TfliteOperator, index: number): string {
  return `operator ${index} (${op.customCode ?? op.opcode})`;
}

/**
 * Removes operators (by index) and re-points readers of their outputs at replacement tensors.
 * `rewire` maps a removed operator's output tensor to the tensor that now carries its value.
 */
export function removeOperators(sg: TfliteSubgraph, remove: Set<number>, rewire: Map<number, number>): void {
  const map = (i: number): number => rewire.get(i) ?? i;
  sg.operators = sg.operators.filter((_, oi) => !remove.has(oi));
  for (const op of sg.operators) op.inputs = op.inputs.map((i) => (i < 0 ? i : map(i)));
  sg.outputs = sg.outputs.map(map);
}
