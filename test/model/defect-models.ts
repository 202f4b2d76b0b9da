/**
 * Models with the quantized_dimension converter defect, made from a shared int8 model with the
 * IR's edit helpers (no shared model has it). TFLite 2.9 refuses each one (defects.test.ts checks
 * that through TFLite itself).
 */
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import type { TfliteTensor } from '../../src/model/tflite/ir.js';
import { sharedBytes } from '../shared.js';

export const DEFECT_SOURCE = 'models/tflite/vww_96_int8.tflite';

/** The first tensor of vww_96_int8 `pick` accepts gets quantized_dimension `qd`; returns the bytes and the tensor's index. */
export function withQuantizedDimension(pick: (t: TfliteTensor) => boolean, qd: number): { bytes: Uint8Array; tensor: number; name: string } {
  const model = readTflite(sharedBytes(DEFECT_SOURCE));
  const tensors = model.subgraphs[0]!.tensors;
  const tensor = tensors.findIndex(pick);
  if (tensor < 0) throw new Error(`no tensor of ${DEFECT_SOURCE} fits`);
  tensors[tensor]!.quantization!.quantizedDimension = qd;
  return { bytes: writeTflite(model), tensor, name: tensors[tensor]!.name };
}

const perChannel = (t: TfliteTensor): boolean => (t.quantization?.scale.length ?? 0) > 1;

/** The defect as older converters wrote it: a 1-D per-channel bias with quantized_dimension 3 (fixable). */
export const biasDefect = (): ReturnType<typeof withQuantizedDimension> => withQuantizedDimension((t) => t.shape.length === 1 && perChannel(t), 3);
/** A per-axis 4-D filter with quantized_dimension 4: which axis was meant is ambiguous (no fix). */
export const filterDefect = (): ReturnType<typeof withQuantizedDimension> => withQuantizedDimension((t) => t.shape.length === 4 && perChannel(t), 4);
/** The per-tensor input with quantized_dimension -1 (the dimension is never read: fixable). */
export const perTensorDefect = (): ReturnType<typeof withQuantizedDimension> => withQuantizedDimension((t) => t.shape.length === 4 && t.quantization?.scale.length === 1, -1);
