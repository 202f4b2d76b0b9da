/**
 * Well-formed models that crash the native TFLite 2.9 library, found by the runtime fuzzer
 * (`npm run fuzz`, fuzz/): each is made here by one IR edit of a shared model, and load() must
 * refuse it with REEF_MODEL_INVALID naming the part, before TFLite sees it. The crash each one
 * caused before the check is noted beside it (seed 1 of `npm run fuzz`).
 */
import { describe, expect, it } from 'vitest';
import { load } from '../../src/index.js';
import type { TfliteModel } from '../../src/model/tflite/ir.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { sharedBytes } from '../shared.js';

function edited(rel: string, edit: (m: TfliteModel) => void): Uint8Array {
  const m = readTflite(sharedBytes(`models/${rel}`));
  edit(m);
  return writeTflite(m);
}
const sg0 = (m: TfliteModel) => m.subgraphs[0]!;
function setOption(m: TfliteModel, op: number, key: string, value: number): void {
  const o = sg0(m).operators[op]!;
  o.builtinOptions = { type: o.builtinOptions!.type, value: { ...(o.builtinOptions!.value as object), [key]: value } } as typeof o.builtinOptions;
}

const CASES: Array<[name: string, bytes: () => Uint8Array, message: string]> = [
  ['a subgraph output that is a constant (SIGSEGV under XNNPACK)',
    () => edited('tflite/ops/conv.float32.tflite', (m) => { sg0(m).outputs = [1]; }),
    "subgraph 0, output 0: tensor 1 ('Variable/read') is a constant: constant outputs crash TFLite 2.9 under XNNPACK"],
  ['a required input left out (-1) (SIGSEGV in STRIDED_SLICE)',
    () => edited('tflite/ops/stridedslice-beginmask.float32.tflite', (m) => { sg0(m).operators[0]!.inputs[1] = -1; }),
    'subgraph 0, operator 0 (STRIDED_SLICE): input 1 is omitted (-1), but STRIDED_SLICE needs it'],
  ["RESHAPE's shape input left out (-1) while still listed (SIGSEGV)",
    () => edited('tflite/ops/reshape.float32.tflite', (m) => { sg0(m).operators[0]!.inputs[1] = -1; }),
    'subgraph 0, operator 0 (RESHAPE): input 1 is omitted (-1), but RESHAPE needs it'],
  ['FULLY_CONNECTED input smaller than one row of weights (SIGSEGV under XNNPACK)',
    () => edited('tflite/hello_world_float.tflite', (m) => { sg0(m).operators[2]!.inputs[0] = 0; }),
    'subgraph 0, operator 2 (FULLY_CONNECTED): input shape [1,1] (1 values) is not a whole number of rows of 16 for weights [1,16]'],
  ['a negative pooling filter (SIGSEGV)',
    () => edited('tflite/ops/maxpooling.float32.tflite', (m) => setOption(m, 0, 'filterWidth', -(2 ** 31))),
    'subgraph 0, operator 0 (MAX_POOL_2D): Pool2DOptions.filterWidth is -2147483648; it must be from 1 to 65535'],
  ['a negative stride (SIGFPE)',
    () => edited('tflite/ops/conv.float32.tflite', (m) => setOption(m, 0, 'strideW', -(2 ** 31))),
    'subgraph 0, operator 0 (CONV_2D): Conv2DOptions.strideW is -2147483648; it must be from 1 to 65535'],
  ['a padding that is neither SAME nor VALID (SIGSEGV)',
    () => edited('tflite/ops/conv.float32.tflite', (m) => setOption(m, 0, 'padding', 100)),
    'subgraph 0, operator 0 (CONV_2D): Conv2DOptions.padding is 100; it must be 0 (SAME) or 1 (VALID)'],
  ['a float SOFTMAX writing a bool tensor (heap corruption, SIGABRT)',
    () => edited('tflite/ops/softmax.float32.tflite', (m) => { sg0(m).tensors[1]!.dtype = 'bool'; }),
    "subgraph 0, operator 0 (SOFTMAX): writes tensor 1 ('output') as bool, but SOFTMAX outputs the dtype of its input (float32)"],
  ['an operator whose output nothing reads (SIGSEGV under XNNPACK)',
    () => edited('tflite/mobilenet_v1_0.25_128_float.tflite', (m) => { sg0(m).outputs = [31]; }),
    "subgraph 0, operator 30 (SOFTMAX): nothing reads its output (tensor 87 ('MobilenetV1/Predictions/Reshape_1')), and it is not a subgraph output: dead operators crash TFLite 2.9 under XNNPACK"],
  ['a 5-D broadcast (SIGABRT in the built-in kernel)',
    () => edited('tflite/ops/squared-diff.float32.tflite', (m) => { sg0(m).tensors[1]!.shape = [1, 1, 1, 1, 3]; }),
    'subgraph 0, operator 0 (SQUARED_DIFFERENCE): broadcasts [1,384,384,3] with [1,1,1,1,3]: TFLite 2.9 broadcasts in at most 4 dimensions'],
  ['a unary op declaring another shape than its input (hid a 5-D broadcast: SIGABRT)',
    () => edited('tflite/ops/relu6-power.float32.tflite', (m) => { sg0(m).tensors[0]!.shape = [1, 1, 32, 64, 128]; }),
    "subgraph 0, operator 0 (RELU6): declares output shape [1,32,64,128] for input shape [1,1,32,64,128], but RELU6 keeps the shape"],
  ['a stride that no longer fits the declared output shape (SIGSEGV in the ops after it)',
    () => edited('tflite/vww_96_float.tflite', (m) => setOption(m, 13, 'strideW', 3)),
    'subgraph 0, operator 13 (DEPTHWISE_CONV_2D): declares output shape [1,6,6,128], but input [1,6,6,128] with this window, stride and padding gives height 6 and width 2'],
  ['a NaN scale (SIGABRT)',
    () => edited('tflite/hello_world_int8.tflite', (m) => { sg0(m).tensors[7]!.quantization!.scale = [Number.NaN]; }),
    "subgraph 0, tensor 7 ('sequential/dense/MatMul;sequential/dense/Relu;sequential/dense/BiasAdd'): scale NaN is not a finite number >= 0 (TFLite aborts on it)"],
  ['PAD paddings that disagree with the declared output (unbounded allocation: SIGABRT)',
    () => edited('tflite/ops/padding.float32.tflite', (m) => {
      const p = new Uint8Array(m.buffers[sg0(m).tensors[2]!.buffer]!); // a copy (Buffer.slice would share)
      new DataView(p.buffer, p.byteOffset, p.byteLength).setInt32(28, 131072, true);
      m.buffers[sg0(m).tensors[2]!.buffer] = p;
    }),
    'subgraph 0, operator 0 (PAD): input [1,5,5,3] padded by [0,0,1,2,2,1,0,131072] is [1,8,8,131075], not the declared output [1,8,8,3]'],
  ['a quantized ADD whose output scale is too small (SIGABRT)',
    () => edited('tflite/resnet8_cifar10_int8.tflite', (m) => { sg0(m).tensors[29]!.quantization!.scale = [1e-10]; }),
    'subgraph 0, operator 7 (ADD): output scale 1.000000013351432e-10 is too small for input scales 0.044761426746845245 and 0.11311884224414825 (TFLite\'s output multiplier 2.16e+3 must be below 1)'],
  ['a TRANSPOSE_CONV input that does not map onto its output (heap corruption, SIGABRT)',
    () => edited('tflite/ops/transposeconv-validpad.float32.tflite', (m) => setOption(m, 0, 'strideW', 2)),
    'subgraph 0, operator 0 (TRANSPOSE_CONV): output [1,7,7,4] with kernel 3x3, stride 1x2 and VALID padding comes from a 5x3 input, not the 5x5 given'],
  ['a 4-D input to a sequence LSTM (SIGABRT on an assertion)',
    () => edited('tflite/mnist_lstm_float.tflite', (m) => { sg0(m).tensors[0]!.shape = [1, 1, 28, 28]; }),
    'subgraph 0, operator 0 (UNIDIRECTIONAL_SEQUENCE_LSTM): input shape [1,1,28,28] must have 2 or 3 dimensions'],
  ['a zero-sized dimension in an input shape (SIGFPE)',
    () => edited('tflite/hello_world_int8.tflite', (m) => { sg0(m).tensors[0]!.shape = [0, 1]; }),
    "subgraph 0, input 0: tensor 0 ('serving_default_dense_input:0') has shape [0,1] with a zero-sized dimension (TFLite divides by it)"],
  ['an int8 zero point outside -128..127',
    () => edited('tflite/hello_world_int8.tflite', (m) => { sg0(m).tensors[7]!.quantization!.zeroPoint = [-129]; }),
    "subgraph 0, tensor 7 ('sequential/dense/MatMul;sequential/dense/Relu;sequential/dense/BiasAdd'): zero point -129 is outside the int8 range -128..127"],
  ['a uint8 zero point outside 0..255',
    () => edited('edgetpu/mobilenet_v1_0.25_128_quant.tflite', (m) => { sg0(m).tensors[sg0(m).inputs[0]!]!.quantization!.zeroPoint = [256]; }),
    "subgraph 0, tensor 0 ('input'): zero point 256 is outside the uint8 range 0..255"],
];

describe('models that crash TFLite 2.9 natively are refused before it sees them', () => {
  for (const [name, bytes, message] of CASES) {
    it(`EXPECTED FAILURE - ${name}: REEF_MODEL_INVALID`, async () => {
      await expect(load(bytes())).rejects.toMatchObject({ code: 'REEF_MODEL_INVALID', message: `<buffer>: Invalid TFLite model: ${message}` });
    });
  }

  it('every valid shared model still passes (no false refusals)', async () => {
    const { allTfliteModels } = await import('../model/helpers.js');
    const { validateTflite } = await import('../../src/model/tflite/reader.js');
    const refused = allTfliteModels().flatMap((rel) => {
      try { validateTflite(sharedBytes(rel)); return []; } catch (e) { return [`${rel}: ${(e as Error).message}`]; }
    });
    expect(refused).toEqual([]);
  });
});
