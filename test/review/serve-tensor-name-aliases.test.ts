/**
 * Defect: docs/serve.md says "Input names are the TFLite signature's keys (serving_default), else
 * the tensor names; the tensor names are accepted too." They are only half accepted:
 * (1) TF Serving row format: {"instances":[{"serving_default_dense_input:0":[0.5]}]} -> 400 "keys
 *     must be equal to: dense_input", while the columnar {"inputs":{"serving_default_dense_input:0":...}}
 *     of the same request is answered 200;
 * (2) KServe: an output requested by its tensor name ("StatefulPartitionedCall:0") is accepted but
 *     answered under another name ("dense_2"), so tritonclient's InferResult.as_numpy(
 *     "StatefulPartitionedCall:0") -- which looks the output up by the name it asked for -- returns None.
 *
 * Correct behaviour: docs/serve.md (above); Open Inference Protocol (../shared/specs/inference_rest.md,
 * "Inference Request JSON Object": "outputs: The output tensors requested for this inference. Each
 * requested output must be an $request_output"; response "$response_output ... name: The name of the
 * output tensor") -- Triton answers each requested output under the name it was requested by.
 * Root cause: src/serve/tfserving.ts fromInstances(): `keys.join(',') !== names.join(',')` compares
 * the raw keys to the signature keys only; src/serve/model.ts infer(): outputs are built with
 * `name: spec.name`, not the requested name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, post, start } from '../serve/helpers.js';
import { sharedPath } from '../shared.js';

describe('tensor names as aliases of the signature keys', () => {
  let server: ReefServer;
  beforeAll(async () => {
    server = await start({ model: sharedPath(MODELS.hello), interpreters: 1 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('row format takes the input tensor name like the columnar format does', async () => {
    const col = await post(`${server.url}/v1/models/hello_world_float:predict`, { inputs: { 'serving_default_dense_input:0': [[0.5]] } });
    expect(col.status).toBe(200);
    const row = await post(`${server.url}/v1/models/hello_world_float:predict`, { instances: [{ 'serving_default_dense_input:0': [0.5] }] });
    expect({ status: row.status, json: row.json }).toEqual({ status: 200, json: { predictions: [[0.453987747]] } });
  });

  it('an output requested by its tensor name comes back under that name', async () => {
    const r = await post(`${server.url}/v2/models/hello_world_float/infer`, {
      inputs: [{ name: 'dense_input', shape: [1, 1], datatype: 'FP32', data: [0.5] }],
      outputs: [{ name: 'StatefulPartitionedCall:0' }],
    });
    expect(r.status).toBe(200);
    expect((r.json as { outputs: Array<{ name: string }> }).outputs.map((o) => o.name)).toEqual(['StatefulPartitionedCall:0']);
  });
});
