/**
 * Defect: POST /v2/repository/index lists only the models reef currently holds. After
 * POST /v2/repository/models/M/unload, model M (still in the --model-repository folder) vanishes
 * from the index, so a Triton client cannot discover what it could load again; and the index
 * request's "ready" field is ignored.
 *
 * Correct behaviour, Triton docs/protocol/extension_model_repository.md ("Index"):
 *   "The index API returns information about every model available in a model repository, even if
 *    it is not currently loaded into Triton. The index API provides a way to determine which models
 *    can potentially be loaded by the Load API."
 *   "ready": "Optional, default is false. If true return only models ready for inferencing."
 * Triton lists an unloaded model with state "UNAVAILABLE" (reason "unloaded").
 * Root cause: src/serve/kserve.ts POST /v2/repository/index iterates repo.models only (and never reads
 * the body); Repository.#unload (src/serve/repository.ts) deletes the entry from repo.models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, addVersion, post, start, tempDir } from '../serve/helpers.js';

describe('repository index after unload', () => {
  let server: ReefServer;
  const tmp = tempDir('review-index');
  beforeAll(async () => {
    addVersion(tmp.dir, 'hello', 1, MODELS.hello);
    addVersion(tmp.dir, 'mul', 1, MODELS.mul);
    server = await start({ modelRepository: tmp.dir, interpreters: 1 });
  });
  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('still lists an unloaded model (UNAVAILABLE), and "ready": true leaves it out', async () => {
    const before = await post(`${server.url}/v2/repository/index`, {});
    expect(before.status).toBe(200);
    expect(before.json).toEqual([
      { name: 'hello', version: '1', state: 'READY' },
      { name: 'mul', version: '1', state: 'READY' },
    ]);
    const un = await post(`${server.url}/v2/repository/models/hello/unload`, {});
    expect(un.status).toBe(200);

    const all = await post(`${server.url}/v2/repository/index`, {});
    expect(all.status).toBe(200);
    const names = (all.json as Array<{ name: string; state: string }>).map((e) => e.name).sort();
    expect(names).toEqual(['hello', 'mul']);
    const hello = (all.json as Array<{ name: string; state: string }>).find((e) => e.name === 'hello');
    expect(hello?.state).toBe('UNAVAILABLE');

    const ready = await post(`${server.url}/v2/repository/index`, { ready: true });
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual([{ name: 'mul', version: '1', state: 'READY' }]);
  });
});
