/**
 * Defect: a --model_config_file edit that adds two models, the first with a base_path that does not
 * exist (yet), never loads the second one, and the failure is invisible: /status.json shows
 * config.error "" and the new text counts as applied, so later polls never retry.
 *
 * Correct behaviour: docs/serve.md, --model_config_file_poll_wait_seconds: "models added are loaded
 * ... one that does not parse keeps the old config serving, logs one warn line ... and shows in
 * /status.json (config.error)"; issue 10: "a version that fails to load leaves the previous one
 * serving and shows the error in the status" -- one model's missing folder must not keep the other
 * models of the same config from loading, and what failed must show. (TF Serving logs the missing
 * base path of that servable and keeps loading the others: FileSystemStoragePathSource polls each
 * servable separately.)
 * Root cause: src/serve/server.ts reload() sets config.applied / clears config.error BEFORE
 * `await repo.reconfigure(next)`; src/serve/repository.ts reconfigure() -> #syncAll(true) ->
 * #syncModel(initial=true) rethrows versionDirs()'s REEF_MODEL_NOT_FOUND and stops the loop, so the
 * models after it are never synced (with --file_system_poll_wait_seconds 0, never).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MODELS, addVersion, http, replaceFile, start, tempDir, until, writeFile } from '../serve/helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('review-cfg');
  addVersion(tmp.dir, 'a', 1, MODELS.hello);
  addVersion(tmp.dir, 'c', 1, MODELS.hello);
});
afterAll(() => tmp?.cleanup());

it('a model with a missing base_path does not keep the next model of the edit from loading, and shows', async () => {
  const file = writeFile(join(tmp.dir, 'models.config'), 'model_config_list { config { name: "a" base_path: "a" } }');
  const s = await start({ modelConfigFile: file, configPollSeconds: 0.05 });
  try {
    replaceFile(file, 'model_config_list {\n  config { name: "a" base_path: "a" }\n  config { name: "b" base_path: "not-there-yet" }\n  config { name: "c" base_path: "c" }\n}');
    const status = async (m: string) => (await http(`${s.url}/v1/models/${m}`)).status;
    // c loads (bounded wait); before the fix it never does.
    await until('model c to load', async () => (await status('c')) === 200, 8000).catch(() => undefined);
    expect(await status('c')).toBe(200);
    expect(await status('a')).toBe(200);
    const st = (await http(`${s.url}/status.json`)).json as { config: { error: string }; models: Array<{ name: string }> };
    const bShown = st.config.error.includes('not-there-yet') || st.models.some((m) => m.name === 'b');
    expect(bShown).toBe(true);
  } finally {
    await s.close();
  }
});
