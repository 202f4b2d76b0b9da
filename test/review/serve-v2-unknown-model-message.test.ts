/**
 * Defect: on the KServe v2 / Triton routes, a request for a model the server does not have answers
 * TF Serving's words ("Servable not found for request: Latest(wrong_model_name)"). Triton's own
 * client examples -- what "an existing Triton client" runs -- check the message and fail against reef:
 *   triton-inference-server/client src/python/examples/simple_http_aio_infer_client.py:
 *     if not (ex.message().startswith("Request for unknown model")):
 *         print("improper error message for wrong model name"); sys.exit(1)
 *   (same check for get_model_metadata("wrong_model_name") in simple_http_health_metadata.py:
 *     if "Request for unknown model" not in ex.message(): print("FAILED : get_model_metadata ...")).
 * tritonclient.http raises InferenceServerException(msg=response JSON "error"), so the message is
 * the body's "error" string.
 * Correct behaviour: the v2 routes answer {"error": "Request for unknown model: 'NAME' is not found"}
 * (Triton core's wording) -- the v1 routes keep TF Serving's "Servable not found for request: ...".
 * Root cause: src/serve/repository.ts resolve() has one message for both protocols; kserve.ts
 * modelMeta / infer pass it through unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, http, post, start } from '../serve/helpers.js';
import { sharedPath } from '../shared.js';

describe('Triton clients asking for an unknown model', () => {
  let server: ReefServer;
  beforeAll(async () => {
    server = await start({ model: sharedPath(MODELS.hello), interpreters: 1 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('infer: the error starts with "Request for unknown model"', async () => {
    const r = await post(`${server.url}/v2/models/wrong_model_name/infer`, {
      inputs: [{ name: 'dense_input', shape: [1, 1], datatype: 'FP32', data: [0.5] }],
    });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect((r.json as { error: string }).error.startsWith('Request for unknown model')).toBe(true);
  });

  it('metadata: the error contains "Request for unknown model"', async () => {
    const r = await http(`${server.url}/v2/models/wrong_model_name`);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect((r.json as { error: string }).error).toContain('Request for unknown model');
  });

  it('v1 keeps TF Serving\'s words', async () => {
    const r = await post(`${server.url}/v1/models/wrong_model_name:predict`, { instances: [[0.5]] });
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: 'Servable not found for request: Latest(wrong_model_name)' });
  });
});
