/**
 * The quantizer's acceptance figures (../shared/docs/TARGETS.md), on real models:
 * MobileNet v1 0.25/128 top-1 and agreement on ImageNet photos, output SQNR against TensorFlow's
 * own int8 twins, and structure equal to the twins'.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readTflite } from '../../src/model/tflite/reader.js';
import { quantizeTflite, type QuantizeResult } from '../../src/quantize/pipeline.js';
import { load } from '../../src/runtime/session.js';
import { sharedPath } from '../shared.js';
import { imagenetSamples, modelBytes, outputSqnr, sineInputs } from './helpers.js';
import { structureDiff } from './structure.js';

describe('mobilenet_v1_0.25_128_float: calibrated on 200 ImageNet photos, evaluated on the other 300', () => {
  let result: QuantizeResult;
  beforeAll(async () => {
    const all = await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 500);
    result = await quantizeTflite(modelBytes('models/tflite/mobilenet_v1_0.25_128_float.tflite'), {
      calibration: all.slice(0, 200).map((s) => s.sample),
      evaluation: all.slice(200).map((s) => ({ inputs: s.sample, label: s.label })),
    }, { source: 'mobilenet_v1_0.25_128_float.tflite' });
  }, 120_000);

  it('loses at most 0.5 point of top-1 and agrees with the float model on at least 93% of the photos (issue 15)', () => {
    const acc = result.report.accuracy!;
    console.log(`mobilenet top-1 float ${(100 * acc.float).toFixed(1)}%, int8 ${(100 * acc.int8).toFixed(1)}%, agreement ${(100 * result.report.top1Agreement!).toFixed(1)}%`);
    expect(acc.labelled).toBe(300);
    // 0.5 point of 300 photos = 1.5 photos: at most 1; compared as counts, so no float rounding at the boundary.
    expect(Math.round(acc.float * 300) - Math.round(acc.int8 * 300)).toBeLessThanOrEqual(1);
    expect(Math.round(result.report.top1Agreement! * 300)).toBeGreaterThanOrEqual(279);
    // The 13 convolutions that feed a depthwise convolution (ops 0, 2, ..., 24) are equalized.
    expect(result.report.equalized.pairs).toBe(13);
    // The SQNR check ran on the 300 held photos and agrees with the output SQNR it reports.
    expect(result.report.sqnrCheck).toMatchObject({ samples: 300, held: true, status: result.report.outputs[0]!.sqnrDb! >= 20 ? 'ok' : 'warning' });
  });

  it('is full-integer: int8 input and output, per-channel conv and depthwise weights, int32 biases', () => {
    const sg = result.model.subgraphs[0]!;
    expect(sg.tensors[sg.inputs[0]!]!.dtype).toBe('int8');
    expect(sg.tensors[sg.outputs[0]!]!.dtype).toBe('int8');
    expect(sg.tensors.filter((t) => t.dtype === 'float32')).toEqual([]);
    // MobileNet v1 has 15 CONV_2D and 13 DEPTHWISE_CONV_2D (counted in the IR, not the report).
    expect(sg.operators.filter((op) => op.opcode === 'CONV_2D' || op.opcode === 'DEPTHWISE_CONV_2D').length).toBe(28);
    for (const op of sg.operators) {
      if (op.opcode === 'CONV_2D' || op.opcode === 'DEPTHWISE_CONV_2D') {
        const w = sg.tensors[op.inputs[1]!]!;
        const b = sg.tensors[op.inputs[2]!]!;
        expect(w.quantization!.scale.length).toBe(op.opcode === 'CONV_2D' ? w.shape[0] : w.shape[3]);
        expect(w.quantization!.quantizedDimension).toBe(op.opcode === 'CONV_2D' ? 0 : 3);
        expect(b.dtype).toBe('int32');
        const sIn = sg.tensors[op.inputs[0]!]!.quantization!.scale[0]!;
        b.quantization!.scale.forEach((s, c) => expect(Math.abs(s / (sIn * w.quantization!.scale[c]!) - 1)).toBeLessThan(1e-6));
      }
    }
    expect(result.report.weights).toEqual({ perChannel: 28, perTensor: 0 });
  });

  it('runs with XNNPACK (QS8 path) and with the built-in kernels, giving the same top-1 on a photo', async () => {
    const x = await load(result.bytes, { xnnpack: true });
    const b = await load(result.bytes, { xnnpack: false });
    try {
      const [s] = await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 1);
      const qi = x.inputs[0]!;
      const feed = Int8Array.from(s!.sample[0] as Float32Array, (v) => Math.max(-128, Math.min(127, Math.round(v / qi.quantization.scale) + qi.quantization.zeroPoint)));
      const ox = (await x.run([feed]))[x.outputs[0]!.name]!.data as Int8Array;
      const ob = (await b.run([feed]))[b.outputs[0]!.name]!.data as Int8Array;
      const top = (a: Int8Array): number => a.indexOf(Math.max(...a));
      expect(top(ox)).toBe(top(ob));
    } finally {
      await x.dispose();
      await b.dispose();
    }
  });
});

describe('TensorFlow PTQ pairs: output SQNR no worse than the TF twin minus 1 dB, same structure', () => {
  const cases = [
    { name: 'vww_96', cal: () => imagenetSamples([1, 96, 96, 3], 0, 255, 0, 200), ev: () => imagenetSamples([1, 96, 96, 3], 0, 255, 200, 300) },
    { name: 'resnet8_cifar10', cal: () => imagenetSamples([1, 32, 32, 3], 0, 1, 0, 200), ev: () => imagenetSamples([1, 32, 32, 3], 0, 1, 200, 300) },
    {
      name: 'hello_world',
      cal: async () => sineInputs(200, 0).map((sample) => ({ sample, label: 0 })),
      ev: async () => sineInputs(100, 0.5).map((sample) => ({ sample, label: 0 })),
    },
  ];
  it.each(cases)('$name', async ({ name, cal, ev }) => {
    const floatPath = sharedPath(`models/tflite/${name}_float.tflite`);
    const calibration = (await cal()).map((s) => s.sample);
    const evaluation = (await ev()).map((s) => s.sample);
    const r = await quantizeTflite(modelBytes(`models/tflite/${name}_float.tflite`), { calibration }, { source: name });
    const reef = await outputSqnr(r.bytes, floatPath, evaluation);
    const tf = await outputSqnr(sharedPath(`models/tflite/${name}_int8.tflite`), floatPath, evaluation);
    console.log(`${name}: output SQNR reef ${reef.toFixed(2)} dB, TensorFlow twin ${tf.toFixed(2)} dB`);
    expect(r.report.sqnrCheck).toMatchObject({ samples: 20, held: false, status: r.report.outputs[0]!.sqnrDb! >= 20 ? 'ok' : 'warning' });
    expect(reef).toBeGreaterThanOrEqual(tf - 1);
    expect(structureDiff(r.model, readTflite(modelBytes(`models/tflite/${name}_int8.tflite`)))).toEqual([]);
  }, 60_000);
});
