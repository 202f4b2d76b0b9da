/**
 * Defect: with --token, "Authorization: bearer TOKEN" (lower-case scheme, as several HTTP clients and
 * proxies write it) is refused with 401, although the token is right.
 *
 * Correct behaviour: RFC 9110 11.1 (Authentication Scheme): "It uses a case-insensitive token to
 * identify the authentication scheme"; RFC 6750 2.1 defines the "Bearer" scheme under those rules.
 * Root cause: src/serve/server.ts tokenMatches(): `header.startsWith('Bearer ')` (case-sensitive).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, post, start } from '../serve/helpers.js';
import { sharedPath } from '../shared.js';

describe('bearer token scheme', () => {
  let server: ReefServer;
  beforeAll(async () => {
    server = await start({ model: sharedPath(MODELS.hello), interpreters: 1, token: 's3cret' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('accepts the scheme in any case, refuses a wrong token', async () => {
    const body = { instances: [[0.5]] };
    const url = `${server.url}/v1/models/hello_world_float:predict`;
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const r = await post(url, body, { authorization: `${scheme} s3cret` });
      expect({ scheme, status: r.status, json: r.json }).toEqual({ scheme, status: 200, json: { predictions: [[0.453987747]] } });
    }
    const wrong = await post(url, body, { authorization: 'bearer nope' });
    expect(wrong.status).toBe(401);
  });
});
