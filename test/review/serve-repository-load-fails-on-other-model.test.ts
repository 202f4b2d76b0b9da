/**
 * Defect: POST /v2/repository/models/hello/load fails with an error about ANOTHER model when that
 * model's folder is gone from the repository: {"error":"cannot read model base path .../mul: no
 * such folder"} (404). Observed on a live server: after `mv repo/mul elsewhere`, loading hello and
 * loading resnet both failed with mul's error (mul itself kept serving). The sync stops at the first
 * such model, so models after it are not synced either; a --model_config_file reload
 * (Repository.reconfigure) goes through the same path.
 *
 * Correct behaviour: Triton docs/protocol/extension_model_repository.md ("Load"): "The load API
 * requests that a model be loaded into Triton, or reloaded if the model is already loaded" -- the
 * request is about that model; a successful load is a 200. Another model's state is not this
 * request's error (and reef's own rule, docs/serve.md / issue 10: "The other models keep serving").
 * Root cause: src/serve/repository.ts loadByName() calls this.sync(true), which runs #syncAll(true) over
 * EVERY model; #syncModel(entry, initial=true) rethrows versionDirs()'s REEF_MODEL_NOT_FOUND for any
 * model whose base path vanished (`if (initial) throw e`). It also skips the half-written-folder
 * stability check for every model, not just the one being loaded.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReefServer } from '../../src/serve/server.js';
import { MODELS, addVersion, http, post, start, tempDir } from '../serve/helpers.js';

describe('repository load while another model folder is gone', () => {
  let server: ReefServer;
  const tmp = tempDir('review-load-other');
  beforeAll(async () => {
    addVersion(tmp.dir, 'hello', 1, MODELS.hello);
    addVersion(tmp.dir, 'mul', 1, MODELS.mul);
    server = await start({ modelRepository: tmp.dir, interpreters: 1 });
  });
  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('unload + load of hello answers 200 and serves hello again', async () => {
    renameSync(join(tmp.dir, 'mul'), join(tmp.dir, '.mul-moved-away'));
    expect((await post(`${server.url}/v2/repository/models/hello/unload`, {})).status).toBe(200);
    const r = await post(`${server.url}/v2/repository/models/hello/load`, {});
    expect({ status: r.status, text: r.text }).toEqual({ status: 200, text: '' });
    expect((await http(`${server.url}/v2/models/hello/ready`)).status).toBe(200);
  });
});
