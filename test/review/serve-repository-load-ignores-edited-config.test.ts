/**
 * Defect: POST /v2/repository/models/M/load on a model that is already loaded does not reload it:
 * an edited config.pbtxt (here: its version_policy) is not read again, so the versions served stay
 * what they were at start. A Triton operator edits config.pbtxt and calls load to apply it; reef
 * answers 200 and keeps serving the old configuration.
 *
 * Correct behaviour: Triton docs/protocol/extension_model_repository.md ("Load"): "The load API
 * requests that a model be loaded into Triton, or reloaded if the model is already loaded."
 * (docs/user_guide/model_management.md, EXPLICIT mode: "If the model is already loaded, the load
 * request will cause the model to be reloaded ... the model configuration is re-read"). After the
 * load returns 200 the model serves what its config.pbtxt says now.
 * Root cause: src/serve/repository.ts loadByName(): the ModelSource (and its parsed config.pbtxt) is
 * only built when the name is not in this.models; for a loaded model it just runs sync(true) with the
 * source read at start.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, addVersion, http, post, start, tempDir } from '../serve/helpers.js';

describe('repository load of a loaded model re-reads config.pbtxt', () => {
  let server: ReefServer;
  const tmp = tempDir('review-reload');
  beforeAll(async () => {
    addVersion(tmp.dir, 'hello', 1, MODELS.hello);
    addVersion(tmp.dir, 'hello', 2, MODELS.hello);
    server = await start({ modelRepository: tmp.dir, interpreters: 1 });
  });
  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('serves the versions of the edited version_policy once load answers 200', async () => {
    const before = await http(`${server.url}/v2/models/hello`);
    expect((before.json as { versions: string[] }).versions).toEqual(['2']);
    writeFileSync(join(tmp.dir, 'hello', 'config.pbtxt'), 'name: "hello"\nversion_policy: { specific { versions: [ 1 ] } }\n');
    const r = await post(`${server.url}/v2/repository/models/hello/load`, {});
    expect(r.status).toBe(200);
    const after = await http(`${server.url}/v2/models/hello`);
    expect((after.json as { versions: string[] }).versions).toEqual(['1']);
    expect((await http(`${server.url}/v2/models/hello/versions/2/ready`)).status).toBe(400);
    expect((await http(`${server.url}/v2/models/hello/versions/1/ready`)).status).toBe(200);
  });
});
