/**
 * load('model.onnx'): the onnxruntime backend behind the same Session. Golden values come from
 * mnist_reference.json (shipped with the model) and from reef's TFLite runtime on the converted
 * model (a second, independent runtime); the feed checks and lifecycle errors are the Session's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { load } from '../../src/runtime/session.js';
import { convertOnnx } from '../../src/convert/convert.js';
import { permuteData, randomFloats } from '../../src/convert/check.js';
import { readOnnx } from '../../src/model/onnx/reader.js';
import { encodeOnnxModel } from '../../src/model/onnx/writer.js';
import { sharedBytes, sharedPath } from '../shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'reef-onnx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('load(model.onnx) runs through onnxruntime-node', () => {
  it('mnist: the same Session vocabulary, and the reference outputs', async () => {
    const s = await load(sharedPath('models/onnx/mnist_opset8.onnx'), { threads: 1 });
    try {
      expect(s.inputs).toEqual([{ name: 'Input3', dtype: 'float32', shape: [1, 1, 28, 28], quantization: { scale: 0, zeroPoint: 0 }, byteLength: 3136 }]);
      expect(s.outputs).toEqual([{ name: 'Plus214_Output_0', dtype: 'float32', shape: [1, 10], quantization: { scale: 0, zeroPoint: 0 }, byteLength: 40 }]);
      expect(s.delegate.name).toBe('none');
      expect(s.delegate.reason).toMatch(/^onnxruntime-node 1\.\d+\.\d+ \(CPU execution provider\)/);
      expect(s.xnnpack).toBe(false);
      const ref = JSON.parse(readFileSync(sharedPath('models/onnx/mnist_reference.json'), 'utf8')) as Record<string, { inputs: { data: number[] }; outputs: { data: number[] } }>;
      for (const c of Object.values(ref)) {
        const out = await s.run({ Input3: Float32Array.from(c.inputs.data) });
        const got = out['Plus214_Output_0']!;
        expect(got.shape).toEqual([1, 10]);
        expect(got.dtype).toBe('float32');
        Array.from(got.data as Float32Array).forEach((v, i) => expect(Math.abs(v - c.outputs.data[i]!)).toBeLessThan(1e-4));
      }
    } finally {
      await s.dispose();
    }
  });

  it('ultraface: onnxruntime and reef\'s TFLite of the converted model agree; a pool of 2 runs 4 at once with the same answers', async () => {
    const bytes = sharedBytes('models/onnx/ultraface_rfb_320.onnx');
    const conv = convertOnnx(readOnnx(bytes));
    const onnx = await load(sharedPath('models/onnx/ultraface_rfb_320.onnx'), { threads: 1, pool: 2 });
    const tfl = await load(conv.bytes, { threads: 1 });
    try {
      expect(onnx.poolSize).toBe(2);
      expect(onnx.outputs.map((o) => [o.name, o.shape])).toEqual([['scores', [1, 4420, 2]], ['boxes', [1, 4420, 4]]]);
      const xs = [0, 1, 2, 3].map((k) => randomFloats(3 * 240 * 320, 100 + k));
      const all = await Promise.all(xs.map((x) => onnx.run([x])));
      for (const [k, x] of xs.entries()) {
        const t = await tfl.run([permuteData(x, [1, 3, 240, 320], [0, 2, 3, 1])]);
        for (const name of ['scores', 'boxes']) {
          const a = all[k]![name]!.data as Float32Array, b = t[name]!.data as Float32Array;
          let max = 0;
          for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
          expect(max).toBeLessThan(1e-4);
        }
      }
      const again = await onnx.run([xs[2]!]);
      expect(Array.from(again['boxes']!.data as Float32Array)).toEqual(Array.from(all[2]!['boxes']!.data as Float32Array));
      const into = new Float32Array(4420 * 2);
      await onnx.run([xs[0]!], { outputs: { scores: into, boxes: new Float32Array(4420 * 4) } });
      expect(Array.from(into)).toEqual(Array.from(all[0]!['scores']!.data as Float32Array));
    } finally {
      await Promise.all([onnx.dispose(), tfl.dispose()]);
    }
  });

  it('EXPECTED FAILURE - bad feeds, bad files and a disposed session get the Session\'s codes', async () => {
    const s = await load(sharedPath('models/onnx/mnist_opset8.onnx'));
    await expect(s.run({ nope: new Float32Array(784) })).rejects.toMatchObject({ code: 'REEF_INPUT_NAME_MISMATCH' });
    await expect(s.run([new Float32Array(10)])).rejects.toMatchObject({ code: 'REEF_INPUT_SHAPE_MISMATCH', message: 'input "Input3" expects shape [1,1,28,28] (784 elements) but received 10 elements' });
    await expect(s.run([new Uint8Array(784)])).rejects.toMatchObject({ code: 'REEF_INPUT_DTYPE_MISMATCH' });
    await expect(s.run([new Float32Array(784)], { outputs: [new Float32Array(3)] })).rejects.toMatchObject({ code: 'REEF_OUTPUT_MISMATCH' });
    const inFlight = s.run([new Float32Array(784)]);
    const done = s.dispose();
    await expect(inFlight).resolves.toHaveProperty('Plus214_Output_0');
    await done;
    await expect(s.run([new Float32Array(784)])).rejects.toMatchObject({ code: 'REEF_DISPOSED' });
    const bad = join(tmp, 'truncated.onnx');
    writeFileSync(bad, sharedBytes('models/onnx/mnist_opset8.onnx').subarray(0, 500));
    await expect(load(bad)).rejects.toMatchObject({ code: 'REEF_MODEL_INVALID', message: expect.stringMatching(/^.*truncated\.onnx: Invalid ONNX model: /) });
    await expect(load(join(tmp, 'missing.onnx'))).rejects.toMatchObject({ code: 'REEF_MODEL_NOT_FOUND' });
  });

  it('symbolic input dimensions run as 1, or as the inputShapes option says', async () => {
    const bytes = encodeOnnxModel({
      inputs: [{ name: 'image', shape: ['batch', 2, 'h', 'w'] }], outputs: [{ name: 'y' }],
      nodes: [{ op: 'Relu', inputs: ['image'], outputs: ['y'] }],
    });
    const one = await load(bytes);
    expect(one.inputs[0]!.shape).toEqual([1, 2, 1, 1]);
    expect(one.outputs[0]!.dynamic).toBe(true);
    await one.dispose();
    const s = await load(bytes, { inputShapes: { image: [1, 2, 3, 2] } });
    try {
      const out = await s.run([Float32Array.from([-1, 2, -3, 4, -5, 6, 7, -8, 9, -10, 11, -12])]);
      expect(out['y']).toMatchObject({ shape: [1, 2, 3, 2], dtype: 'float32' });
      expect(Array.from(out['y']!.data as Float32Array)).toEqual([0, 2, 0, 4, 0, 6, 7, 0, 9, 0, 11, 0]);
    } finally {
      await s.dispose();
    }
    await expect(load(bytes, { inputShapes: { image: [1, 3, 3, 2] } })).rejects.toMatchObject({ code: 'REEF_INVALID_ARGUMENT', message: 'Expected a shape matching [batch,2,h,w] for inputShapes.image but received [1,3,3,2]' });
    await expect(load(bytes, { inputShapes: { img: [1, 2, 3, 2] } })).rejects.toMatchObject({ code: 'REEF_INVALID_ARGUMENT' });
  });
});
