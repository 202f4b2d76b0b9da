/**
 * The model repository: TF Serving's text-format model_config_list (testBadModelConfig's message),
 * version policies and labels, and hot reload under load: a new version is loaded and warmed before
 * the old one is unloaded (zero failed requests), a version that fails to load leaves the previous
 * one serving with the error in the status, and a folder still being written is not loaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from '../../src/serve/config.js';
import { sharedPath } from '../shared.js';
import { MODELS, addVersion, http, post, start, tempDir, writeFile } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('repo');
});
afterAll(() => tmp?.cleanup());

describe('model_config_list', () => {
  it('names, base paths (relative to the file), policies and labels', () => {
    const s = parseModelConfig(`
      model_config_list: {
        config: { name: "a", base_path: "/m/a", model_platform: "tensorflow",
          model_version_policy: { latest: { num_versions: 2 } } },
        config { name: 'b' base_path: "rel/b" model_version_policy { all {} } }
        config {
          name: "c" base_path: "/m/c"   # comment
          model_version_policy { specific { versions: 1 versions: 3 } }
          version_labels { key: "stable" value: 1 }
          version_labels { key: "canary" value: 3 }
        }
      }`, '/etc/reef/models.config');
    expect(s).toEqual([
      { name: 'a', basePath: '/m/a', policy: { kind: 'latest', n: 2 }, labels: {} },
      { name: 'b', basePath: '/etc/reef/rel/b', policy: { kind: 'all' }, labels: {} },
      { name: 'c', basePath: '/m/c', policy: { kind: 'specific', versions: [1, 3] }, labels: { stable: 1, canary: 3 } },
    ]);
  });

  it('BAD CALL - testBadModelConfig: "Error parsing text-format tensorflow.serving.ModelServerConfig" with line and column', () => {
    expect(() => parseModelConfig('model_config_list {\n  config { name: "a" base_path: "/x" }\n  config { name: "b" bse_path: "/y" }\n}', 'bad.config'))
      .toThrow('Error parsing text-format tensorflow.serving.ModelServerConfig: bad.config:3:22: unknown field "bse_path" in config');
    expect(() => parseModelConfig('model_config_list { config { name: "a" base_path: "/x" }', 'c'))
      .toThrow('Error parsing text-format tensorflow.serving.ModelServerConfig: c:1:57: expected "}" before the end of the file');
    expect(() => parseModelConfig('model_config_list { config { name: "../etc" base_path: "/x" } }', 'c'))
      .toThrow(expect.objectContaining({ code: 'REEF_SERVE_CONFIG_INVALID' }));
  });
});

describe('version policies', () => {
  it('latest 2, all, specific; labels resolve', async () => {
    for (const v of [1, 2, 3]) for (const m of ['lat', 'all', 'spec']) addVersion(tmp.dir, m, v, MODELS.hello);
    const config = writeFile(join(tmp.dir, 'p.config'), `model_config_list {
      config { name: "lat" base_path: "lat" model_version_policy { latest { num_versions: 2 } } }
      config { name: "all" base_path: "all" model_version_policy { all {} } }
      config { name: "spec" base_path: "spec" model_version_policy { specific { versions: 1 versions: 3 } }
               version_labels { key: "stable" value: 1 } }
    }`);
    const s = await start({ modelConfigFile: config });
    try {
      const versions = async (m: string) => ((await http(`${s.url}/v1/models/${m}`)).json as { model_version_status: Array<{ version: string }> })
        .model_version_status.map((x) => x.version);
      expect(await versions('lat')).toEqual(['3', '2']);
      expect(await versions('all')).toEqual(['3', '2', '1']);
      expect(await versions('spec')).toEqual(['3', '1']);
      const r = await post(`${s.url}/v1/models/spec/labels/stable:predict`, { instances: [[1]] });
      expect(r.status).toBe(200);
      expect((await http(`${s.url}/v2/models/spec/versions/2`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});

it('hot reload under load: zero failed requests; a broken version leaves the old one serving; a folder being written waits', async () => {
  const base = join(tmp.dir, 'hot');
  addVersion(tmp.dir, 'hot', 1, MODELS.hello);
  const s = await start({ model: base, modelName: 'hot', pollSeconds: 0.1 });
  const body = { inputs: [{ name: 'dense_input', shape: [1, 1], datatype: 'FP32', data: [0.5] }] };
  const versionsSeen = new Set<string>();
  const failures: string[] = [];
  let stop = false;
  let sent = 0;
  const client = async () => {
    while (!stop && sent < 3000) {
      sent++;
      const r = await post(`${s.url}/v2/models/hot/infer`, body);
      if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
      else versionsSeen.add((r.json as { model_version: string }).model_version);
    }
  };
  const status = async () => ((await http(`${s.url}/v1/models/hot`)).json as { model_version_status: Array<{ version: string; state: string; status: { error_message: string } }> }).model_version_status;
  const until = async (what: () => Promise<boolean>) => {
    for (let i = 0; i < 400; i++) {
      if (await what()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('timed out waiting');
  };
  const clients = Array.from({ length: 4 }, client);
  try {
    await new Promise((r) => setTimeout(r, 100));
    // v2 appears (a symlink: complete at once) -> loaded, warmed, swapped; v1 drained and unloaded.
    addVersion(tmp.dir, 'hot', 2, MODELS.hello);
    await until(async () => (await status()).map((v) => v.version).join() === '2');
    // v3 is not a model: it fails, v2 keeps serving, the status carries the error.
    mkdirSync(join(base, '3'));
    writeFileSync(join(base, '3', 'model.tflite'), 'not a model');
    await until(async () => (await status()).some((v) => v.version === '3' && v.state === 'END'));
    const st = await status();
    expect(st.map((v) => [v.version, v.state])).toEqual([['3', 'END'], ['2', 'AVAILABLE']]);
    expect(st[0].status.error_message).toMatch(/^REEF_MODEL_INVALID: /);
    // v4 written in pieces slower than the poll: not tried until it stops changing.
    const bytes = readFileSync(sharedPath(MODELS.hello));
    mkdirSync(join(base, '4'));
    const file = join(base, '4', 'model.tflite');
    const step = Math.ceil(bytes.length / 6);
    for (let o = 0; o < bytes.length; o += step) {
      appendFileSync(file, bytes.subarray(o, o + step));
      await new Promise((r) => setTimeout(r, 60));
      expect((await status()).some((v) => v.version === '4')).toBe(false);
    }
    await until(async () => (await status())[0]?.version === '4' && (await status())[0].state === 'AVAILABLE');
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    stop = true;
    await Promise.all(clients);
    await s.close();
  }
  expect(failures).toEqual([]);
  expect([...versionsSeen].sort()).toEqual(['1', '2', '4']);
  void symlinkSync;
});
