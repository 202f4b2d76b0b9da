/**
 * A concat of a sigmoid map (fixed int8 scale 1/256) and an unbounded map, as detector heads
 * write it (fastestdet: objectness, boxes, class softmax): the fixed-scale input is requantized
 * to the concat's scale by an int8 -> int8 QUANTIZE instead of pinning the concat to [0, 1),
 * which clipped the box values. Built as a small ONNX graph, converted, quantized, compared with
 * the float model.
 */
import { describe, expect, it } from 'vitest';
import { convertOnnx } from '../../src/convert/index.js';
import { randomFloats } from '../../src/convert/check.js';
import { readOnnx } from '../../src/model/onnx/reader.js';
import { encodeOnnxModel, type TensorSpec } from '../../src/model/onnx/writer.js';
import { quantizeTflite } from '../../src/quantize/pipeline.js';
import { load } from '../../src/runtime/session.js';
import { dequantize, quantize } from '../../src/quant.js';

const W = (name: string, dims: number[], seed: number, k = 1): TensorSpec =>
  ({ name, dataType: 1, dims, values: Array.from(randomFloats(dims.reduce((a, b) => a * b, 1), seed), (v) => v * k) });

describe('CONCATENATION of a LOGISTIC output and an unbounded tensor', () => {
  it('requantizes the sigmoid branch to the concat scale: box values keep their range, the whole head stays int8', async () => {
    const onnx = encodeOnnxModel({
      opset: 13,
      inputs: [{ name: 'x', shape: [1, 3, 16, 16] }],
      outputs: [{ name: 'y' }],
      initializers: [W('wo', [1, 3, 3, 3], 1), W('bo', [1], 2), W('wb', [4, 3, 3, 3], 3, 8), W('bb', [4], 4)],
      nodes: [
        { op: 'Conv', inputs: ['x', 'wo', 'bo'], outputs: ['o'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Sigmoid', inputs: ['o'], outputs: ['s'] },
        { op: 'Conv', inputs: ['x', 'wb', 'bb'], outputs: ['b'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Concat', inputs: ['s', 'b'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    });
    const float = convertOnnx(readOnnx(onnx)).bytes;
    const samples = Array.from({ length: 40 }, (_, k) => [randomFloats(16 * 16 * 3, 100 + k)]);
    const r = await quantizeTflite(float, { calibration: samples.slice(0, 30), evaluation: samples.slice(30).map((inputs) => ({ inputs })) });
    const sg = r.model.subgraphs[0]!;
    const concat = sg.operators.find((op) => op.opcode === 'CONCATENATION')!;
    const out = sg.tensors[concat.outputs[0]!]!.quantization!;
    // Every input of the int8 concat carries the output's parameters (TFLite's int8 kernel requires it).
    for (const i of concat.inputs) expect(sg.tensors[i]!.quantization).toMatchObject({ scale: out.scale, zeroPoint: out.zeroPoint });
    // The concat's range is the box map's (|values| up to ~8 x 27 weights), not LOGISTIC's [0, 1).
    expect(out.scale[0]! * 255).toBeGreaterThan(4);
    const requant = sg.operators.find((op) => op.opcode === 'QUANTIZE')!;
    const logistic = sg.operators.find((op) => op.opcode === 'LOGISTIC')!;
    expect(requant.inputs).toEqual(logistic.outputs);
    expect(sg.tensors[requant.inputs[0]!]!.quantization).toMatchObject({ scale: [1 / 256], zeroPoint: [-128] });
    expect(concat.inputs[0]).toBe(requant.outputs[0]);
    expect(sg.tensors.filter((t) => t.dtype === 'float32')).toEqual([]);
    // Against the float model on the held samples: both maps are right (box map: no clipping).
    const f = await load(float);
    const q = await load(r.bytes);
    const acc = [{ s: 0, n: 0 }, { s: 0, n: 0 }];
    try {
      for (const [x] of samples.slice(30)) {
        const fo = (await f.run([x!]))[f.outputs[0]!.name]!.data as Float32Array;
        const qo = dequantize((await q.run([quantize(x as Float32Array, q.inputs[0]!.quantization, 'int8')]))[q.outputs[0]!.name]!.data as Int8Array, q.outputs[0]!.quantization);
        for (let k = 0; k < fo.length; k++) { const a = acc[k % 5 === 0 ? 0 : 1]!; a.s += fo[k]! ** 2; a.n += (fo[k]! - qo[k]!) ** 2; }
      }
    } finally {
      await f.dispose();
      await q.dispose();
    }
    const [sig, box] = acc.map((a) => 10 * Math.log10(a.s / a.n));
    console.log(`sigmoid map ${sig!.toFixed(1)} dB, box map ${box!.toFixed(1)} dB`);
    // Pinned to [0, 1) (before), the box map was clipped to useless; the sigmoid map now shares the
    // concat's coarser step (about 50/255 here), which one per-tensor int8 scale cannot avoid.
    expect(box).toBeGreaterThan(30);
    expect(sig).toBeGreaterThan(10);
  });
});
