/**
 * bench:quantize — time to calibrate and quantize mobilenet_v1_0.25_128_float on 200 ImageNet
 * photos (decode excluded, reported apart), and the int8 result's inference speed against the
 * float model, side by side in one run (XNNPACK on; int8 also with the built-in kernels, to show
 * the QS8 path is taken). Figures are reported, never asserted (see ../shared/docs/TARGETS.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, pixelsToInput } from '../src/image/preprocess.js';
import { quantizeTflite } from '../src/quantize/pipeline.js';
import { load } from '../src/runtime/session.js';
import type { TensorInfo } from '../src/types.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const MODEL = join(SHARED, 'models/tflite/mobilenet_v1_0.25_128_float.tflite');
const IMAGES = join(SHARED, 'images/imagenet');

const median = (a: Float64Array): number => { const s = Array.from(a).sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };

async function invokeMs(bytes: Uint8Array | string, xnnpack: boolean): Promise<number> {
  const s = await load(bytes, { xnnpack, threads: 1 });
  try {
    await s.invokeLoop(20);
    return median(await s.invokeLoop(200));
  } finally {
    await s.dispose();
  }
}

const files = readFileSync(join(IMAGES, 'labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[0]!.replace(/"/g, '')).slice(0, 200);
const info: TensorInfo = { name: 'input', dtype: 'float32', shape: [1, 128, 128, 3], quantization: { scale: 0, zeroPoint: 0 }, byteLength: 128 * 128 * 3 * 4 };
const t0 = performance.now();
const samples = [];
for (const f of files) samples.push([pixelsToInput(await decodeImage(join(IMAGES, f), info), info, { mean: 127.5, std: 127.5 })]);
const decodeMs = performance.now() - t0;
const r = await quantizeTflite(new Uint8Array(readFileSync(MODEL)), { calibration: samples }, { source: 'mobilenet_v1_0.25_128_float' });
const t = r.report.timings;
const floatX = await invokeMs(MODEL, true);
const int8X = await invokeMs(r.bytes, true);
const int8B = await invokeMs(r.bytes, false);
const floatB = await invokeMs(MODEL, false);
const rows: Array<[string, string]> = [
  ['images decoded + pre-processed (200)', `${(decodeMs / 1000).toFixed(2)} s`],
  ['calibrate (200 samples, all activations)', `${(t.calibrateMs / 1000).toFixed(2)} s`],
  ['rewrite to int8', `${(t.quantizeMs / 1000).toFixed(2)} s`],
  ['bias correction', `${(t.correctMs / 1000).toFixed(2)} s`],
  ['quantize total (calibrate + rewrite + correct)', `${(t.totalMs / 1000).toFixed(2)} s`],
  ['float, XNNPACK: median invoke', `${floatX.toFixed(3)} ms`],
  ['int8, XNNPACK QS8: median invoke', `${int8X.toFixed(3)} ms`],
  ['int8, built-in kernels: median invoke', `${int8B.toFixed(3)} ms`],
  ['float, built-in kernels: median invoke', `${floatB.toFixed(3)} ms`],
  ['int8 XNNPACK vs float XNNPACK', `${(floatX / int8X).toFixed(2)}x`],
  ['int8 XNNPACK vs int8 built-in (QS8 path taken)', `${(int8B / int8X).toFixed(2)}x`],
];
const w = Math.max(...rows.map((r) => r[0].length));
console.log('bench:quantize — mobilenet_v1_0.25_128_float, 1 thread');
for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
if (process.argv.includes('--json')) console.log(JSON.stringify({ decodeMs, timings: t, floatX, int8X, int8B, floatB }));
