/**
 * Triton's config.pbtxt in --model-repository folders (docs/user_guide/model_configuration.md):
 * name, platform / backend, max_batch_size, input / output (name, data_type, dims), version_policy,
 * default_model_filename, instance_group count and output label_filename are read and checked
 * against the model file; each mismatch is REEF_SERVE_CONFIG_INVALID naming the file and the field,
 * in the version's status (the other models serve) or as the start error when it is the only model.
 * Goldens: a direct load() + run of the same file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReefServer } from '../../src/serve/server.js';
import { sharedPath } from '../shared.js';
import { MODELS, addVersion, direct, f32, http, post, seeded, start, tempDir, writeFile } from './helpers.js';

const MNIST = 'models/onnx/mnist_opset8.onnx';
const DIGIT = (JSON.parse(readFileSync(sharedPath('models/onnx/mnist_reference.json'), 'utf8')) as Record<string, { inputs: { data: number[] } }>)['test_data_0.npz'].inputs.data;
const MNIST_CONFIG = `# Triton model configuration
name: "mnist"
platform: "onnxruntime_onnx"
max_batch_size: 8
version_policy: { all { } }
input [
  {
    name: "Input3"
    data_type: TYPE_FP32
    dims: [ 1, 28, 28 ]
  }
]
output [
  {
    name: "Plus214_Output_0"
    data_type: TYPE_FP32
    dims: [ 10 ]
    label_filename: "digits.txt"
  }
]
instance_group [ { count: 2, kind: KIND_CPU } ]
dynamic_batching { }
`;
const HELLO_CONFIG = `name: "hello"
backend: "tflite"
max_batch_size: 0
default_model_filename: "sine.tflite"
input [ { name: "dense_input", data_type: TYPE_FP32, dims: [ 1, 1 ] } ]
output [ { name: "dense_2", data_type: TYPE_FP32, dims: [ -1, 1 ] } ]
`;

let tmp: ReturnType<typeof tempDir>;
let server: ReefServer;
beforeAll(async () => {
  tmp = tempDir('triton');
  const repo = join(tmp.dir, 'repo');
  addVersion(repo, 'mnist', 1, MNIST, 'model.onnx');
  addVersion(repo, 'mnist', 2, MNIST, 'model.onnx');
  writeFile(join(repo, 'mnist', 'config.pbtxt'), MNIST_CONFIG);
  writeFile(join(repo, 'mnist', 'digits.txt'), Array.from({ length: 10 }, (_, i) => `digit-${i}`).join('\n') + '\n');
  addVersion(repo, 'hello', 1, MODELS.hello, 'sine.tflite');
  addVersion(repo, 'hello', 1, MODELS.mul, 'model.tflite'); // not the default_model_filename: not served
  writeFile(join(repo, 'hello', 'config.pbtxt'), HELLO_CONFIG);
  server = await start({ modelRepository: repo });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('a config.pbtxt that matches its model', () => {
  it('metadata: the batch dimension is -1 under max_batch_size; version_policy all; instance_group count = interpreters', async () => {
    expect((await http(`${server.url}/v2/models/mnist`)).json).toEqual({
      name: 'mnist', versions: ['1', '2'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'Input3', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
      outputs: [{ name: 'Plus214_Output_0', datatype: 'FP32', shape: [-1, 10] }],
    });
    const st = (await http(`${server.url}/status.json`)).json as { models: Array<{ name: string; versions: Array<{ version: number; interpreters: number }> }> };
    expect(st.models.find((m) => m.name === 'mnist')?.versions.map((v) => [v.version, v.interpreters])).toEqual([[1, 2], [2, 2]]);
    // default_model_filename picks sine.tflite over model.tflite; max_batch_size 0 keeps the model's own shape.
    expect((await http(`${server.url}/v2/models/hello`)).json).toMatchObject({
      platform: 'tensorflow_lite', inputs: [{ name: 'dense_input', datatype: 'FP32', shape: [1, 1] }],
    });
  });

  it('rows up to max_batch_size, each equal to a direct run; classification with the label_filename labels', async () => {
    const other = Array.from(seeded(28 * 28, 3), (v) => (v + 1) * 100);
    const want = [...(await direct(MNIST, [Float32Array.from(DIGIT)]))[0], ...(await direct(MNIST, [Float32Array.from(other)]))[0]];
    const r = await post(`${server.url}/v2/models/mnist/versions/1/infer`, {
      inputs: [{ name: 'Input3', shape: [2, 1, 28, 28], datatype: 'FP32', data: [...DIGIT, ...other] }],
    });
    expect(f32(r.json)).toEqual({ model_name: 'mnist', model_version: '1', outputs: [{ name: 'Plus214_Output_0', datatype: 'FP32', shape: [2, 10], data: want }] });
    const c = await post(`${server.url}/v2/models/mnist/infer`, {
      inputs: [{ name: 'Input3', shape: [1, 1, 28, 28], datatype: 'FP32', data: DIGIT }],
      outputs: [{ name: 'Plus214_Output_0', parameters: { classification: 1 } }],
    });
    expect((c.json as { outputs: Array<{ data: string[] }> }).outputs[0].data).toEqual([`${want[5].toFixed(6)}:5:digit-5`]);
  });

  it('BAD CALL - more rows than max_batch_size; rows on a max_batch_size 0 model', async () => {
    const nine = await post(`${server.url}/v2/models/mnist/infer`, {
      inputs: [{ name: 'Input3', shape: [9, 1, 28, 28], datatype: 'FP32', data: Array(9 * 784).fill(0) }],
    });
    expect(nine).toMatchObject({ status: 400, json: { error: 'input "Input3" has 9 rows, more than the model\'s max_batch_size 8 (config.pbtxt)' } });
    const two = await post(`${server.url}/v2/models/hello/infer`, { inputs: [{ name: 'dense_input', shape: [2, 1], datatype: 'FP32', data: [1, 2] }] });
    expect(two).toMatchObject({ status: 400, json: { error: 'input "dense_input" expects shape [1,1] but received [2,1]' } });
  });
});

describe('EXPECTED FAILURE - a config.pbtxt that does not match: REEF_SERVE_CONFIG_INVALID naming the field', () => {
  const cases: Array<[string, string, string, (file: string) => string]> = [
    ['platform', MODELS.hello, 'platform: "onnxruntime_onnx"', (f) => `${f}: platform "onnxruntime_onnx" does not fit FILE, which runs as tensorflow_lite (field platform)`],
    ['input name', MODELS.hello, 'input [ { name: "x" data_type: TYPE_FP32 dims: [1, 1] } ]', (f) => `${f}: input[0] "x" is not an input of the model; its inputs are "dense_input" (field input[0].name)`],
    ['data_type', MODELS.hello, 'input [ { name: "dense_input" data_type: TYPE_INT8 dims: [1, 1] } ]', (f) => `${f}: input[0] "dense_input" has data_type TYPE_INT8 but the model's input is TYPE_FP32 (field input[0].data_type)`],
    ['dims', MODELS.hello, 'max_batch_size: 4 input [ { name: "dense_input" data_type: TYPE_FP32 dims: [1, 1] } ]', (f) => `${f}: input[0] "dense_input" has dims [1,1] but the model's input has [1] (without the batch dimension, as max_batch_size 4 asks) (field input[0].dims)`],
    ['output dims', MODELS.hello, 'output [ { name: "dense_2" data_type: TYPE_FP32 dims: [1, 2] } ]', (f) => `${f}: output[0] "dense_2" has dims [1,2] but the model's output has [1,1] (field output[0].dims)`],
    ['missing input', MODELS.mul, 'input [ { name: "A" data_type: TYPE_FP32 dims: [1, 2, 3, 4] } ]', (f) => `${f}: the model's input "B" is not in the config (field input)`],
  ];

  it.each(cases)('%s: the version is UNAVAILABLE with the error; the other models serve', async (label, model, body, message) => {
    const t = tempDir('triton-bad');
    try {
      const repo = join(t.dir, 'repo');
      const vdir = addVersion(repo, 'm', 1, model);
      const file = writeFile(join(repo, 'm', 'config.pbtxt'), `name: "m"\n${body}\n`);
      addVersion(repo, 'ok', 1, MODELS.hello);
      const s = await start({ modelRepository: repo });
      try {
        const idx = (await post(`${s.url}/v2/repository/index`, '')).json as Array<{ name: string; state: string; reason?: string }>;
        expect(idx).toEqual([
          { name: 'm', version: '1', state: 'UNAVAILABLE', reason: `REEF_SERVE_CONFIG_INVALID: ${message(file).replace('FILE', join(vdir, 'model.tflite'))}` },
          { name: 'ok', version: '1', state: 'READY' },
        ]);
        expect((await http(`${s.url}/v2/models/ok/ready`)).status).toBe(200);
      } finally {
        await s.close();
      }
    } finally {
      t.cleanup();
    }
    void label;
  });

  it('a syntax error or a name that is not the folder\'s: line and column; the only model: the start fails with the code', async () => {
    const t = tempDir('triton-syntax');
    try {
      const repo = join(t.dir, 'repo');
      addVersion(repo, 'm', 1, MODELS.hello);
      const file = writeFile(join(repo, 'm', 'config.pbtxt'), 'name: "m"\ninput [ { name: "dense_input" data_type: TYPE_FP32 dims: [1, 1 } ]\n');
      await expect(start({ modelRepository: repo })).rejects.toMatchObject({
        code: 'REEF_SERVE_CONFIG_INVALID',
        message: `Error parsing text-format inference.ModelConfig: ${file}:2:64: expected "," or "]" in the list of field "dims"`,
      });
      writeFileSync(file, 'name: "other"\n');
      await expect(start({ modelRepository: repo })).rejects.toMatchObject({
        code: 'REEF_SERVE_CONFIG_INVALID',
        message: `Error parsing text-format inference.ModelConfig: ${file}:1:1: name "other" is not the model folder's name "m"`,
      });
      writeFileSync(file, 'name: "m"\nbackend: "pytorch"\n');
      await expect(start({ modelRepository: repo })).rejects.toMatchObject({
        code: 'REEF_SERVE_CONFIG_INVALID',
        message: `Error parsing text-format inference.ModelConfig: ${file}:2:1: backend "pytorch" is not served by reef (onnxruntime, tflite, armnn_tflite, reef)`,
      });
    } finally {
      t.cleanup();
    }
  });
});
