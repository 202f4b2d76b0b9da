/**
 * TensorFlow Serving REST API (v1) on a real server on loopback, real HTTP. Cases transcribed from
 * tensorflow_serving/model_servers/tensorflow_model_server_test.py (named per test: testPredictREST,
 * testPredictColumnarREST, testClassifyREST, testRegressREST, testGetStatusREST,
 * testGetModelMetadataREST, testPrometheusEndpoint) with reef's TFLite models in place of
 * half_plus_two, and the bad-request messages of tensorflow_serving/util/json_tensor.cc and
 * model_servers/http_rest_api_handler.cc. Golden values: float32 arithmetic for the MUL model,
 * the runtime's own Session.run (not the server) for the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { load } from '../../src/runtime/session.js';
import type { ReefServer } from '../../src/serve/server.js';
import { sharedPath } from '../shared.js';
import { MODELS, addVersion, f32, http, nest, post, seeded, start, tempDir, writeFile } from './helpers.js';

let server: ReefServer;
let base: string;
let tmp: ReturnType<typeof tempDir>;
const LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

beforeAll(async () => {
  tmp = tempDir('v1');
  addVersion(tmp.dir, 'hello', 123, MODELS.hello);
  addVersion(tmp.dir, 'mul', 1, MODELS.mul);
  addVersion(tmp.dir, 'fc', 1, MODELS.fc);
  addVersion(tmp.dir, 'resnet', 7, MODELS.resnet);
  const config = writeFile(`${tmp.dir}/models.config`, `
# TF Serving text format, as in tensorflow_model_server_test.py testGoodModelConfig
model_config_list {
  config { name: "hello" base_path: "${tmp.dir}/hello" model_platform: "tensorflow" }
  config { name: "mul" base_path: "mul" }
  config: { name: "fc", base_path: "fc" }
  config {
    name: "resnet" base_path: "resnet"
    model_version_policy { specific { versions: 7 } }
    version_labels { key: "stable" value: 7 }
  }
}`);
  server = await start({ modelConfigFile: config, labels: LABELS, maxBodyMb: 1 });
  base = server.url;
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('status and metadata', () => {
  it('testGetStatusREST: GET /v1/models/M is model_version_status, version as a string', async () => {
    const r = await http(`${base}/v1/models/hello`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      model_version_status: [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
    });
    expect((await http(`${base}/v1/models/hello/versions/123`)).json).toEqual(r.json);
    expect((await http(`${base}/v1/models/resnet/labels/stable`)).json).toEqual({
      model_version_status: [{ version: '7', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
    });
  });

  it('BAD CALL - status of an unknown model, version or label: 404 with TF Serving\'s words', async () => {
    expect(await http(`${base}/v1/models/nope`)).toMatchObject({ status: 404, json: { error: 'Could not find any versions of model nope' } });
    expect(await http(`${base}/v1/models/hello/versions/9`)).toMatchObject({ status: 404, json: { error: 'Could not find version 9 of model hello' } });
    expect(await http(`${base}/v1/models/resnet/labels/canary`)).toMatchObject({ status: 404, json: { error: 'Unrecognized servable version label: canary' } });
    expect(await http(`${base}/v1/models`)).toMatchObject({ status: 400, json: { error: 'Missing model name in request.' } });
  });

  it('testGetModelMetadataREST: signature_def nesting, DT_ dtypes, sizes as strings, signature keys as names', async () => {
    const r = await http(`${base}/v1/models/hello/metadata`);
    expect(r.status).toBe(200);
    const dim = [{ size: '1', name: '' }, { size: '1', name: '' }];
    expect(r.json).toEqual({
      model_spec: { name: 'hello', signature_name: '', version: '123' },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              inputs: { dense_input: { dtype: 'DT_FLOAT', tensor_shape: { dim, unknown_rank: false }, name: 'serving_default_dense_input:0' } },
              outputs: { dense_2: { dtype: 'DT_FLOAT', tensor_shape: { dim, unknown_rank: false }, name: 'StatefulPartitionedCall:0' } },
              method_name: 'tensorflow/serving/predict',
              defaults: {},
            },
          },
        },
      },
    });
    // A model without a signature: tensor names are the keys.
    const m = await http(`${base}/v1/models/mul/versions/1/metadata`);
    const sig = (m.json as { metadata: { signature_def: { signature_def: { serving_default: { inputs: Record<string, unknown> } } } } })
      .metadata.signature_def.signature_def.serving_default;
    expect(Object.keys(sig.inputs)).toEqual(['A', 'B']);
    expect(sig.inputs.A).toEqual({
      dtype: 'DT_FLOAT', name: 'A',
      tensor_shape: { dim: ['1', '2', '3', '4'].map((size) => ({ size, name: '' })), unknown_rank: false },
    });
  });
});

describe('predict', () => {
  it('testPredictREST: row format, one row per instance, the batch dimension split over runs', async () => {
    const session = await load(sharedPath(MODELS.hello));
    const xs = [0.5, 1.0, 2.0];
    const want: number[] = [];
    for (const x of xs) want.push((await session.run([new Float32Array([x])]))[session.outputs[0].name].data[0] as number);
    await session.dispose();
    const r = await post(`${base}/v1/models/hello:predict`, { instances: xs.map((x) => [x]) });
    expect(r.status).toBe(200);
    expect(f32(r.json)).toEqual({ predictions: want.map((v) => [v]) });
  });

  it('testPredictColumnarREST: "inputs" -> "outputs", whole tensors', async () => {
    const session = await load(sharedPath(MODELS.hello));
    const want = (await session.run([new Float32Array([1.5])]))[session.outputs[0].name].data[0];
    await session.dispose();
    const r = await post(`${base}/v1/models/hello/versions/123:predict`, { inputs: [[1.5]] });
    expect(f32(r.json)).toEqual({ outputs: [[want]] });
    const named = await post(`${base}/v1/models/hello:predict`, { signature_name: 'serving_default', inputs: { dense_input: [[1.5]] } });
    expect(f32(named.json)).toEqual({ outputs: [[want]] });
  });

  it('multiple named inputs, row and columnar; floats written as TF Serving writes them (3.0, NaN, Infinity)', async () => {
    const a = Array.from({ length: 24 }, (_, i) => i + 1);
    const b = Array.from({ length: 24 }, () => 0.5);
    b[0] = NaN;
    b[1] = Infinity;
    b[2] = -Infinity;
    const text = JSON.stringify({ instances: [{ A: nest(a, [2, 3, 4]), B: nest(b, [2, 3, 4]) }] })
      .replace('null,null,null', 'NaN,Infinity,-Infinity');
    const r = await post(`${base}/v1/models/mul:predict`, text);
    expect(r.status).toBe(200);
    // The NaN reaches the model: what TFLite makes of NaN*1 (XNNPACK's output clamp turns it into
    // -Infinity) is what the server answers; Inf*2, -Inf*3 stay infinite; 4*0.5 is written "2.0".
    const session = await load(sharedPath(MODELS.mul));
    const first = (await session.run([new Float32Array(a), new Float32Array(b)]))[session.outputs[0].name].data[0] as number;
    await session.dispose();
    const tok = Number.isNaN(first) ? 'NaN' : first === -Infinity ? '-Infinity' : String(first);
    expect(r.text.startsWith(`{"predictions":[[[[${tok},Infinity,-Infinity,2.0],[2.5,3.0,3.5,4.0]`)).toBe(true);
    const col = await post(`${base}/v1/models/mul:predict`, { inputs: { A: nest(a, [1, 2, 3, 4]), B: nest(a, [1, 2, 3, 4]) } });
    const want = a.map((x) => Math.fround(x * x));
    expect(col.json).toEqual({ outputs: nest(want, [1, 2, 3, 4]) });
  });

  it('random inputs give the products float32 arithmetic gives', async () => {
    const a = seeded(24, 1);
    const b = seeded(24, 2);
    const r = await post(`${base}/v1/models/mul:predict`, { inputs: { A: nest(a, [1, 2, 3, 4]), B: nest(b, [1, 2, 3, 4]) } });
    expect(f32(r.json)).toEqual({ outputs: nest(a.map((x, i) => Math.fround(x * b[i])), [1, 2, 3, 4]) });
  });

  it('a model whose batch dimension is 2 takes 2 instances in one run', async () => {
    const x = [[1, 2, 3, 4], [5, 6, 7, 8]];
    const session = await load(sharedPath(MODELS.fc));
    const want = Array.from((await session.run([new Float32Array(x.flat())]))[session.outputs[0].name].data as Float32Array);
    await session.dispose();
    const r = await post(`${base}/v1/models/fc:predict`, { instances: x });
    expect(f32(r.json)).toEqual({ predictions: [want.slice(0, 3), want.slice(3)] });
  });

  it('gzip request bodies are read', async () => {
    const r = await http(`${base}/v1/models/hello:predict`, {
      method: 'POST', body: gzipSync(JSON.stringify({ instances: [[0.5]] })),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(r.status).toBe(200);
    expect((r.json as { predictions: number[][] }).predictions).toHaveLength(1);
  });
});

describe('classify and regress', () => {
  it('testClassifyREST: examples -> results [[[label, score], ...]] with the labels given', async () => {
    const img = seeded(32 * 32 * 3, 5).map((v) => Math.round((v + 1) * 127));
    const session = await load(sharedPath(MODELS.resnet));
    const scores = Array.from((await session.run([new Float32Array(img)]))[session.outputs[0].name].data as Float32Array);
    await session.dispose();
    const r = await post(`${base}/v1/models/resnet:classify`, { examples: [{ input_1: img }, { input_1: img }] });
    expect(r.status).toBe(200);
    const row = scores.map((s, i) => [LABELS[i], s]);
    expect(f32(r.json)).toEqual({ results: [row, row] });
    // The classification shows in the prediction statistics.
    const metrics = (await http(`${base}/metrics`)).text;
    const top = LABELS[scores.indexOf(Math.max(...scores))];
    expect(metrics).toContain(`reef_serve_predictions_total{model="resnet",version="7",class="${top}"} 2`);
  });

  it('testRegressREST: examples -> results [value, ...]', async () => {
    const session = await load(sharedPath(MODELS.hello));
    const want = (await session.run([new Float32Array([2])]))[session.outputs[0].name].data[0];
    await session.dispose();
    const r = await post(`${base}/v1/models/hello:regress`, { signature_name: 'serving_default', examples: [{ dense_input: 2.0 }] });
    expect(f32(r.json)).toEqual({ results: [want] });
  });

  it('BAD CALL - regress without examples', async () => {
    const r = await post(`${base}/v1/models/hello:regress`, { instances: [] });
    expect(r).toMatchObject({ status: 400, json: { error: 'JSON Value: {"instances":[]} When method is regress, key \'examples\' is expected and was not found' } });
  });
});

describe('bad requests get TF Serving\'s status and words', () => {
  const cases: Array<[string, string, unknown, number, string]> = [
    ['no inputs or instances', 'hello', { foo: 1 }, 400, "Missing 'inputs' or 'instances' key"],
    ['both keys', 'hello', { inputs: [[1]], instances: [[1]] }, 400,
      'JSON Value: {"inputs":[[1]],"instances":[[1]]} Not formatted correctly expecting only one of \'inputs\' or \'instances\' keys to exist '],
    ['instances not a list', 'hello', { instances: 3 }, 400, 'JSON Value: {"instances":3} Excepting \'instances\' to be an list/array'],
    ['empty instances', 'hello', { instances: [] }, 400, 'JSON Value: {"instances":[]} No values in \'instances\' array'],
    ['a string for a float', 'hello', { instances: [['a']] }, 400,
      'Failed to process element: 0 of \'instances\' list. Error: INVALID_ARGUMENT: JSON Value: "a" Type: String is not of expected type: float'],
    ['b64 for a float input', 'hello', { inputs: { b64: 'AAAA' } }, 400, 'JSON Value: {"b64":"AAAA"} Type: Object is not of expected type: float'],
    ['a wrong shape names expected and received', 'hello', { instances: [[1, 2]] }, 400,
      'input "dense_input" expects shape [1,1] (or [N,1] for N rows) but received [1,2]'],
    ['ragged instances', 'hello', { instances: [[1], [1, 2]] }, 400,
      'Failed to process element: 1 of \'instances\' list. Error: INVALID_ARGUMENT: Expecting tensor size: 1 but got: 2'],
    ['a plain list for two inputs', 'mul', { instances: [[1]] }, 400,
      'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map'],
    ['a missing named input (columnar)', 'mul', { inputs: { A: [1] } }, 400, "Missing named input: B in 'inputs' object."],
    ['wrong keys (row)', 'mul', { instances: [{ A: 1, C: 2 }] }, 400,
      "Failed to process element: 0 key: C of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: C"],
    ['an unknown signature', 'hello', { signature_name: 'other', instances: [[1]] }, 400, 'Serving signature name: "other" not found in signature def'],
    ['a lossy float', 'hello', { instances: [[16777217]] }, 400,
      "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: Cannot convert JSON value: 16777217 to float without loss of precision."],
    ['the batch size of a fixed-batch model', 'fc', { instances: [[1, 2, 3, 4]] }, 400, 'input "input" expects shape [2,4] but received [1,4]'],
  ];
  for (const [what, model, body, status, error] of cases) {
    it(`BAD CALL - ${what}`, async () => {
      const r = await post(`${base}/v1/models/${model}:predict`, body);
      expect({ status: r.status, json: r.json }).toEqual({ status, json: { error } });
    });
  }

  it('BAD CALL - malformed JSON, an empty body, a non-object', async () => {
    expect((await post(`${base}/v1/models/hello:predict`, '{"instances": [1,')).status).toBe(400);
    expect((await post(`${base}/v1/models/hello:predict`, '{"instances": [1,')).json).toMatchObject({ error: expect.stringMatching(/^JSON Parse error: /) });
    expect((await post(`${base}/v1/models/hello:predict`, '')).json).toEqual({ error: 'JSON Parse error: The document is empty' });
    expect((await post(`${base}/v1/models/hello:predict`, '[1]')).json).toEqual({ error: 'JSON Value: [1] Is not object' });
  });

  it('BAD CALL - nesting deeper than 32 levels is refused before parsing', async () => {
    const r = await post(`${base}/v1/models/hello:predict`, `{"instances": ${'['.repeat(40)}1${']'.repeat(40)}}`);
    expect(r.status).toBe(400);
    expect((r.json as { error: string }).error).toBe('JSON Parse error: nesting deeper than 32 levels at offset: 45');
  });

  it('EXPECTED FAILURE - unknown model or version: 404 "Servable not found"', async () => {
    expect(await post(`${base}/v1/models/nope:predict`, { instances: [[1]] }))
      .toMatchObject({ status: 404, json: { error: 'Servable not found for request: Latest(nope)' } });
    expect(await post(`${base}/v1/models/hello/versions/5:predict`, { instances: [[1]] }))
      .toMatchObject({ status: 404, json: { error: 'Servable not found for request: Specific(hello, 5)' } });
    expect(await post(`${base}/v1/models/hello:explain`, { instances: [[1]] }))
      .toMatchObject({ status: 400, json: { error: 'Malformed request: POST /v1/models/hello:explain' } });
  });

  it('EXPECTED FAILURE - a body over --max-body-mb: 413, also when it only grows that large unzipped', async () => {
    const big = JSON.stringify({ instances: Array.from({ length: 200000 }, () => [0.5]) });
    const r = await post(`${base}/v1/models/hello:predict`, big);
    expect(r).toMatchObject({ status: 413, json: { error: 'the request body is larger than 1 MiB (--max-body-mb)' } });
    const z = await http(`${base}/v1/models/hello:predict`, {
      method: 'POST', body: gzipSync(big), headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(z.status).toBe(413);
  });
});

it('testPrometheusEndpoint: /monitoring/prometheus/metrics has # TYPE lines and counts the requests', async () => {
  const before = await http(`${base}/monitoring/prometheus/metrics`);
  expect(before.status).toBe(200);
  expect(before.text).toContain('# TYPE reef_serve_requests_total counter');
  const count = (text: string) => Number(/reef_serve_requests_total\{model="hello",version="123",protocol="v1",status="200"\} (\d+)/.exec(text)?.[1] ?? 0);
  const n0 = count(before.text);
  await post(`${base}/v1/models/hello:predict`, { instances: [[1]] });
  await post(`${base}/v1/models/hello:predict`, { instances: [[1]] });
  expect(count((await http(`${base}/metrics`)).text)).toBe(n0 + 2);
});
