/**
 * Layout edge cases as small hand-built ONNX graphs (written with reef's ONNX writer): a
 * convolution first, so the value under test lives in NHWC, then the op with every axis. Each
 * conversion is checked against onnxruntime (the independent reference) with onnx2tf's bounds,
 * and the TRANSPOSE count is asserted.
 */
import { describe, expect, it } from 'vitest';
import { checkConversion, convertOnnx } from '../../src/convert/index.js';
import { randomFloats } from '../../src/convert/check.js';
import { readOnnx } from '../../src/model/onnx/reader.js';
import { encodeOnnxModel, type NodeSpec, type TensorSpec } from '../../src/model/onnx/writer.js';

const W = (name: string, dims: number[], seed: number): TensorSpec => ({ name, dataType: 1, dims, values: randomFloats(dims.reduce((a, b) => a * b, 1), seed) });
const I64 = (name: string, values: number[]): TensorSpec => ({ name, dataType: 7, dims: [values.length], values });
const F32 = (name: string, values: number[]): TensorSpec => ({ name, dataType: 1, dims: [values.length], values });

/** x [1,3,8,6] -> Conv(4 channels, 3x3 SAME) -> c (NHWC inside reef) -> `tail` nodes -> y. */
function graph(tail: NodeSpec[], extra: TensorSpec[] = [], opset = 13, outputs = ['y']): Uint8Array {
  return encodeOnnxModel({
    opset,
    inputs: [{ name: 'x', shape: [1, 3, 8, 6] }],
    outputs: outputs.map((name) => ({ name })),
    initializers: [W('w', [4, 3, 3, 3], 7), W('b', [4], 8), W('w2', [4, 3, 1, 1], 9), ...extra],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Conv', inputs: ['x', 'w2'], outputs: ['c2'] },
      ...tail,
    ],
  });
}

async function convertAndCheck(bytes: Uint8Array): Promise<{ transposes: number; edge: number; ops: Record<string, number> }> {
  const r = convertOnnx(readOnnx(bytes));
  const check = await checkConversion(bytes, r, { samples: 1 });
  for (const o of check.outputs) {
    expect(o.ok, `${o.name}: max|diff| ${o.maxAbs}, cosine ${o.cosine}`).toBe(true);
    expect(o.maxAbs).toBeLessThan(1e-4);
  }
  return { transposes: r.report.transposes.total, edge: r.report.transposes.edge, ops: r.report.ops };
}

describe('layout: axes remapped on NHWC values', () => {
  it.each([0, 1, 2, 3, -1, -3])('Concat axis %i', async (axis) => {
    const r = await convertAndCheck(graph([{ op: 'Concat', inputs: ['c', 'c2'], outputs: ['y'], attrs: { axis } }]));
    expect(r.transposes).toBe(0);
  });

  it.each([1, 2, 3, -1])('Softmax axis %i (opset 13): channels are already last; another axis moves last once (and back at the output)', async (axis) => {
    const r = await convertAndCheck(graph([{ op: 'Softmax', inputs: ['c'], outputs: ['y'], attrs: { axis } }]));
    expect([r.transposes, r.edge]).toEqual(axis === 1 ? [0, 0] : [2, 1]);
  });

  it('Softmax axis 1 before opset 13 coerces to 2-D [N, C*H*W]', async () => {
    const r = await convertAndCheck(graph([{ op: 'Softmax', inputs: ['c'], outputs: ['y'], attrs: { axis: 1 } }], [], 11));
    expect(r.ops['SOFTMAX']).toBe(1);
  });

  it.each([[[1], 1], [[2, 3], 1], [[1], 0], [[2, 3], 0], [[0, 1, 2, 3], 0], [[-1], 1]] as [number[], number][])('ReduceMean axes %j keepdims %i and ReduceMax', async (axes, keepdims) => {
    const r = await convertAndCheck(graph([
      { op: 'ReduceMean', inputs: ['c'], outputs: ['y'], attrs: { axes, keepdims } },
      { op: 'ReduceMax', inputs: ['c2'], outputs: ['y2'], attrs: { axes, keepdims } },
    ], [], 13, ['y', 'y2']));
    expect(r.transposes).toBe(0);
  });

  it.each([1, 2, 3])('Split on axis %i', async (axis) => {
    const sizes = axis === 1 ? [1, 3] : axis === 2 ? [3, 5] : [2, 4];
    const r = await convertAndCheck(graph([{ op: 'Split', inputs: ['c', 'split'], outputs: ['y', 'y2'] , attrs: { axis } }], [I64('split', sizes)], 13, ['y', 'y2']));
    expect(r.transposes).toBe(0);
  });

  it.each([[1, 1, 3, 1], [2, 1, -1, 2], [3, 5, 0, -2]])('Slice axis %i from %i to %i step %i', async (axis, start, end, step) => {
    const r = await convertAndCheck(graph([{ op: 'Slice', inputs: ['c', 'st', 'en', 'ax', 'sp'], outputs: ['y'] }], [I64('st', [start]), I64('en', [end]), I64('ax', [axis]), I64('sp', [step])]));
    expect(r.transposes).toBe(0);
  });

  it.each([[1, [2, 0]], [2, [7]], [3, [1, 1, 4]]] as [number, number[]][])('Gather axis %i indices %j', async (axis, idx) => {
    const r = await convertAndCheck(graph([{ op: 'Gather', inputs: ['c', 'i'], outputs: ['y'], attrs: { axis } }], [I64('i', idx)]));
    expect(r.transposes).toBe(0);
  });

  it('Transpose composes with the layout: NCHW->NHWC->Softmax(last)->NCHW needs no TRANSPOSE op', async () => {
    const r = await convertAndCheck(graph([
      { op: 'Transpose', inputs: ['c'], outputs: ['t'], attrs: { perm: [0, 3, 2, 1] } },
      { op: 'Softmax', inputs: ['t'], outputs: ['s'], attrs: { axis: 3 } },
      { op: 'Transpose', inputs: ['s'], outputs: ['y'], attrs: { perm: [0, 3, 2, 1] } },
    ]));
    expect(r.transposes).toBe(0);
  });

  it('Elementwise with per-channel constants and broadcasting between NHWC values', async () => {
    const r = await convertAndCheck(graph([
      { op: 'Mul', inputs: ['c', 'scale'], outputs: ['m'] },
      { op: 'GlobalAveragePool', inputs: ['c2'], outputs: ['g'] },
      { op: 'Sigmoid', inputs: ['g'], outputs: ['gs'] },
      { op: 'Mul', inputs: ['m', 'gs'], outputs: ['se'] },
      { op: 'Sub', inputs: ['se', 'c2'], outputs: ['y'] },
    ], [{ name: 'scale', dataType: 1, dims: [4, 1, 1], values: [0.5, -1, 2, 3] }]));
    expect(r.transposes).toBe(0);
  });

  it('Pad reflect on H and W, Squeeze/Unsqueeze after a global pool, Clip -> RELU6', async () => {
    const r = await convertAndCheck(graph([
      { op: 'Pad', inputs: ['c', 'pads'], outputs: ['p'], attrs: { mode: 'reflect' } },
      { op: 'Clip', inputs: ['p', 'lo', 'hi'], outputs: ['y'] },
      { op: 'GlobalAveragePool', inputs: ['c2'], outputs: ['g'] },
      { op: 'Squeeze', inputs: ['g', 'sq'], outputs: ['s'] },
      { op: 'Unsqueeze', inputs: ['s', 'uq'], outputs: ['y2'] },
    ], [I64('pads', [0, 0, 1, 2, 0, 0, 2, 1]), F32('lo', [0]), F32('hi', [6]), I64('sq', [2, 3]), I64('uq', [0])], 13, ['y', 'y2']));
    expect(r.ops['RELU6']).toBe(1);
    expect(r.transposes).toBe(0);
  });
});

describe('layout: Flatten -> Gemm, convolutions, resize modes', () => {
  it('Flatten -> Gemm permutes the weight rows instead of transposing the feature map', async () => {
    const r = await convertAndCheck(graph([
      { op: 'Flatten', inputs: ['c'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'fc', 'fcb'], outputs: ['y'], attrs: { transB: 1 } },
    ], [W('fc', [5, 4 * 8 * 6], 11), W('fcb', [5], 12)]));
    expect(r.transposes).toBe(0);
    expect(r.ops['FULLY_CONNECTED']).toBe(1);
  });

  it('grouped (group 2), depthwise with multiplier 2, and transposed convolutions', async () => {
    const r = await convertAndCheck(graph([
      { op: 'Conv', inputs: ['c', 'wg'], outputs: ['g'], attrs: { group: 2, pads: [1, 1, 1, 1] } },
      { op: 'Conv', inputs: ['g', 'wd', 'bd'], outputs: ['d'], attrs: { group: 6, strides: [2, 2], pads: [1, 1, 1, 1] } },
      { op: 'ConvTranspose', inputs: ['d', 'wt', 'bt'], outputs: ['y'], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] } },
    ], [W('wg', [6, 2, 3, 3], 13), W('wd', [12, 1, 3, 3], 14), W('bd', [12], 15), W('wt', [12, 3, 3, 3], 16), W('bt', [3], 17)]));
    expect(r.ops['DEPTHWISE_CONV_2D']).toBe(1);
    expect(r.ops['TRANSPOSE_CONV']).toBe(1);
    expect(r.transposes).toBe(0);
  });

  it.each([
    ['nearest', 'asymmetric', 'floor', [1, 1, 2, 3]],
    ['nearest', 'half_pixel', 'round_prefer_ceil', [1, 1, 2, 2]],
    ['nearest', 'align_corners', 'round_prefer_ceil', [1, 1, 3, 2]],
    ['linear', 'half_pixel', 'round_prefer_floor', [1, 1, 2, 2]],
    ['linear', 'align_corners', 'round_prefer_floor', [1, 1, 2, 3]],
    ['linear', 'asymmetric', 'round_prefer_floor', [1, 1, 3, 2]],
    ['linear', 'pytorch_half_pixel', 'round_prefer_floor', [1, 1, 2, 2]],
  ] as [string, string, string, number[]][])('Resize %s %s %s scales %j', async (mode, coord, nearest, scales) => {
    const r = await convertAndCheck(graph([
      { op: 'Resize', inputs: ['c', '', 'scales'], outputs: ['y'], attrs: { mode, coordinate_transformation_mode: coord, nearest_mode: nearest } },
    ], [F32('scales', scales)]));
    expect(r.ops[mode === 'nearest' ? 'RESIZE_NEAREST_NEIGHBOR' : 'RESIZE_BILINEAR']).toBe(1);
  });

  it('Resize modes TFLite cannot express are refused by name', () => {
    const bytes = graph([{ op: 'Resize', name: 'up', inputs: ['c', '', 'scales'], outputs: ['y'], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'ceil' } }], [F32('scales', [1, 1, 2, 2])]);
    expect(() => convertOnnx(readOnnx(bytes))).toThrow(expect.objectContaining({
      code: 'REEF_CONVERT_UNSUPPORTED_OP',
      message: "ONNX op Resize (node 2 'up'): nearest resize with coordinate_transformation_mode 'asymmetric' and nearest_mode 'ceil' (TFLite rounds half_pixel up, asymmetric down)",
    }));
  });
});
