/**
 * Defect: /metrics creates a new time series for every model name a client types. A request to
 * /v1/models/<anything>:predict (or /v2/models/<anything>/infer, /v2/repository/models/<anything>/load)
 * is counted in reef_serve_requests_total{model="<anything>",...} and observed in
 * reef_serve_request_seconds{model="<anything>"} (12 more series per name for the histogram buckets), even though no such model
 * exists. A hostile (or merely buggy) client sending random names grows the server's memory and every
 * scrape without bound (observed: model="../x" and model="nosuch" series after one request each).
 *
 * Correct behaviour: Prometheus docs, "Instrumentation / Use labels" and "Naming": "CAUTION: Remember
 * that every unique combination of key-value label pairs represents a new time series, which can
 * dramatically increase the amount of data stored. Do not use labels to store dimensions with high
 * cardinality (many different label values), such as user IDs, email addresses, or other unbounded
 * sets of values." The model label must be bounded by the models the server has (requests for
 * unknown names are still counted, e.g. under model="").
 * Root cause: src/serve/server.ts onResponse hook (metrics.requests.inc / requestSeconds.observe with
 * tags.model) and the route handlers that set reefTags.model from the URL before resolving it
 * (tfserving.ts `tags.reefTags.model = name` before plane.repo.resolve; kserve.ts tag(req, req.params.name)).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, http, post, start } from '../serve/helpers.js';
import { sharedPath } from '../shared.js';

describe('metrics label cardinality', () => {
  let server: ReefServer;
  beforeAll(async () => {
    server = await start({ model: sharedPath(MODELS.hello), interpreters: 1 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('40 requests for 40 made-up model names add no series named after them, and are still counted', async () => {
    for (let i = 0; i < 20; i++) {
      const a = await post(`${server.url}/v1/models/made-up-${i}:predict`, { instances: [[0.5]] });
      expect(a.status).toBe(404);
      const b = await post(`${server.url}/v2/models/made-up-v2-${i}/infer`, { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
      expect(b.status).toBe(404);
    }
    const text = (await http(`${server.url}/metrics`)).text;
    expect(text).not.toMatch(/made-up/);
    // Still counted: 40 answers with status 404.
    const total = text.split('\n').filter((l) => l.startsWith('reef_serve_requests_total{') && l.includes('status="404"'))
      .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
    expect(total).toBe(40);
  });
});
