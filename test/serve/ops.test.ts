/**
 * What an operator relies on: the bearer token (--token / REEF_SERVE_TOKEN) on every route but
 * health, the debug log (one structured line per request; refusals are debug, load failures warn),
 * and the device temperature metric. The temperature file is a stand-in for a board's
 * /sys/class/thermal zone (this machine has none): a file under the test's temp folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from '../shared.js';
import { load } from '../../src/runtime/session.js';
import { MODELS, addVersion, direct, http, logCollector, nest, post, seeded, start, tempDir, until, writeFile } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('ops');
});
afterAll(() => tmp?.cleanup());

const NAME = 'hello_world_float';
const REFUSED = { error: 'this server requires "Authorization: Bearer TOKEN" on every route but health' };

describe('--token', () => {
  it('401 with the exact body and WWW-Authenticate without a token, with a wrong one, or another scheme; health stays open', async () => {
    const s = await start({ model: sharedPath(MODELS.hello), token: 's3cret-token' });
    try {
      const predict = (headers: Record<string, string>) => post(`${s.url}/v1/models/${NAME}:predict`, { instances: [[0.5]] }, headers);
      const tries: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token!' }, { authorization: 'Bearer s3cret' }, { authorization: 's3cret-token' }, { authorization: 'Basic czNjcmV0LXRva2Vu' }];
      for (const headers of tries) {
        const r = await predict(headers);
        expect({ status: r.status, body: r.json, auth: r.headers.get('www-authenticate') }).toEqual({ status: 401, body: REFUSED, auth: 'Bearer' });
      }
      for (const path of ['/v1/models/hello_world_float', '/v2/models/hello_world_float', '/v2', '/metrics', '/monitoring/prometheus/metrics', '/', '/status.json']) {
        expect({ path, status: (await http(`${s.url}${path}`)).status }).toEqual({ path, status: 401 });
      }
      expect((await post(`${s.url}/v2/repository/index`, '')).status).toBe(401);
      expect((await http(`${s.url}/v2/health/live`)).status).toBe(200);
      expect((await http(`${s.url}/v2/health/ready`)).status).toBe(200);
      const auth = { authorization: 'Bearer s3cret-token' };
      const ok = await predict(auth);
      expect(ok.status).toBe(200);
      // The refused requests never reached the model: one invoke (the authorised one) after warm-up.
      const m = (await http(`${s.url}/metrics`, { headers: auth })).text;
      expect(m).toContain(`reef_serve_invoke_seconds_count{model="${NAME}",version="1"} 1\n`);
      expect(m).toContain(`reef_serve_requests_total{model="${NAME}",version="1",protocol="v1",status="200"} 1\n`);
    } finally {
      await s.close();
    }
  });
});

describe('logs', () => {
  it('--log-level debug: one line per request with model, version, protocol, status and time; refusals at debug', async () => {
    const log = logCollector();
    const s = await start({ model: sharedPath(MODELS.hello), logLevel: 'debug', logStream: log.stream });
    try {
      await post(`${s.url}/v1/models/${NAME}:predict`, { instances: [[0.5]] });
      await post(`${s.url}/v2/models/${NAME}/infer`, { inputs: [{ name: 'dense_input', shape: [1, 1], datatype: 'FP32', data: [1] }] });
      await post(`${s.url}/v1/models/${NAME}:predict`, { instances: [[1, 2]] });
      await http(`${s.url}/v2/models/nope`);
      await until('4 request lines', async () => log.lines.filter((l) => l.msg === 'request').length >= 4);
      const req = log.lines.filter((l) => l.msg === 'request');
      expect(req.map((l) => ({ level: l.level, model: l.model, version: l.version, protocol: l.protocol, status: l.status }))).toEqual([
        { level: 20, model: NAME, version: '1', protocol: 'v1', status: 200 },
        { level: 20, model: NAME, version: '1', protocol: 'v2', status: 200 },
        { level: 20, model: NAME, version: '1', protocol: 'v1', status: 400 },
        { level: 20, model: '', version: '', protocol: 'v2', status: 404 },
      ]);
      for (const l of req) expect(typeof l.ms === 'number' && (l.ms as number) > 0).toBe(true);
      const refusals = log.lines.filter((l) => l.code === 'REEF_SERVE_BAD_REQUEST' || l.code === 'REEF_SERVE_NOT_FOUND');
      expect(refusals.map((l) => [l.level, l.status])).toEqual([[20, 400], [20, 404]]);
      expect(log.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('default level (warn): no request lines; a version that fails to load is one warn line with its code', async () => {
    const log = logCollector();
    addVersion(tmp.dir, 'w', 1, MODELS.hello);
    const s = await start({ model: join(tmp.dir, 'w'), modelName: 'w', logStream: log.stream, pollSeconds: 0.05 });
    try {
      expect((await post(`${s.url}/v1/models/w:predict`, { instances: [[0.5]] })).status).toBe(200);
      mkdirSync(join(tmp.dir, 'w', '2'));
      writeFileSync(join(tmp.dir, 'w', '2', 'model.tflite'), 'not a model');
      await until('the warn line', async () => log.lines.length > 0);
      await new Promise((r) => setTimeout(r, 200));
      expect(log.lines.map((l) => ({ level: l.level, model: l.model, version: l.version, code: l.code }))).toEqual([
        { level: 40, model: 'w', version: 2, code: 'REEF_MODEL_INVALID' },
      ]);
      expect(log.lines[0].msg).toMatch(/^model w version 2 failed to load: .*w\/2\/model\.tflite: /);
      expect((await post(`${s.url}/v1/models/w:predict`, { instances: [[0.5]] })).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('device temperature', () => {
  it('reef_serve_device_temperature_celsius follows the thermal zone file; absent without one', async () => {
    const zone = writeFile(join(tmp.dir, 'thermal_zone0_temp'), '48250\n');
    const s = await start({ model: sharedPath(MODELS.hello), thermalZone: zone });
    const none = await start({ model: sharedPath(MODELS.hello), thermalZone: join(tmp.dir, 'no-such-zone') });
    try {
      const sample = async (url: string) => (await http(`${url}/metrics`)).text.split('\n').filter((l) => l.startsWith('reef_serve_device_temperature_celsius'));
      expect(await sample(s.url)).toEqual([`reef_serve_device_temperature_celsius{zone="${zone}"} 48.25`]);
      writeFileSync(zone, '51000\n');
      expect(await sample(s.url)).toEqual([`reef_serve_device_temperature_celsius{zone="${zone}"} 51`]);
      expect(await sample(none.url)).toEqual([]);
      expect((await http(`${none.url}/metrics`)).text).toContain('# TYPE reef_serve_device_temperature_celsius gauge');
    } finally {
      await s.close();
      await none.close();
    }
  });
});

describe('prediction statistics (drift on a dashboard)', () => {
  it('every predict/infer of a classifier counts its top-1; of a TFLite_Detection_PostProcess detector, every detection', async () => {
    const SSD = 'models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite';
    addVersion(tmp.dir, 'det', 1, SSD);
    addVersion(tmp.dir, 'cls', 1, MODELS.resnet);
    addVersion(tmp.dir, 'sine', 1, MODELS.hello);
    const s = await start({ modelRepository: tmp.dir });
    try {
      // Goldens from the runtime: what the server must have counted.
      const imgs = [7, 8].map((k) => Uint8Array.from(seeded(300 * 300 * 3, k), (v) => Math.floor((v + 1) * 127.9)));
      const det = await load(sharedPath(SSD));
      const want = new Map<string, number>();
      const scores: number[] = [];
      for (const img of imgs) {
        const o = await det.run([img]);
        const [, classes, sc, count] = det.outputs.map((t) => Array.from(o[t.name].data as Float32Array));
        for (let i = 0; i < Math.round(count[0]); i++) {
          want.set(String(Math.round(classes[i])), (want.get(String(Math.round(classes[i]))) ?? 0) + 1);
          scores.push(sc[i]);
        }
      }
      await det.dispose();
      expect(scores.length).toBeGreaterThan(0);
      for (const img of imgs) {
        const r = await post(`${s.url}/v2/models/det/infer`, {
          inputs: [{ name: 'normalized_input_image_tensor', shape: [1, 300, 300, 3], datatype: 'UINT8', data: Array.from(img) }],
          outputs: [{ name: 'TFLite_Detection_PostProcess:3' }],
        });
        expect(r.status).toBe(200);
      }
      const rimg = seeded(32 * 32 * 3, 4).map((v) => Math.round((v + 1) * 127));
      const [rs] = await direct(MODELS.resnet, [Float32Array.from(rimg)]);
      const top = String(rs.indexOf(Math.max(...rs)));
      expect((await post(`${s.url}/v1/models/cls:predict`, { instances: [0, 1, 2].map(() => nest(rimg, [32, 32, 3])) })).status).toBe(200);
      expect((await post(`${s.url}/v1/models/sine:predict`, { instances: [[0.5]] })).status).toBe(200);

      const text = (await http(`${s.url}/metrics`)).text;
      const count = (model: string) => new Map(text.split('\n')
        .filter((l) => l.startsWith(`reef_serve_predictions_total{model="${model}",`))
        .map((l) => [/class="([^"]*)"/.exec(l)![1], Number(l.split(' ').pop())]));
      expect(count('det')).toEqual(want);
      expect(count('cls')).toEqual(new Map([[top, 3]]));
      expect(count('sine')).toEqual(new Map()); // a regressor: no classes
      const line = (name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name}{model="det",version="1"}`))?.split(' ').pop());
      expect(line('reef_serve_prediction_confidence_count')).toBe(scores.length);
      expect(line('reef_serve_prediction_confidence_sum')).toBeCloseTo(scores.reduce((a, b) => a + b, 0), 5);
    } finally {
      await s.close();
    }
  });
});
