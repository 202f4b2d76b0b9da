/**
 * KServe v2 / Open Inference Protocol on a real server on loopback. Every JSON answer is checked
 * against ../shared/specs/open_inference_rest.yaml with Ajv. Binary cases transcribed from Triton's
 * qa/L0_http/http_test.py (test_raw_binary, test_raw_binary_longer) and the request layout of
 * docs/protocol/extension_binary_data.md, which is what tritonclient.http sends by default
 * (binary inputs with binary_data_size, outputs with "binary_data": true); classification from
 * extension_classification.md. Golden values: the runtime's Session.run on the same inputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { deflateSync, gzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { load } from '../../src/runtime/session.js';
import type { ReefServer } from '../../src/serve/server.js';
import { sharedPath } from '../shared.js';
import { MODELS, addVersion, f32, http, post, seeded, start, tempDir, writeFile } from './helpers.js';

const SSD = 'models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite';
const LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const spec = parseYaml(readFileSync(sharedPath('specs/open_inference_rest.yaml'), 'utf8')) as { components: { schemas: Record<string, unknown> } };
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'oip', components: spec.components });
function valid(schema: string, body: unknown): void {
  const ok = ajv.validate(`oip#/components/schemas/${schema}`, body);
  expect(ok ? null : ajv.errorsText(ajv.errors), `${schema}: ${JSON.stringify(body).slice(0, 200)}`).toBe(null);
}

let server: ReefServer;
let base: string;
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  tmp = tempDir('v2');
  addVersion(tmp.dir, 'hello', 1, MODELS.hello);
  addVersion(tmp.dir, 'mul', 1, MODELS.mul);
  addVersion(tmp.dir, 'resnet', 1, MODELS.resnet);
  addVersion(tmp.dir, 'ssd', 1, SSD);
  const config = writeFile(`${tmp.dir}/models.config`, `model_config_list {
    config { name: "hello" base_path: "hello" }
    config { name: "mul" base_path: "mul" }
    config { name: "resnet" base_path: "resnet" }
    config { name: "ssd" base_path: "ssd" }
  }`);
  server = await start({ modelConfigFile: config, labels: LABELS });
  base = server.url;
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

async function golden(model: string, feeds: ArrayLike<number>[], ctors: Array<new (a: ArrayLike<number>) => ArrayBufferView> = []) {
  const s = await load(sharedPath(model));
  const out = await s.run(feeds.map((f, i) => new (ctors[i] ?? Float32Array)(f) as Float32Array));
  await s.dispose();
  return s.outputs.map((o) => Array.from(out[o.name].data as Float32Array));
}

/** Splits a binary answer into its JSON header and the bytes after it. */
function splitBinary(body: Buffer, headers: Headers): { head: Record<string, unknown>; rest: Buffer } {
  const n = Number(headers.get('inference-header-content-length'));
  return { head: JSON.parse(body.subarray(0, n).toString('utf8')), rest: body.subarray(n) };
}

async function raw(url: string, body: Buffer, headers: Record<string, string>) {
  const r = await fetch(url, { method: 'POST', body: body as unknown as BodyInit, headers });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

describe('health and metadata', () => {
  it('live and ready: 200 with an empty body', async () => {
    for (const p of ['/v2/health/live', '/v2/health/ready', '/v2/models/hello/ready', '/v2/models/hello/versions/1/ready']) {
      const r = await http(`${base}${p}`);
      expect({ p, status: r.status, text: r.text }).toEqual({ p, status: 200, text: '' });
    }
    expect((await http(`${base}/v2/models/nope/ready`)).status).toBe(400);
    expect((await http(`${base}/v2/models/hello/versions/2/ready`)).status).toBe(400);
  });

  it('server metadata names the extensions', async () => {
    const r = await http(`${base}/v2`);
    valid('metadata_server_response', r.json);
    expect(r.json).toMatchObject({ name: 'reef', extensions: ['binary_tensor_data', 'classification', 'model_repository'] });
  });

  it('model metadata: OIP datatypes and shapes; unknown models get a 404 error object', async () => {
    const r = await http(`${base}/v2/models/mul/versions/1`);
    valid('metadata_model_response', r.json);
    expect(r.json).toEqual({
      name: 'mul', versions: ['1'], platform: 'tensorflow_lite',
      inputs: [{ name: 'A', datatype: 'FP32', shape: [1, 2, 3, 4] }, { name: 'B', datatype: 'FP32', shape: [1, 2, 3, 4] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 2, 3, 4] }],
    });
    const ssd = await http(`${base}/v2/models/ssd`);
    expect((ssd.json as { inputs: unknown[] }).inputs).toEqual([{ name: 'normalized_input_image_tensor', datatype: 'UINT8', shape: [1, 300, 300, 3] }]);
    const nf = await http(`${base}/v2/models/nope`);
    valid('metadata_model_error_response', nf.json);
    expect(nf).toMatchObject({ status: 404, json: { error: "Request for unknown model: 'nope' is not found" } });
  });
});

describe('infer (JSON)', () => {
  it('id echoed, rows split over runs, answer valid against the spec', async () => {
    const want = [(await golden(MODELS.hello, [[0.5]]))[0][0], (await golden(MODELS.hello, [[1.0]]))[0][0]];
    const r = await post(`${base}/v2/models/hello/infer`, {
      id: 'req-42', inputs: [{ name: 'dense_input', shape: [2, 1], datatype: 'FP32', data: [0.5, 1.0] }],
    });
    expect(r.status).toBe(200);
    valid('inference_response', r.json);
    expect(f32(r.json)).toEqual({
      id: 'req-42', model_name: 'hello', model_version: '1',
      outputs: [{ name: 'dense_2', datatype: 'FP32', shape: [2, 1], data: want }],
    });
  });

  it('two named inputs in any order; nested data is flattened', async () => {
    const a = seeded(24, 3);
    const b = seeded(24, 4);
    const r = await post(`${base}/v2/models/mul/infer`, {
      inputs: [
        { name: 'B', shape: [1, 2, 3, 4], datatype: 'FP32', data: [b.slice(0, 12), b.slice(12)] },
        { name: 'A', shape: [1, 2, 3, 4], datatype: 'FP32', data: a },
      ],
    });
    valid('inference_response', r.json);
    expect(f32((r.json as { outputs: Array<{ data: number[] }> }).outputs[0].data)).toEqual(a.map((x, i) => Math.fround(x * b[i])));
  });

  it('gzip and deflate request bodies', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'dense_input', shape: [1, 1], datatype: 'FP32', data: [0.5] }] });
    for (const [enc, z] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const r = await http(`${base}/v2/models/hello/infer`, {
        method: 'POST', body: z(body) as unknown as BodyInit, headers: { 'content-type': 'application/json', 'content-encoding': enc },
      });
      expect({ enc, status: r.status }).toEqual({ enc, status: 200 });
    }
  });

  it('classification extension: top N as "score:index:label" BYTES', async () => {
    const img = seeded(32 * 32 * 3, 11).map((v) => Math.round((v + 1) * 127));
    const scores = (await golden(MODELS.resnet, [img]))[0];
    const top = scores.map((s, i) => [s, i] as const).sort((x, y) => y[0] - x[0]).slice(0, 3);
    const r = await post(`${base}/v2/models/resnet/infer`, {
      inputs: [{ name: 'input_1', shape: [1, 32, 32, 3], datatype: 'FP32', data: img }],
      outputs: [{ name: 'Identity', parameters: { classification: 3 } }],
    });
    valid('inference_response', r.json);
    expect(r.json).toEqual({
      model_name: 'resnet', model_version: '1',
      outputs: [{ name: 'Identity', datatype: 'BYTES', shape: [1, 3], data: top.map(([s, i]) => `${s.toFixed(6)}:${i}:${LABELS[i]}`) }],
    });
  });
});

describe('binary tensor data extension', () => {
  it('tritonclient.http\'s default: binary inputs, binary outputs requested; requested outputs only', async () => {
    const img = Uint8Array.from(seeded(300 * 300 * 3, 7).map((v) => Math.floor((v + 1) * 127.9)));
    const want = await golden(SSD, [img], [Uint8Array]);
    const head = Buffer.from(JSON.stringify({
      inputs: [{ name: 'normalized_input_image_tensor', shape: [1, 300, 300, 3], datatype: 'UINT8', parameters: { binary_data_size: img.length } }],
      outputs: [
        { name: 'TFLite_Detection_PostProcess:3', parameters: { binary_data: true } },
        { name: 'TFLite_Detection_PostProcess:2', parameters: { binary_data: false } },
      ],
    }));
    const r = await raw(`${base}/v2/models/ssd/infer`, Buffer.concat([head, img]), {
      'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    const { head: h, rest } = splitBinary(r.body, r.headers);
    expect(f32(h)).toEqual({
      model_name: 'ssd', model_version: '1',
      outputs: [
        { name: 'TFLite_Detection_PostProcess:3', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
        { name: 'TFLite_Detection_PostProcess:2', datatype: 'FP32', shape: [1, 10], data: want[2] },
      ],
    });
    expect(Array.from(new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + 4)))).toEqual(want[3]);
  });

  it('binary_data_output: every output binary, bytes identical to the runtime\'s', async () => {
    const a = Float32Array.from(seeded(24, 5));
    const b = Float32Array.from(seeded(24, 6));
    const head = Buffer.from(JSON.stringify({
      parameters: { binary_data_output: true },
      inputs: [
        { name: 'A', shape: [1, 2, 3, 4], datatype: 'FP32', parameters: { binary_data_size: 96 } },
        { name: 'B', shape: [1, 2, 3, 4], datatype: 'FP32', parameters: { binary_data_size: 96 } },
      ],
    }));
    const r = await raw(`${base}/v2/models/mul/infer`, Buffer.concat([head, Buffer.from(a.buffer), Buffer.from(b.buffer)]), {
      'inference-header-content-length': String(head.length),
    });
    const { head: h, rest } = splitBinary(r.body, r.headers);
    expect(h).toEqual({ model_name: 'mul', model_version: '1', outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 2, 3, 4], parameters: { binary_data_size: 96 } }] });
    expect(Array.from(new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + 96)))).toEqual(Array.from(a, (x, i) => Math.fround(x * b[i])));
  });

  it('test_raw_binary / test_raw_binary_longer: Inference-Header-Content-Length 0, one input, answered in binary', async () => {
    for (const n of [1, 8]) {
      const x = Float32Array.from({ length: n }, (_, i) => i / 4);
      const want: number[] = [];
      for (const v of x) want.push((await golden(MODELS.hello, [[v]]))[0][0]);
      const r = await raw(`${base}/v2/models/hello/infer`, Buffer.from(x.buffer), { 'inference-header-content-length': '0' });
      expect(r.status).toBe(200);
      const { head, rest } = splitBinary(r.body, r.headers);
      expect(head).toMatchObject({ outputs: [{ name: 'dense_2', shape: [n, 1], parameters: { binary_data_size: 4 * n } }] });
      expect(Array.from(new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + 4 * n)))).toEqual(want);
    }
  });
});

describe('bad requests: 400 with an error object valid against the spec', () => {
  const t = (name: string, shape: number[], datatype: string, data: unknown) => ({ name, shape, datatype, data });
  const cases: Array<[string, string, unknown, string]> = [
    ['a wrong datatype', 'hello', { inputs: [t('dense_input', [1, 1], 'FP64', [1])] },
      "input 'dense_input' data-type is 'FP64', but model 'hello' expects 'FP32'"],
    ['a wrong shape', 'hello', { inputs: [t('dense_input', [1, 2], 'FP32', [1, 2])] },
      'input "dense_input" expects shape [1,1] (or [N,1] for N rows) but received [1,2]'],
    ['data that does not fill the shape', 'hello', { inputs: [t('dense_input', [3, 1], 'FP32', [1, 2])] },
      "input 'dense_input' has 2 elements in data but shape [3,1] needs 3"],
    ['an unknown input', 'hello', { inputs: [t('x', [1, 1], 'FP32', [1])] },
      "unexpected inference input 'x' for model 'hello'; its inputs are 'dense_input'"],
    ['a missing input', 'mul', { inputs: [t('A', [1, 2, 3, 4], 'FP32', Array(24).fill(1))] },
      "expected 2 inputs but got 1 inputs for model 'mul'; missing 'B'"],
    ['a string where a number goes', 'hello', { inputs: [t('dense_input', [1, 1], 'FP32', ['x'])] },
      'JSON Value: "x" Type: String is not of expected type: float'],
    ['an unknown output', 'hello', { inputs: [t('dense_input', [1, 1], 'FP32', [1])], outputs: [{ name: 'nope' }] },
      'unknown output "nope"; the model\'s outputs are "dense_2"'],
    ['no inputs key (body schema)', 'hello', { id: '1' }, "invalid request: body must have required property 'inputs'"],
  ];
  for (const [what, model, body, error] of cases) {
    it(`BAD CALL - ${what}`, async () => {
      const r = await post(`${base}/v2/models/${model}/infer`, body);
      valid('inference_error_response', r.json);
      expect({ status: r.status, json: r.json }).toEqual({ status: 400, json: { error } });
    });
  }

  it('BAD CALL - binary sizes that do not add up', async () => {
    const head = Buffer.from(JSON.stringify({ inputs: [{ name: 'dense_input', shape: [1, 1], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }));
    const r1 = await raw(`${base}/v2/models/hello/infer`, Buffer.concat([head, Buffer.alloc(8)]), { 'inference-header-content-length': String(head.length) });
    expect({ status: r1.status, body: JSON.parse(r1.body.toString()) }).toEqual({
      status: 400, body: { error: "input 'dense_input' has binary_data_size 8 but shape [1,1] of FP32 needs 4 bytes" },
    });
    const head2 = Buffer.from(JSON.stringify({ inputs: [{ name: 'dense_input', shape: [1, 1], datatype: 'FP32', parameters: { binary_data_size: 4 } }] }));
    const r2 = await raw(`${base}/v2/models/hello/infer`, Buffer.concat([head2, Buffer.alloc(12)]), { 'inference-header-content-length': String(head2.length) });
    expect(JSON.parse(r2.body.toString())).toEqual({ error: 'the body has 8 bytes of binary data that no input claims' });
    const r3 = await raw(`${base}/v2/models/hello/infer`, Buffer.alloc(6), { 'inference-header-content-length': '0' });
    expect(JSON.parse(r3.body.toString())).toEqual({
      error: "input 'dense_input' expects 4 bytes of raw binary data (FP32 [1,1]) (or a multiple of it, one per row) but received 6",
    });
    const r4 = await raw(`${base}/v2/models/hello/infer`, Buffer.alloc(6), { 'inference-header-content-length': '60' });
    expect(JSON.parse(r4.body.toString())).toEqual({ error: 'Inference-Header-Content-Length 60 is not an integer from 0 to the body length 6' });
  });
});

describe('model repository extension (Triton layout)', () => {
  it('index, unload (in-flight work finishes), load again', async () => {
    const repo = tempDir('triton');
    addVersion(repo.dir, 'hello', 1, MODELS.hello);
    addVersion(repo.dir, 'hello', 2, MODELS.hello);
    addVersion(repo.dir, 'mul', 1, MODELS.mul);
    const s = await start({ modelRepository: repo.dir });
    try {
      expect((await post(`${s.url}/v2/repository/index`, '')).json).toEqual([
        { name: 'hello', version: '2', state: 'READY' },
        { name: 'mul', version: '1', state: 'READY' },
      ]);
      const inflight = post(`${s.url}/v2/models/mul/infer`, { inputs: ['A', 'B'].map((n) => ({ name: n, shape: [1, 2, 3, 4], datatype: 'FP32', data: Array(24).fill(2) })) });
      const un = await post(`${s.url}/v2/repository/models/mul/unload`, '');
      expect(un.status).toBe(200);
      expect((await inflight).status).toBe(200);
      expect((await http(`${s.url}/v2/models/mul/ready`)).status).toBe(400);
      expect((await http(`${s.url}/v2/health/ready`)).status).toBe(200);
      expect((await post(`${s.url}/v2/repository/models/mul/load`, '')).status).toBe(200);
      expect((await http(`${s.url}/v2/models/mul/ready`)).status).toBe(200);
      const bad = await post(`${s.url}/v2/repository/models/..%2Fetc/load`, '');
      expect(bad.status).toBe(400);
      expect((bad.json as { error: string }).error).toMatch(/^Expected a model name of letters, digits/);
    } finally {
      await s.close();
      repo.cleanup();
    }
  });
});
