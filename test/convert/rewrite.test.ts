/**
 * The converter's rewrites for XNNPACK, on small hand-built ONNX graphs: a zero PAD before a
 * convolution becomes zero kernel taps + SAME padding, and (with mergePointwise) a 1x1 convolution
 * without activation is merged into the 1x1 convolution reading it. Each result is checked against onnxruntime (the
 * independent reference) and against the same graph converted without rewrites; the int8 models
 * quantized from both (same calibration, minmax, no bias correction) give identical bytes out where
 * the arithmetic is the same (zero taps read the zero point, as the PAD wrote it).
 */
import { describe, expect, it } from 'vitest';
import { checkConversion, convertOnnx, type ConvertOptions } from '../../src/convert/index.js';
import { randomFloats } from '../../src/convert/check.js';
import { zeroTapsForSame } from '../../src/convert/convert.js';
import { readOnnx } from '../../src/model/onnx/reader.js';
import { encodeOnnxModel, type NodeSpec, type TensorSpec } from '../../src/model/onnx/writer.js';
import { quantizeTflite } from '../../src/quantize/pipeline.js';
import { load } from '../../src/runtime/session.js';

const W = (name: string, dims: number[], seed: number): TensorSpec => ({ name, dataType: 1, dims, values: randomFloats(dims.reduce((a, b) => a * b, 1), seed) });
const I64 = (name: string, values: number[]): TensorSpec => ({ name, dataType: 7, dims: [values.length], values });

function graph(shape: number[], nodes: NodeSpec[], initializers: TensorSpec[]): Uint8Array {
  return encodeOnnxModel({ opset: 13, inputs: [{ name: 'x', shape }], outputs: [{ name: 'y' }], initializers, nodes });
}

/** Converted with and without rewrites, both checked against onnxruntime. */
async function both(bytes: Uint8Array, options: ConvertOptions = {}): Promise<{ ops: Record<string, number>; plain: Record<string, number>; r: ReturnType<typeof convertOnnx>; p: ReturnType<typeof convertOnnx> }> {
  const r = convertOnnx(readOnnx(bytes), options);
  const p = convertOnnx(readOnnx(bytes), { rewrite: false });
  for (const res of [r, p]) {
    const check = await checkConversion(bytes, res, { samples: 2 });
    for (const o of check.outputs) {
      expect(o.ok, `${o.name}: max|diff| ${o.maxAbs}`).toBe(true);
      expect(o.maxAbs).toBeLessThan(1e-5);
    }
  }
  return { ops: r.report.ops, plain: p.report.ops, r, p };
}

describe('zeroTapsForSame', () => {
  it('PyTorch 3x3 stride-2 pad 1: on an even input a zero last row/column (4x4 SAME); on an odd input SAME already', () => {
    expect(zeroTapsForSame([16, 12], [3, 3], [2, 2], [1, 1, 1, 1])).toEqual({ before: [0, 0], after: [1, 1] });
    expect(zeroTapsForSame([15, 15], [3, 3], [2, 2], [1, 1, 1, 1])).toEqual({ before: [0, 0], after: [0, 0] });
  });

  it('one-sided pads: top 2 -> 2 zero rows after (5 taps, SAME pads 2 on top); bottom 2 -> a zero row before', () => {
    expect(zeroTapsForSame([8, 8], [3, 3], [1, 1], [2, 1, 0, 1])).toEqual({ before: [0, 0], after: [2, 0] });
    expect(zeroTapsForSame([8, 8], [3, 3], [1, 1], [0, 1, 2, 1])).toEqual({ before: [1, 0], after: [0, 0] });
  });

  it('null when the output size is not SAME\'s, or the kernel would more than double', () => {
    expect(zeroTapsForSame([16, 16], [3, 3], [1, 1], [3, 3, 3, 3])).toBeNull(); // 20 outputs, SAME gives 16
    expect(zeroTapsForSame([8, 8], [3, 3], [1, 1], [2, 2, 0, 0])).toBeNull(); // 5x5 taps for a 3x3 kernel
  });
});

describe('PAD folded into a convolution', () => {
  it('Conv 3x3 stride 2 pads 1 on a 3-channel 16x12 input: one CONV_2D (4x4 SAME), no PAD', async () => {
    const { ops, plain, r } = await both(graph([1, 3, 16, 12], [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } }], [W('w', [8, 3, 3, 3], 1), W('b', [8], 2)]));
    expect(plain).toEqual({ PAD: 1, CONV_2D: 1 });
    expect(ops).toEqual({ CONV_2D: 1 });
    expect(r.report.padsFolded).toBe(1);
    expect(r.model.subgraphs[0]!.tensors[r.model.subgraphs[0]!.operators[0]!.inputs[1]!]!.shape).toEqual([8, 4, 4, 3]);
  });

  it('an explicit ONNX Pad (top 2, right 1) before a VALID Conv: folded', async () => {
    const { ops, plain } = await both(graph([1, 4, 9, 7], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'Conv', inputs: ['p', 'w', 'b'], outputs: ['y'] },
    ], [I64('pads', [0, 0, 2, 0, 0, 0, 0, 1]), W('w', [5, 4, 3, 2], 3), W('b', [5], 4)]));
    expect(plain).toEqual({ PAD: 1, CONV_2D: 1 });
    expect(ops).toEqual({ CONV_2D: 1 });
  });

  it('stays a PAD: before a depthwise convolution (measured slower as 4x4), and when the PAD has a second reader', async () => {
    const dw = await both(graph([1, 6, 16, 16], [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], group: 6 } }], [W('w', [6, 1, 3, 3], 5), W('b', [6], 6)]));
    expect(dw.ops).toEqual({ PAD: 1, DEPTHWISE_CONV_2D: 1 });
    const two = await both(graph([1, 3, 8, 8], [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'Conv', inputs: ['p', 'w', 'b'], outputs: ['c'] },
      { op: 'Conv', inputs: ['p', 'w', 'b'], outputs: ['d'] },
      { op: 'Add', inputs: ['c', 'd'], outputs: ['y'] },
    ], [I64('pads', [0, 0, 1, 1, 0, 0, 1, 1]), W('w', [4, 3, 3, 3], 7), W('b', [4], 8)]));
    expect(two.ops).toEqual(two.plain);
    expect(two.ops['PAD']).toBe(1);
  });

  it('int8: the folded and the unfolded model, quantized alike, give the same bytes (zero taps read the zero point)', async () => {
    const bytes = graph([1, 3, 16, 16], [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } },
      { op: 'Relu', inputs: ['c'], outputs: ['y'] },
    ], [W('w', [8, 3, 3, 3], 9), W('b', [8], 10)]);
    const { r, p } = await both(bytes);
    const calibration = Array.from({ length: 8 }, (_, k) => [randomFloats(16 * 16 * 3, 100 + k)]);
    const opts = { method: 'minmax' as const, biasCorrection: false, equalize: false, threads: 1 };
    const [qa, qb] = await Promise.all([quantizeTflite(r.bytes, { calibration }, opts), quantizeTflite(p.bytes, { calibration }, opts)]);
    expect(qa.report.operators.after).toBe(1);
    expect(qb.report.operators.after).toBe(2);
    const [a, b] = await Promise.all([load(qa.bytes, { threads: 1 }), load(qb.bytes, { threads: 1 })]);
    try {
      expect(a.inputs[0]!.quantization).toEqual(b.inputs[0]!.quantization);
      expect(a.outputs[0]!.quantization).toEqual(b.outputs[0]!.quantization);
      for (let k = 0; k < 4; k++) {
        const x = Int8Array.from(randomFloats(16 * 16 * 3, 200 + k), (v) => Math.round(v * 127));
        const ya = (await a.run([x]))[a.outputs[0]!.name]!.data as Int8Array;
        const yb = (await b.run([x]))[b.outputs[0]!.name]!.data as Int8Array;
        expect(Array.from(ya)).toEqual(Array.from(yb));
        expect(new Set(ya).size).toBeGreaterThan(20);
      }
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });
});

describe('1x1 convolutions merged (mergePointwise)', () => {
  const pw = (cin: number, mid: number, cout: number, extra: NodeSpec[] = [], out = 'y'): Uint8Array => graph([1, cin, 6, 5], [
    { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['a'] },
    ...extra,
    { op: 'Conv', inputs: [extra.length ? 'r' : 'a', 'w2', 'b2'], outputs: [out] },
    ...(out === 'y' ? [] : [{ op: 'Relu', inputs: [out], outputs: ['y'] }]),
  ], [W('w1', [mid, cin, 1, 1], 11), W('b1', [mid], 12), W('w2', [cout, mid, 1, 1], 13), W('b2', [cout], 14)]);

  it('8 -> 4 (no activation) -> 4 (then Relu): one CONV_2D with W2*W1 and W2*b1 + b2, Relu fused', async () => {
    const { ops, plain, r } = await both(pw(8, 4, 4, [], 'z'), { mergePointwise: true });
    expect(plain).toEqual({ CONV_2D: 2 });
    expect(ops).toEqual({ CONV_2D: 1 });
    expect(r.report.pointwiseComposed).toBe(1);
    expect(convertOnnx(readOnnx(pw(8, 4, 4, [], 'z'))).report.ops).toEqual({ CONV_2D: 2 }); // off by default
  });

  it('kept apart: when merging costs more (4 -> 2 -> 8), and when the first has an activation', async () => {
    const wide = await both(pw(4, 2, 8), { mergePointwise: true });
    expect(wide.ops).toEqual({ CONV_2D: 2 });
    const relu = await both(pw(8, 4, 4, [{ op: 'Relu', inputs: ['a'], outputs: ['r'] }]), { mergePointwise: true });
    expect(relu.ops).toEqual({ CONV_2D: 2 });
    expect(relu.r.report.pointwiseComposed).toBe(0);
  });
});
