/**
 * ONNX models served like TFLite ones: a .onnx file, a numeric version folder of a TF Serving base
 * path (model.onnx or the one *.onnx there) and a Triton --model-repository, over TF Serving v1
 * (status, metadata, predict) and KServe v2 (metadata, JSON and binary infer). Goldens: a direct
 * load() + run of the same file (onnxruntime, bit for bit) and, for MNIST, the reference outputs
 * that ship with the model (onnx/models test_data_0, an independent source).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReefServer } from '../../src/serve/server.js';
import { sharedPath } from '../shared.js';
import { addVersion, direct, f32, http, nest, post, seeded, start, tempDir } from './helpers.js';

const MNIST = 'models/onnx/mnist_opset8.onnx';
const FACE = 'models/onnx/ultraface_rfb_320.onnx';
const reference = JSON.parse(readFileSync(sharedPath('models/onnx/mnist_reference.json'), 'utf8')) as
  Record<string, { inputs: { data: number[] }; outputs: { data: number[] } }>;
const digit = reference['test_data_0.npz'];

let tmp: ReturnType<typeof tempDir>;
let repo: ReefServer;
beforeAll(async () => {
  tmp = tempDir('onnx');
  addVersion(tmp.dir, 'mnist', 1, MNIST, 'model.onnx');
  addVersion(tmp.dir, 'mnist', 2, MNIST, 'model.onnx');
  addVersion(tmp.dir, 'face', 3, FACE, 'ultraface_rfb_320.onnx');
  repo = await start({ modelRepository: tmp.dir });
});
afterAll(async () => {
  await repo?.close();
  tmp?.cleanup();
});

describe('TF Serving v1 over an ONNX model', () => {
  it('status and metadata: tensor names as keys, DT_FLOAT, sizes as strings', async () => {
    expect((await http(`${repo.url}/v1/models/mnist`)).json).toEqual({
      model_version_status: [{ version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
    });
    const dim = (sizes: number[]) => ({ dim: sizes.map((s) => ({ size: String(s), name: '' })), unknown_rank: false });
    expect((await http(`${repo.url}/v1/models/mnist/metadata`)).json).toEqual({
      model_spec: { name: 'mnist', signature_name: '', version: '2' },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              inputs: { Input3: { dtype: 'DT_FLOAT', tensor_shape: dim([1, 1, 28, 28]), name: 'Input3' } },
              outputs: { Plus214_Output_0: { dtype: 'DT_FLOAT', tensor_shape: dim([1, 10]), name: 'Plus214_Output_0' } },
              method_name: 'tensorflow/serving/predict',
              defaults: {},
            },
          },
        },
      },
    });
  });

  it('predict, row format: the reference digit and a second row, each equal to a direct run', async () => {
    const other = Float32Array.from(seeded(28 * 28, 5), (v) => (v + 1) * 127);
    const [want0] = await direct(MNIST, [Float32Array.from(digit.inputs.data)]);
    const [want1] = await direct(MNIST, [other]);
    // The reference output of onnx/models, independent of reef: within float32 rounding of onnxruntime.
    Array.from(want0).forEach((v, i) => expect(Math.abs(v - digit.outputs.data[i])).toBeLessThan(1e-3));
    const r = await post(`${repo.url}/v1/models/mnist:predict`, {
      instances: [nest(digit.inputs.data, [1, 28, 28]), nest(Array.from(other), [1, 28, 28])],
    });
    expect(r.status).toBe(200);
    expect(f32(r.json)).toEqual({ predictions: [Array.from(want0), Array.from(want1)] });
  });

  it('BAD CALL - a wrong shape names the expected and the received', async () => {
    const r = await post(`${repo.url}/v1/models/mnist/versions/2:predict`, { inputs: [[1, 2, 3]] });
    expect(r).toMatchObject({
      status: 400,
      json: { error: 'input "Input3" expects shape [1,1,28,28] (or [N,1,28,28] for N rows) but received [1,3]' },
    });
  });
});

describe('KServe v2 over an ONNX model', () => {
  it('metadata: platform onnxruntime_onnx, the model\'s tensors', async () => {
    expect((await http(`${repo.url}/v2/models/face`)).json).toEqual({
      name: 'face', versions: ['3'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 240, 320] }],
      outputs: [{ name: 'scores', datatype: 'FP32', shape: [1, 4420, 2] }, { name: 'boxes', datatype: 'FP32', shape: [1, 4420, 4] }],
    });
    expect((await http(`${repo.url}/v2/models/mnist/versions/2/ready`)).status).toBe(200);
    // latest 1 (the default policy): version 1 is not served.
    expect((await http(`${repo.url}/v2/models/mnist/versions/1/ready`)).status).toBe(400);
  });

  it('binary infer (tritonclient\'s layout): both outputs byte for byte as a direct run', async () => {
    const img = Float32Array.from(seeded(3 * 240 * 320, 11));
    const [scores, boxes] = await direct(FACE, [img]);
    const head = Buffer.from(JSON.stringify({
      inputs: [{ name: 'input', shape: [1, 3, 240, 320], datatype: 'FP32', parameters: { binary_data_size: img.byteLength } }],
      outputs: [{ name: 'boxes', parameters: { binary_data: true } }, { name: 'scores', parameters: { binary_data: true } }],
    }));
    const r = await fetch(`${repo.url}/v2/models/face/infer`, {
      method: 'POST', body: Buffer.concat([head, Buffer.from(img.buffer)]) as unknown as BodyInit,
      headers: { 'inference-header-content-length': String(head.length) },
    });
    expect(r.status).toBe(200);
    const body = Buffer.from(await r.arrayBuffer());
    const n = Number(r.headers.get('inference-header-content-length'));
    expect(JSON.parse(body.subarray(0, n).toString())).toEqual({
      model_name: 'face', model_version: '3',
      outputs: [
        { name: 'boxes', datatype: 'FP32', shape: [1, 4420, 4], parameters: { binary_data_size: boxes.byteLength } },
        { name: 'scores', datatype: 'FP32', shape: [1, 4420, 2], parameters: { binary_data_size: scores.byteLength } },
      ],
    });
    expect(Buffer.compare(body.subarray(n, n + boxes.byteLength), Buffer.from(boxes.buffer, boxes.byteOffset, boxes.byteLength))).toBe(0);
    expect(Buffer.compare(body.subarray(n + boxes.byteLength), Buffer.from(scores.buffer, scores.byteOffset, scores.byteLength))).toBe(0);
  });

  it('JSON infer of a single .onnx file (served as version 1 under its stem)', async () => {
    const s = await start({ model: sharedPath(MNIST) });
    try {
      const [want] = await direct(MNIST, [Float32Array.from(digit.inputs.data)]);
      const r = await post(`${s.url}/v2/models/mnist_opset8/infer`, {
        id: 'digit-0', inputs: [{ name: 'Input3', shape: [1, 1, 28, 28], datatype: 'FP32', data: digit.inputs.data }],
      });
      expect(f32(r.json)).toEqual({
        id: 'digit-0', model_name: 'mnist_opset8', model_version: '1',
        outputs: [{ name: 'Plus214_Output_0', datatype: 'FP32', shape: [1, 10], data: Array.from(want) }],
      });
      // The digit is a 5 (onnx/models' reference agrees).
      const out = (r.json as { outputs: Array<{ data: number[] }> }).outputs[0].data;
      expect(out.indexOf(Math.max(...out))).toBe(digit.outputs.data.indexOf(Math.max(...digit.outputs.data)));
      expect(out.indexOf(Math.max(...out))).toBe(5);
    } finally {
      await s.close();
    }
  });

  it('EXPECTED FAILURE - a corrupt .onnx file in a version folder: the version is END with REEF_MODEL_INVALID, the others serve', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const t = tempDir('onnx-bad');
    try {
      addVersion(t.dir, 'good', 1, MNIST, 'model.onnx');
      mkdirSync(join(t.dir, 'bad', '1'), { recursive: true });
      writeFileSync(join(t.dir, 'bad', '1', 'model.onnx'), Buffer.from([0x08, 0x07, 0x12, 0xff, 0xff]));
      const s = await start({ modelRepository: t.dir });
      try {
        const idx = (await post(`${s.url}/v2/repository/index`, '')).json as Array<{ name: string; state: string; reason?: string }>;
        expect(idx.map((m) => [m.name, m.state])).toEqual([['bad', 'UNAVAILABLE'], ['good', 'READY']]);
        expect(idx[0].reason).toMatch(/^REEF_MODEL_INVALID: .*bad\/1\/model\.onnx: /);
        expect((await http(`${s.url}/v2/health/ready`)).status).toBe(400);
        expect((await http(`${s.url}/v2/models/good/ready`)).status).toBe(200);
      } finally {
        await s.close();
      }
    } finally {
      t.cleanup();
    }
  });
});
