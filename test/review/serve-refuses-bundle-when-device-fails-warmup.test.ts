// Review (issue 11, serve surface): `reef serve bundle.reef --edgetpu usb` refuses to start (exit 1,
// "model ... failed to load") when the Edge TPU fails the warm-up run, although the bundle has a
// cpu-int8 variant and the error it dies with says "runs go to the bundle's cpu-int8 variant".
//
// src/serve/model.ts ServedModel.open warms every interpreter up with one run and treats any failure
// as a load failure (disposes the session, rethrows). The session itself had already handled the
// fault (device-lost, fallback to cpu-int8 under way) -- the warm-up throws it away. A USB
// Accelerator that drops its first transfer (firmware load on first open re-enumerates the device; a
// loose cable; USB 2 hub) thus takes the whole server down: "faults never stop the board" (issue 11).
//
// Correct: the model loads; the warm-up's device fault is logged as the session's events; requests
// are answered (200) by the cpu-int8 variant with the CPU twin's exact outputs.
import { describe, it, expect, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from '../../src/runtime/session.js';
import type { ReefServer } from '../../src/serve/server.js';
import { logCollector, post, start, tempDir } from '../serve/helpers.js';
import { TWIN, OUT, bundle, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
const tmp = tempDir('review-warmup');
let server: ReefServer | null = null;
afterAll(async () => {
  await server?.close();
  tmp.cleanup();
  standin.restore();
});

describe('reef serve with an Edge TPU that fails the first runs', () => {
  it('serves the bundle from its cpu-int8 variant instead of refusing to start', async () => {
    process.env.REEF_STANDIN_FAIL_AFTER = '0';  // The device fails its first invoke (the warm-up run)...
    writeFileSync(join(tmp.dir, 'mobilenet.reef'), await bundle());
    const pixels = Array.from({ length: 128 * 128 * 3 }, (_, i) => (i * 37) % 256);
    const twin = await load(TWIN, { xnnpack: false });
    const want = Array.from((await twin.run([Uint8Array.from(pixels)]))[OUT]!.data as Uint8Array);
    await twin.dispose();
    const log = logCollector();
    // Once the device failed, it drops off the bus (so no probe brings it back during the test).
    const stream = { write: (line: string) => { if (line.includes('"event":"device-lost"')) standin.set('devices='); log.stream.write(line); } };
    const started = await start({ model: join(tmp.dir, 'mobilenet.reef'), modelName: 'mobilenet', edgetpu: 'usb', logStream: stream, logLevel: 'info' })
      .then((s) => { server = s; return 'started'; }, (e: { code?: string }) => `refused: ${e.code}`);
    expect(started).toBe('started');
    const r = await post(`${server!.url}/v2/models/mobilenet/infer`, {
      inputs: [{ name: 'input', shape: [1, 128, 128, 3], datatype: 'UINT8', data: pixels }],
    });
    expect(r.status).toBe(200);
    expect((r.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data).toEqual(want);
    expect(log.lines.filter((l) => l.event !== undefined).map((l) => l.event)).toEqual(['device-lost', 'fallback']);
  });
});
