/**
 * --model_config_file with --model_config_file_poll_wait_seconds (TF Serving's flag): the server
 * re-reads the file, loads models that appear, unloads models that go, applies new policies and
 * labels; an edit that does not parse keeps the old config serving and logs one warn line with
 * the file, line and column (TF Serving's "Error parsing text-format" words), until the file is fixed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { MODELS, addVersion, http, logCollector, post, replaceFile, start, tempDir, until, writeFile } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('reload');
  addVersion(tmp.dir, 'a', 1, MODELS.hello);
  addVersion(tmp.dir, 'b', 1, MODELS.hello);
  addVersion(tmp.dir, 'b', 2, MODELS.mul);
});
afterAll(() => tmp?.cleanup());

const A = 'config { name: "a" base_path: "a" }';
const B = 'config { name: "b" base_path: "b" model_version_policy { specific { versions: 1 versions: 2 } } version_labels { key: "stable" value: 1 } }';

it('models added, removed and relabelled while serving; a broken edit keeps the old config and logs file:line:col once', async () => {
  const file = writeFile(join(tmp.dir, 'models.config'), `model_config_list { ${A} }`);
  const log = logCollector();
  const s = await start({ modelConfigFile: file, configPollSeconds: 0.05, logStream: log.stream, logLevel: 'info' });
  const versions = async (m: string) => {
    const r = await http(`${s.url}/v1/models/${m}`);
    return r.status === 200 ? (r.json as { model_version_status: Array<{ version: string }> }).model_version_status.map((v) => v.version).join(',') : String(r.status);
  };
  const configError = async () => ((await http(`${s.url}/status.json`)).json as { config: { file: string; error: string } }).config;
  try {
    expect(await versions('b')).toBe('404');
    // b appears, with two versions and a label.
    replaceFile(file, `model_config_list {\n  ${A}\n  ${B}\n}`);
    await until('b to load', async () => (await versions('b')) === '2,1');
    await until('the reload to finish', async () => log.lines.some((l) => l.msg === 'model config reloaded'));
    expect(await versions('a')).toBe('1');
    expect((await post(`${s.url}/v1/models/b/labels/stable:predict`, { instances: [[0.5]] })).status).toBe(200);
    expect(log.lines.filter((l) => l.msg === 'model config reloaded').map((l) => l.models)).toEqual([['a', 'b']]);

    // a goes: unloaded, 404 with TF Serving's words.
    replaceFile(file, `model_config_list {\n  ${B}\n}`);
    await until('a to unload', async () => (await versions('a')) === '404');
    expect((await http(`${s.url}/v1/models/a`)).json).toEqual({ error: 'Could not find any versions of model a' });

    // A broken edit: b keeps serving, one warn line names file:line:col, the status shows the error.
    replaceFile(file, `model_config_list {\n  ${B}\n  config { name: "c" bse_path: "c" }\n}`);
    const want = `Error parsing text-format tensorflow.serving.ModelServerConfig: ${file}:3:22: unknown field "bse_path" in config`;
    await until('the error', async () => (await configError()).error !== '');
    expect(await configError()).toEqual({ file, error: `REEF_SERVE_CONFIG_INVALID: ${want}` });
    await new Promise((r) => setTimeout(r, 300)); // several more polls of the same broken file
    const warns = log.lines.filter((l) => l.level === 40);
    expect(warns.map((l) => ({ msg: l.msg, code: l.code, file: l.file }))).toEqual([
      { msg: `model config reload failed, the previous config keeps serving: ${want}`, code: 'REEF_SERVE_CONFIG_INVALID', file },
    ]);
    expect(await versions('b')).toBe('2,1');
    expect((await post(`${s.url}/v1/models/b/versions/1:predict`, { instances: [[0.5]] })).status).toBe(200);

    // Fixed: a comes back, b is down to the latest version, the error clears.
    replaceFile(file, `model_config_list {\n  ${A}\n  config { name: "b" base_path: "b" }\n}`);
    await until('a to come back', async () => (await versions('a')) === '1' && (await versions('b')) === '2');
    expect(await configError()).toEqual({ file, error: '' });
    expect((await http(`${s.url}/v1/models/b/labels/stable`)).status).toBe(404);
  } finally {
    await s.close();
  }
});
