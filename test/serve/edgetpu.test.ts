/**
 * `reef serve` keeps answering when the Edge TPU misbehaves: a .reef bundle (edgetpu + cpu-int8) served
 * with --edgetpu usb on the STAND-IN libedgetpu (test/edgetpu/standin/: no Coral device is attached
 * here). The device is unplugged and plugged back while the server runs: the request that hit the lost
 * device gets 503 REEF_EDGETPU_DEVICE_LOST, the next ones are answered by the CPU variant, the log says
 * so, and the Edge TPU answers again once it is back. Golden: the CPU twin's own outputs (load() + run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from '../../src/runtime/session.js';
import { bundledLibraryPath } from '../../src/runtime/library.js';
import { buildBundle } from '../../src/package/writer.js';
import type { ReefServer } from '../../src/serve/server.js';
import { serveOptions } from '../../src/cli/serve.js';
import { sharedBytes, sharedPath } from '../shared.js';
import { buildStandin } from '../edgetpu/standin/build.js';
import { logCollector, post, start, tempDir } from './helpers.js';

const TWIN = 'models/edgetpu/mobilenet_v1_0.25_128_quant.tflite';
const ENV = ['REEF_EDGETPU_LIBRARY', 'REEF_STANDIN_TWIN', 'REEF_STANDIN_TFLITE', 'REEF_STANDIN_STATE'];
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
let tmp: ReturnType<typeof tempDir>;
let server: ReefServer;
let want: number[];
const log = logCollector();
const state = (words: string) => writeFileSync(join(tmp.dir, 'state'), words);
const pixels = Array.from({ length: 128 * 128 * 3 }, (_, i) => (i * 37) % 256);
const infer = () => post(`${server.url}/v2/models/mobilenet/infer`, {
  inputs: [{ name: 'input', shape: [1, 128, 128, 3], datatype: 'UINT8', data: pixels }],
});
const events = () => log.lines.filter((l) => l.event !== undefined).map((l) => l.event);

beforeAll(async () => {
  tmp = tempDir('edgetpu');
  state('devices=usb:1');
  Object.assign(process.env, {
    REEF_EDGETPU_LIBRARY: buildStandin(), REEF_STANDIN_TWIN: sharedPath(TWIN), REEF_STANDIN_TFLITE: bundledLibraryPath()!,
    REEF_STANDIN_STATE: join(tmp.dir, 'state'),
  });
  const { bytes } = await buildBundle({
    name: 'mobilenet', created: '2024-01-01T00:00:00.000Z',
    variants: [
      { name: 'edgetpu', data: sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite'), source: 'tpu' },
      { name: 'cpu-int8', data: sharedBytes(TWIN), source: 'cpu' },
    ],
  });
  writeFileSync(join(tmp.dir, 'mobilenet.reef'), bytes);
  const twin = await load(sharedPath(TWIN), { xnnpack: false });
  want = Array.from((await twin.run([Uint8Array.from(pixels)]))['MobilenetV1/Predictions/Reshape_1']!.data as Uint8Array);
  await twin.dispose();
  const opts = await serveOptions(join(tmp.dir, 'mobilenet.reef'), { edgetpu: 'usb', watchdog: '5000' });
  expect([opts.edgetpu, opts.watchdogMs]).toEqual(['usb', 5000]);
  server = await start({ ...opts, modelName: 'mobilenet', port: 0, logStream: log.stream, logLevel: 'info' });
});
afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('serve on the Edge TPU (stand-in library)', () => {
  it('answers from the Edge TPU, then from the CPU variant while the device is gone, then from the Edge TPU again', async () => {
    const first = await infer();
    expect(first.status).toBe(200);
    expect((first.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data).toEqual(want);

    state('devices=');  // Unplugged.
    const lost = await infer();
    expect(lost.status).toBe(503);
    expect(lost.json).toEqual({ error: 'the Edge TPU (usb /sys/bus/usb/devices/2-1) failed the run: invoke failed: Failed to execute request. ' +
      'USB transfer error 2 [LibUsbDataInCallback]\nNode number 1 (edgetpu-standin) failed to invoke. Check that the device is still attached ' +
      '(`reef doctor`); reef looks for it every 1000 ms and runs go to the bundle\'s cpu-int8 variant until it is back' });
    for (let i = 0; i < 3; i++) {
      const r = await infer();
      expect(r.status).toBe(200);
      expect((r.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data).toEqual(want);
    }
    expect(events()).toEqual(['device-lost', 'fallback']);

    state('devices=usb:1');  // Back.
    for (let i = 0; i < 200 && !events().includes('device-restored'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(events()).toEqual(['device-lost', 'fallback', 'device-restored']);
    const again = await infer();
    expect(again.status).toBe(200);
    expect((again.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data).toEqual(want);
    const fallback = log.lines.find((l) => l.event === 'fallback')!;
    expect(fallback.msg).toBe('model mobilenet version 1: the Edge TPU (usb /sys/bus/usb/devices/2-1) went away; the cpu-int8 variant runs on the CPU until it is back');
  });

  it('EXPECTED FAILURE - --edgetpu and --watchdog are checked', async () => {
    await expect(serveOptions('m.tflite', { watchdog: 'soon' })).rejects.toThrow('--watchdog');
  });
});
