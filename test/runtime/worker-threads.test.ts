import { describe, it, expect } from 'vitest';
import { Worker } from 'node:worker_threads';
import { load } from '../../src/index.js';
import { sharedPath, prng } from '../shared.js';

// The addon keeps its state per environment, so it loads and runs in worker threads too, next to
// the main thread, and a worker that exits with a live session frees it without crashing.
describe('worker_threads', () => {
  it('two workers and the main thread run the same model and get the same output', async () => {
    const model = sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite');
    const r = prng(11);
    const input = new Float32Array(128 * 128 * 3).map(() => r() * 2 - 1);
    const main = await load(model);
    const expected = Buffer.from((await main.run([input]))['MobilenetV1/Predictions/Reshape_1'].data.buffer);
    const src = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { load } = await import(workerData.entry);
        const s = await load(workerData.model);
        const out = await s.run([workerData.input]);
        parentPort.postMessage(Buffer.from(out['MobilenetV1/Predictions/Reshape_1'].data.buffer).toString('hex'));
        // Exit with the session still open: teardown must free it.
      })().catch((e) => parentPort.postMessage('error: ' + e.code + ' ' + e.message));
    `;
    const entry = new URL('../../dist/index.js', import.meta.url).href;
    const runWorker = () => new Promise<string>((resolve, reject) => {
      const w = new Worker(src, { eval: true, workerData: { entry, model, input } });
      let msg = '';
      w.on('message', (m: string) => { msg = m; });
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? resolve(msg) : reject(new Error(`worker exited with ${code}`))));
    });
    const results = await Promise.all([runWorker(), runWorker()]);
    expect(results).toEqual([expected.toString('hex'), expected.toString('hex')]);
    await main.dispose();
  });
});
