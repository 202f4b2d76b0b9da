/**
 * MatMul + Add of a constant vector (what PyTorch exports for nn.Linear on 3-D inputs) becomes one
 * FULLY_CONNECTED with the vector as its bias; an Add that does not broadcast along the last axis
 * only stays an ADD. Checked against onnxruntime.
 */
import { describe, expect, it } from 'vitest';
import { checkConversion, convertOnnx } from '../../src/convert/index.js';
import { randomFloats } from '../../src/convert/check.js';
import { readOnnx } from '../../src/model/onnx/reader.js';
import { encodeOnnxModel, type TensorSpec } from '../../src/model/onnx/writer.js';

const W = (name: string, dims: number[], seed: number): TensorSpec => ({ name, dataType: 1, dims, values: randomFloats(dims.reduce((a, b) => a * b, 1), seed) });

async function convert(bias: TensorSpec, relu: boolean): Promise<{ ops: Record<string, number>; fused: number }> {
  const bytes = encodeOnnxModel({
    opset: 13,
    inputs: [{ name: 'x', shape: [1, 4, 8] }],
    outputs: [{ name: 'y' }],
    initializers: [W('w', [8, 6], 1), bias],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m'] },
      { op: 'Add', inputs: relu ? ['m', 'b'] : ['b', 'm'], outputs: [relu ? 'a' : 'y'] },
      ...(relu ? [{ op: 'Relu', inputs: ['a'], outputs: ['y'] }] : []),
    ],
  });
  const r = convertOnnx(readOnnx(bytes));
  const check = await checkConversion(bytes, r, { samples: 2 });
  for (const o of check.outputs) {
    expect(o.ok).toBe(true);
    expect(o.maxAbs).toBeLessThan(1e-5);
  }
  return { ops: r.report.ops, fused: r.report.biasAddsFused };
}

describe('MatMul + Add -> FULLY_CONNECTED', () => {
  it('a [6] bias (then Relu): one FULLY_CONNECTED with the bias and the activation fused', async () => {
    expect(await convert(W('b', [6], 2), true)).toEqual({ ops: { FULLY_CONNECTED: 1 }, fused: 1 });
  });

  it('a [1, 1, 6] bias as the first Add operand, and a scalar: folded too', async () => {
    expect(await convert(W('b', [1, 1, 6], 3), false)).toEqual({ ops: { FULLY_CONNECTED: 1 }, fused: 1 });
    expect(await convert(W('b', [1], 4), false)).toEqual({ ops: { FULLY_CONNECTED: 1 }, fused: 1 });
  });

  it('a [4, 6] constant (differs per row): stays an ADD', async () => {
    expect(await convert(W('b', [4, 6], 5), false)).toEqual({ ops: { FULLY_CONNECTED: 1, ADD: 1 }, fused: 0 });
  });
});
