/**
 * Small single-operator int8 TFLite models, built from scratch with reef's IR and writer, for the
 * per-rule checks of the Edge TPU table (test/edgetpu/rules.test.ts). Each is a real flatbuffer
 * that readTflite parses; the tests also load the ones TensorFlow Lite 2.9 has kernels for.
 */
import type { BuiltinOptions, TfliteModel, TfliteTensor } from '../../src/model/tflite/ir.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import type { DType } from '../../src/types.js';

/** One tensor of the model: `data` makes it a constant, otherwise it is a model input (or the output). */
export interface TensorSpec {
  dtype: DType;
  shape: number[];
  data?: ArrayBufferView;
  /** Quantization (int8/uint8/int32 bias); default scale 0.5, zero point 0. */
  scale?: number;
  zeroPoint?: number;
}

export const int32 = (...v: number[]): TensorSpec => ({ dtype: 'int32', shape: [v.length], data: new Int32Array(v) });
export const int8 = (...shape: number[]): TensorSpec => ({ dtype: 'int8', shape });

/** A model with one operator: its inputs (constants where `data` is given) and outputs, in order. */
export function singleOpModel(opcode: string, version: number, inputs: Array<TensorSpec | null>, outputs: TensorSpec[], builtinOptions?: BuiltinOptions): Uint8Array {
  const buffers: Uint8Array[] = [new Uint8Array(0)];
  const tensors: TfliteTensor[] = [];
  const add = (spec: TensorSpec, name: string): number => {
    let buffer = 0;
    if (spec.data) {
      buffers.push(new Uint8Array(spec.data.buffer, spec.data.byteOffset, spec.data.byteLength));
      buffer = buffers.length - 1;
    }
    const quantized = spec.dtype === 'int8' || spec.dtype === 'uint8' || spec.scale !== undefined;
    tensors.push({
      name, dtype: spec.dtype, shape: spec.shape, buffer, isVariable: false, hasRank: true,
      ...(quantized ? { quantization: { scale: [spec.scale ?? 0.5], zeroPoint: [spec.zeroPoint ?? 0], quantizedDimension: 0 } } : {}),
    });
    return tensors.length - 1;
  };
  const inIdx = inputs.map((t, i) => (t === null ? -1 : add(t, `in${i}`)));
  const outIdx = outputs.map((t, i) => add(t, `out${i}`));
  const model: TfliteModel = {
    version: 3,
    subgraphs: [{
      tensors,
      inputs: inIdx.filter((i) => i >= 0 && tensors[i]!.buffer === 0),
      outputs: outIdx,
      operators: [{ opcode, version, inputs: inIdx, outputs: outIdx, customOptionsFormat: 0, ...(builtinOptions ? { builtinOptions } : {}) }],
    }],
    buffers,
    metadata: [],
    signatureDefs: [],
  };
  return writeTflite(model);
}

/** STRIDED_SLICE of an int8 [1,8,8,4] input with the given strides (begin 0, end the full shape). */
export function stridedSliceModel(strides: number[], masks: { ellipsisMask?: number; newAxisMask?: number } = {}, outShape = [1, 8 / strides[1]!, 8 / strides[2]!, 4 / strides[3]!]): Uint8Array {
  return singleOpModel('STRIDED_SLICE', 2, [int8(1, 8, 8, 4), int32(0, 0, 0, 0), int32(1, 8, 8, 4), int32(...strides)], [int8(...outShape)], {
    type: 'StridedSliceOptions',
    value: { beginMask: 0, endMask: 0, ellipsisMask: masks.ellipsisMask ?? 0, newAxisMask: masks.newAxisMask ?? 0, shrinkAxisMask: 0, offset: false },
  });
}

/** SQUEEZE of an int8 input over `dims`. */
export function squeezeModel(shape: number[], dims: number[]): Uint8Array {
  const out = shape.filter((_, i) => !dims.includes(i));
  return singleOpModel('SQUEEZE', 1, [int8(...shape)], [int8(...out)], { type: 'SqueezeOptions', value: { squeezeDims: dims } });
}

/** TRANSPOSE_CONV (stride 2, 2x2 kernel) from int8 [1,4,4,8] to [1,8,8,4], with an int32 bias from version 3 on. */
export function transposeConvModel(version: number): Uint8Array {
  const weights: TensorSpec = { dtype: 'int8', shape: [4, 2, 2, 8], data: new Int8Array(4 * 2 * 2 * 8).fill(1) };
  const bias: TensorSpec = { dtype: 'int32', shape: [4], data: new Int32Array(4), scale: 0.25 };
  return singleOpModel('TRANSPOSE_CONV', version, [int32(1, 8, 8, 4), weights, int8(1, 4, 4, 8), ...(version >= 3 ? [bias] : [])], [int8(1, 8, 8, 4)], {
    type: 'TransposeConvOptions', value: { padding: 0, strideW: 2, strideH: 2, fusedActivationFunction: 0, quantizedBiasType: 0 },
  });
}

/** RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR of int8 [1,4,4,8] to [1,8,8,8] at operator version `version`. */
export function resizeModel(opcode: 'RESIZE_NEAREST_NEIGHBOR' | 'RESIZE_BILINEAR', version: number): Uint8Array {
  const options: BuiltinOptions = opcode === 'RESIZE_BILINEAR'
    ? { type: 'ResizeBilinearOptions', value: { alignCorners: false, halfPixelCenters: version >= 3 } }
    : { type: 'ResizeNearestNeighborOptions', value: { alignCorners: false, halfPixelCenters: version >= 3 } };
  return singleOpModel(opcode, version, [int8(1, 4, 4, 8), int32(8, 8)], [int8(1, 8, 8, 8)], options);
}
