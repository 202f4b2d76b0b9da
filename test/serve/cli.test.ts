/**
 * `reef serve` from the command line: TF Serving's flags, the default interface, model formats
 * (.tflite, .reef, numeric version folders), every wrong thing to serve (a coded error, exit 1), and SIGTERM draining
 * every request in flight before exit 0 (a real child process, stopped by PID).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { cli } from '../cli.js';
import { availableParallelism } from 'node:os';
import { serveOptions } from '../../src/cli/serve.js';
import { getProfile } from '../../src/devices.js';
import { defaultInterpreters } from '../../src/serve/server.js';
import { load } from '../../src/runtime/session.js';
import { REPO_ROOT, sharedPath } from '../shared.js';
import { MODELS, addVersion, f32, http, post, seeded, start, tempDir, writeFile } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('cli');
});
afterAll(() => tmp?.cleanup());

describe('options', () => {
  it('TF Serving defaults: port 8501, 127.0.0.1 unless --host says otherwise', async () => {
    const o = await serveOptions('m.tflite', {}, {});
    expect(o).toMatchObject({ model: 'm.tflite', host: '127.0.0.1', port: 8501, overloadStatus: 503 });
    const b = await serveOptions(undefined, { model_base_path: '/models/x', model_name: 'x', rest_api_port: '9000', host: '0.0.0.0', overloadStatus: '429' }, { REEF_SERVE_TOKEN: 't' });
    expect(b).toMatchObject({ model: '/models/x', modelName: 'x', port: 9000, host: '0.0.0.0', overloadStatus: 429, token: 't' });
  });

  it('BAD CALL - two model sources, a bad port, a bad overload status', async () => {
    await expect(serveOptions('a.tflite', { model_base_path: '/x' }, {})).rejects.toThrow(
      'Expected exactly one of MODEL, --model_base_path, --model_config_file or --model-repository but received 2');
    await expect(serveOptions('a.tflite', { rest_api_port: '99999' }, {})).rejects.toThrow(
      'Expected a port from 0 to 65535 for --rest_api_port but received "99999"');
    await expect(serveOptions('a.tflite', { overloadStatus: '500' }, {})).rejects.toThrow(
      'Expected 503 or 429 for --overload-status but received "500"');
  });

});

describe('interpreters per model version from the device profile', () => {
  it('one per Edge TPU; else the profile\'s cores / threads; this host\'s cores where the profile says none', async () => {
    expect(defaultInterpreters(getProfile('raspberry-pi-4'))).toBe(1); // 4 cores, 4 threads
    expect(defaultInterpreters(getProfile('raspberry-pi-4'), 1)).toBe(4); // --threads 1
    expect(defaultInterpreters(getProfile('coral-usb-rpi4'), 1)).toBe(1); // one Edge TPU
    expect(defaultInterpreters(getProfile('generic-x86_64-linux'))).toBe(availableParallelism());
    const s = await start({ model: sharedPath(MODELS.hello), device: 'raspberry-pi-4', threads: 2 });
    try {
      expect(s.repo.served().map((m) => [m.session.poolSize, m.session.threads])).toEqual([[2, 2]]);
    } finally {
      await s.close();
    }
  });
});

describe('the wrong thing to serve: a coded error, exit 1, one JSON line, no stack', () => {
  async function refused(args: string[]): Promise<{ code: string; message: string }> {
    const r = await cli('serve', ...args, '--rest_api_port', '0', '--json');
    expect({ exit: r.code, err: r.err, lines: r.out.trim().split('\n').length }).toEqual({ exit: 1, err: '', lines: 1 });
    const e = (JSON.parse(r.out) as { error: { code: string; message: string; fix: string } }).error;
    expect(e.fix.length).toBeGreaterThan(10);
    expect(e.message).not.toMatch(/\n\s+at /);
    return { code: e.code, message: e.message };
  }

  it('EXPECTED FAILURE - a missing model file, base path or repository: REEF_MODEL_NOT_FOUND', async () => {
    const nope = join(tmp.dir, 'nope');
    expect(await refused([`${nope}.tflite`])).toEqual({ code: 'REEF_MODEL_NOT_FOUND', message: `cannot read model ${nope}.tflite: no such file or folder` });
    expect(await refused(['--model_base_path', nope])).toEqual({ code: 'REEF_MODEL_NOT_FOUND', message: `cannot read model ${nope}: no such file or folder` });
    expect(await refused(['--model-repository', nope])).toEqual({ code: 'REEF_MODEL_NOT_FOUND', message: `cannot read model repository ${nope}: no such folder` });
  });

  it('EXPECTED FAILURE - an empty folder as base path or repository, a version folder without a model: REEF_SERVE_MODEL_FORMAT', async () => {
    const empty = join(tmp.dir, 'empty');
    mkdirSync(empty);
    expect(await refused([empty])).toEqual({
      code: 'REEF_SERVE_MODEL_FORMAT',
      message: `model base path ${empty} has no numeric version folders; put the model in one, e.g. ${join(empty, '1', 'model.tflite')}`,
    });
    expect(await refused(['--model-repository', empty])).toEqual({
      code: 'REEF_SERVE_MODEL_FORMAT',
      message: `model repository ${empty} holds no model folders; lay it out as ${join(empty, '<model>', '1', 'model.tflite')}`,
    });
    mkdirSync(join(tmp.dir, 'nomodel', '1'), { recursive: true });
    writeFileSync(join(tmp.dir, 'nomodel', '1', 'README'), 'no model here');
    expect(await refused([join(tmp.dir, 'nomodel')])).toEqual({
      code: 'REEF_SERVE_MODEL_FORMAT',
      message: `version folder ${join(tmp.dir, 'nomodel', '1')} has no model file (model.tflite, model.reef, model.onnx or one *.tflite / *.reef / *.onnx)`,
    });
  });

  it('EXPECTED FAILURE - a corrupt .tflite or .onnx file: REEF_MODEL_INVALID naming the file', async () => {
    const bad = writeFile(join(tmp.dir, 'bad.tflite'), '1234TFL4 not a model at all');
    expect(await refused([bad])).toEqual({ code: 'REEF_MODEL_INVALID', message: `${bad}: not a TFLite model (file identifier at byte 4 is "TFL4", expected "TFL3")` });
    const badOnnx = join(tmp.dir, 'bad.onnx');
    writeFileSync(badOnnx, Buffer.from([0x08, 0x07, 0x12, 0xff, 0xff]));
    const e = await refused([badOnnx]);
    expect(e.code).toBe('REEF_MODEL_INVALID');
    expect(e.message.startsWith(`${badOnnx}: `)).toBe(true);
  });

  it('EXPECTED FAILURE - a port another process holds: REEF_SERVE_LISTEN_FAILED', async () => {
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const r = await cli('serve', sharedPath(MODELS.hello), '--rest_api_port', String(port), '--json');
      expect({ exit: r.code, err: r.err }).toEqual({ exit: 1, err: '' });
      expect(JSON.parse(r.out).error).toMatchObject({
        code: 'REEF_SERVE_LISTEN_FAILED',
        message: `cannot listen on 127.0.0.1:${port}: another process holds the port (EADDRINUSE); choose another with --rest_api_port (0 picks a free one) or stop that process`,
      });
    } finally {
      holder.close();
    }
  });
});

describe('model formats', () => {
  it('--model_base_path: the highest numeric version folder serves; TF Serving\'s model.tflite name', async () => {
    addVersion(tmp.dir, 'base', 1, MODELS.mul);
    addVersion(tmp.dir, 'base', 20, MODELS.hello);
    addVersion(tmp.dir, 'base', 3, MODELS.mul);
    const s = await start({ model: join(tmp.dir, 'base') });
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const r = await http(`${s.url}/v1/models/default`);
      expect(r.json).toEqual({ model_version_status: [{ version: '20', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
    } finally {
      await s.close();
    }
  });

  it('a .reef bundle serves the variant chosen for this host, with the bundle\'s labels for classify', async () => {
    const bundle = join(tmp.dir, 'resnet.reef');
    const labels = join(tmp.dir, 'labels.txt');
    (await import('node:fs')).writeFileSync(labels, Array.from({ length: 10 }, (_, i) => `class${i}`).join('\n'));
    const p = await cli('package', '-o', bundle, '--cpu-float', sharedPath(MODELS.resnet), '--labels', labels, '--json');
    expect(p.code).toBe(0);
    const s = await start({ model: bundle });
    try {
      const img = seeded(32 * 32 * 3, 9).map((v) => Math.round((v + 1) * 127));
      const session = await load(sharedPath(MODELS.resnet));
      const scores = Array.from((await session.run([new Float32Array(img)]))[session.outputs[0].name].data as Float32Array);
      await session.dispose();
      const r = await post(`${s.url}/v1/models/resnet:classify`, { examples: [{ input_1: img }] });
      expect(f32(r.json)).toEqual({ results: [scores.map((sc, i) => [`class${i}`, sc])] });
      const meta = await http(`${s.url}/v2/models/resnet`);
      expect(meta.json).toMatchObject({ name: 'resnet', platform: 'reef_bundle', versions: ['1'] });
    } finally {
      await s.close();
    }
  });
});

it('SIGTERM: stops accepting, answers every request in flight, exits 0', async () => {
  const model = sharedPath(MODELS.mobilenet);
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/reef.js'), 'serve', model, '--rest_api_port', '0', '--json', '--no-xnnpack'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n')) {
          clearTimeout(t);
          resolve((JSON.parse(line) as { url: string }).url);
        }
      });
    });
    const input = seeded(128 * 128 * 3, 3);
    const session = await load(model, { xnnpack: false });
    const want = Array.from((await session.run([new Float32Array(input)]))[session.outputs[0].name].data as Float32Array);
    await session.dispose();
    const body = JSON.stringify({ inputs: [[...Array(128)].map((_, y) => [...Array(128)].map((__, x) => input.slice((y * 128 + x) * 3, (y * 128 + x) * 3 + 3)))] });
    const N = 6;
    const answers = Array.from({ length: N }, () => post(`${url}/v1/models/mobilenet_v1_0.25_128_float:predict`, body));
    // Wait until the server has received all of them, then stop it while they are in flight.
    let seen = { received: 0, inProgress: 0 };
    for (let i = 0; i < 2000 && seen.received < N; i++) {
      seen = ((await http(`${url}/status.json`)).json as { requests: typeof seen }).requests;
    }
    expect(seen.received).toBe(N);
    child.kill('SIGTERM');
    const got = await Promise.all(answers);
    for (const a of got) {
      expect(a.status).toBe(200);
      expect(f32(a.json)).toEqual({ outputs: [want] });
    }
    expect(await exited).toBe(0);
    expect(out.trim().split('\n').pop()).toBe('{"stopped":true,"signal":"SIGTERM"}');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
