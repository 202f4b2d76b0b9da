/**
 * Defect: a batch of rows larger than --max-queue is refused with 503 + "Retry-After: 1" on an IDLE
 * server ("the queue is full (0 of 64 waiting, 0 running); retry later"). The condition is permanent:
 * the same request is refused again on every retry, so a TF Serving client that honours Retry-After
 * (or a load balancer that retries 503) loops forever.
 *
 * Correct behaviour:
 * - issue 10 / docs/serve.md: "Rows: a model whose batch dimension is 1 takes N instances as N runs
 *   spread over the pool" -- an idle server with default flags answers a 200-row predict with 200
 *   predictions (TF Serving runs any batch the model's batch dimension allows: api_rest.md, "instances").
 * - RFC 9110 15.6.4: 503 means "the server is currently unable to handle the request due to a
 *   temporary overload"; a request that can never fit is a client error (4xx), never 503/Retry-After.
 * Root cause: src/serve/scheduler.ts admit(): `wait = n - free; if (queued + wait > maxQueue) throw
 * REEF_SERVE_OVERLOADED` counts the rows of ONE request against the queue bound meant for waiting
 * requests, with no distinction between "full now" and "can never fit".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, post, start } from '../serve/helpers.js';
import { sharedPath } from '../shared.js';

describe('rows beyond --max-queue on an idle server', () => {
  let server: ReefServer;
  beforeAll(async () => {
    server = await start({ model: sharedPath(MODELS.hello), interpreters: 1 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers a 200-row TF Serving predict with 200 predictions, not 503 Retry-After', async () => {
    const rows = Array.from({ length: 200 }, () => [0.5]);
    const r = await post(`${server.url}/v1/models/hello_world_float:predict`, { instances: rows });
    expect(r.headers.get('retry-after')).toBeNull();
    expect(r.status).toBe(200);
    const preds = (r.json as { predictions: number[][] }).predictions;
    expect(preds).toHaveLength(200);
    // hello_world_float(0.5) = 0.453987747 (docs/serve.md's own example, from the model).
    for (const p of preds) expect(p).toEqual([0.453987747]);
  });

  it('answers a 200-row KServe infer with shape [200,1], not 503 Retry-After', async () => {
    const r = await post(`${server.url}/v2/models/hello_world_float/infer`, {
      inputs: [{ name: 'dense_input', shape: [200, 1], datatype: 'FP32', data: Array.from({ length: 200 }, () => 0.5) }],
    });
    expect(r.headers.get('retry-after')).toBeNull();
    expect(r.status).toBe(200);
    const out = (r.json as { outputs: Array<{ shape: number[]; data: number[] }> }).outputs[0];
    expect(out.shape).toEqual([200, 1]);
    expect(out.data.every((v) => v === 0.453987747)).toBe(true);
  });
});
