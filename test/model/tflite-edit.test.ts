/** Edit helpers: the edited models are valid and run in TFLite with the expected outputs. */
import { describe, expect, it } from 'vitest';
import { load } from '../../src/index.js';
import { exposeAsOutputs, removeDeadTensors, removeOperator, removeUnusedBuffers, rewire, sortOperators, topologicalOrder } from '../../src/model/tflite/edit.js';
import { readTflite, validateModel } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { sharedBytes } from '../shared.js';

describe('TFLite edit helpers', () => {
  it('exposeAsOutputs: an intermediate activation becomes a readable output (calibration)', async () => {
    const model = readTflite(sharedBytes('models/tflite/mobilenet_v1_0.25_128_float.tflite'));
    const sg = model.subgraphs[0]!;
    const t = sg.operators[0]!.outputs[0]!; // first conv's output
    exposeAsOutputs(model, [t]);
    validateModel(model);
    const s = await load(writeTflite(model), { threads: 1 });
    expect(s.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['MobilenetV1/Predictions/Reshape_1', [1, 1001]],
      [sg.tensors[t]!.name, [1, 64, 64, 8]],
    ]);
    const out = await s.run([new Float32Array(128 * 128 * 3).fill(0.5)]);
    const act = out[sg.tensors[t]!.name]!.data as Float32Array;
    expect(act.length).toBe(64 * 64 * 8);
    expect(Math.min(...act)).toBeGreaterThanOrEqual(0); // RELU6 fused
    expect(Math.max(...act)).toBeLessThanOrEqual(6);
    await s.dispose();
  });

  it('removeOperator + rewire + removeDeadTensors + removeUnusedBuffers: cut the softmax off', async () => {
    const model = readTflite(sharedBytes('models/tflite/mobilenet_v1_0.25_128_float.tflite'));
    const sg = model.subgraphs[0]!;
    const softmax = sg.operators.length - 1;
    expect(sg.operators[softmax]!.opcode).toBe('SOFTMAX');
    const logits = sg.operators[softmax]!.inputs[0]!;
    const probs = sg.operators[softmax]!.outputs[0]!;
    removeOperator(sg, softmax);
    sg.outputs = sg.outputs.map((o) => (o === probs ? logits : o));
    const before = [sg.tensors.length, model.buffers.length];
    expect(removeDeadTensors(model)).toBe(1);
    expect(removeUnusedBuffers(model)).toBe(1); // the softmax output's own (empty) buffer
    expect([sg.tensors.length, model.buffers.length]).toEqual([before[0]! - 1, before[1]! - 1]);
    validateModel(model);
    const s = await load(writeTflite(model), { threads: 1 });
    const out = await s.run([new Float32Array(128 * 128 * 3).fill(0.25)]);
    const logitsOut = Object.values(out)[0]!.data as Float32Array;
    const sum = logitsOut.reduce((a, b) => a + Math.exp(b), 0);
    expect(sum).not.toBeCloseTo(1, 2); // logits, not probabilities
    await s.dispose();
    expect(rewire(sg, 0, 0)).toBe(1); // the input feeds exactly the first conv
  });

  it('topologicalOrder restores execution order and names a cycle', () => {
    const model = readTflite(sharedBytes('models/tflite/hello_world_float.tflite'));
    const sg = model.subgraphs[0]!;
    const original = sg.operators.slice();
    sg.operators.reverse();
    expect(() => validateModel(model)).toThrow(/reads tensor \d+ .* before any operator writes it/);
    expect(topologicalOrder(sg)).toEqual([2, 1, 0]);
    sortOperators(sg);
    expect(sg.operators).toEqual(original);
    validateModel(model);
    // Make op 0 read op 1's output: 0 -> 1 -> 0.
    sg.operators[0]!.inputs[0] = sg.operators[1]!.outputs[0]!;
    expect(() => topologicalOrder(sg)).toThrow(expect.objectContaining({
      code: 'REEF_MODEL_INVALID',
      message: 'Invalid TFLite model: operators 0, 1, 2 form a cycle (each waits for another\'s output)',
    }));
  });
});
