/**
 * bench:quantize — the quantizer's acceptance figures, measured side by side in one run
 * (../shared/docs/TARGETS.md; reported, never asserted):
 *
 * 1. Speed on mobilenet_v1_0.25_128_float, blazeface_front_float and ultraface_slim_320 (the
 *    largest shared float model by compute: 240x320 input) with 200 calibration photos, 50 held:
 *    each phase, and the whole command as a multiple of one calibration pass (target <= 3x), in
 *    wall time and in CPU time (process.cpuUsage: every thread of the process, runner threads
 *    included; on a machine shared with other jobs wall time mostly measures waiting for a core).
 * 2. `--method auto` against every single method on each shared float model: the worst output's
 *    SQNR against float on held samples (and top-1 agreement / accuracy for MobileNet).
 * 3. Output SQNR against TensorFlow's own int8 twins (vww_96, resnet8_cifar10, hello_world).
 * 4. int8 inference speed against float (XNNPACK QS8 path taken).
 * `--quick` uses 60 calibration / 20 held samples; `--speed` runs part 1 only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, pixelsToInput } from '../src/image/preprocess.js';
import { quantizeTflite, type QuantizeResult } from '../src/quantize/pipeline.js';
import type { Sample } from '../src/quantize/calibrate.js';
import type { RangeMethod } from '../src/quantize/ranges.js';
import { feedFor } from '../src/quantize/evaluate.js';
import { dequantize } from '../src/quant.js';
import { load } from '../src/runtime/session.js';
import type { TensorInfo } from '../src/types.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const quick = process.argv.includes('--quick');
const N_CAL = quick ? 60 : 200;
const N_EVAL = quick ? 20 : 50;

const labels = readFileSync(join(SHARED, 'images/imagenet/labels.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
async function photos(shape: number[], mean: number, std: number, from: number, to: number): Promise<Array<{ sample: Sample; label: number }>> {
  const info: TensorInfo = { name: 'input', dtype: 'float32', shape, quantization: { scale: 0, zeroPoint: 0 }, byteLength: shape.reduce((a, b) => a * b, 4) };
  const out = [];
  for (const [f, , tf] of labels.slice(from, to)) out.push({ sample: [pixelsToInput(await decodeImage(join(SHARED, 'images/imagenet', f!.replace(/"/g, '')), info), info, { mean, std })], label: Number(tf) });
  return out;
}
const sine = (n: number, offset: number): Array<{ sample: Sample; label: number }> =>
  Array.from({ length: n }, (_, i) => ({ sample: [new Float32Array([(((i + offset) % n) / n) * 2 * Math.PI])], label: -1 }));

const MODELS: Array<{ name: string; data: (from: number, to: number) => Promise<Array<{ sample: Sample; label: number }>>; twin?: boolean; labelled?: boolean }> = [
  { name: 'mobilenet_v1_0.25_128_float', data: (a, b) => photos([1, 128, 128, 3], 127.5, 127.5, a, b), labelled: true },
  { name: 'blazeface_front_float', data: (a, b) => photos([1, 128, 128, 3], 127.5, 127.5, a, b) },
  { name: 'vww_96_float', data: (a, b) => photos([1, 96, 96, 3], 0, 255, a, b), twin: true },
  { name: 'resnet8_cifar10_float', data: (a, b) => photos([1, 32, 32, 3], 0, 1, a, b), twin: true },
  { name: 'hello_world_float', data: async (a, b) => sine(b - a, a === 0 ? 0 : 0.5), twin: true },
];
const ULTRAFACE = { name: 'ultraface_slim_320', data: (a: number, b: number) => photos([1, 240, 320, 3], 127, 128, a, b) };

const worst = (r: QuantizeResult): number => Math.min(...r.report.outputs.map((o) => o.sqnrDb ?? -Infinity));
const f1 = (x: number): string => x.toFixed(1);

/** Output-0 SQNR of a TFLite file against the float model on `samples`. */
async function twinSqnr(model: string, floatPath: string, samples: Sample[]): Promise<number> {
  const f = await load(floatPath);
  const q = await load(model);
  let s = 0, n = 0;
  try {
    for (const x of samples) {
      const fo = Object.values(await f.run(x))[0]!.data as Float32Array;
      const qi = q.inputs[0]!;
      const raw = Object.values(await q.run([feedFor(qi.dtype, qi.quantization, x[0]!)]))[0]!.data;
      const qo = q.outputs[0]!.quantization.scale ? dequantize(raw as Int8Array, q.outputs[0]!.quantization) : (raw as Float32Array);
      for (let k = 0; k < fo.length; k++) { s += fo[k]! ** 2; n += (fo[k]! - qo[k]!) ** 2; }
    }
  } finally {
    await f.dispose();
    await q.dispose();
  }
  return 10 * Math.log10(s / n);
}

console.log(`bench:quantize — ${N_CAL} calibration samples, ${N_EVAL} held, 1 thread`);
console.log('\n1. speed: phases and the whole command against one calibration pass');
const cpuMs = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
for (const name of ['mobilenet_v1_0.25_128_float', 'blazeface_front_float', ULTRAFACE.name]) {
  const m = MODELS.find((x) => x.name === name) ?? ULTRAFACE;
  const cal = (await m.data(0, N_CAL)).map((p) => p.sample);
  const ev = (await m.data(N_CAL, N_CAL + N_EVAL)).map((p) => ({ inputs: p.sample }));
  // CPU time per phase: the phase changes when progress first names another one.
  const cpu: Record<string, number> = {};
  let phase = 'prepare', since = cpuMs();
  const onProgress = (stage: string): void => {
    if (stage === phase) return;
    const now = cpuMs();
    cpu[phase] = (cpu[phase] ?? 0) + now - since;
    phase = stage;
    since = now;
  };
  const start = cpuMs();
  const r = await quantizeTflite(new Uint8Array(readFileSync(join(SHARED, 'models/tflite', `${name}.tflite`))), { calibration: cal, evaluation: ev },
    { source: name, threads: 1, onProgress, acceptLowSqnr: true });
  onProgress('done');
  const t = r.report.timings;
  const cpuTotal = cpuMs() - start;
  console.log(`  ${name}: calibrate ${(t.calibrateMs / 1000).toFixed(2)} s, choose ranges ${(t.chooseMs / 1000).toFixed(2)} s, rewrite ${(t.quantizeMs / 1000).toFixed(2)} s, ` +
    `bias correction ${(t.correctMs / 1000).toFixed(2)} s, evaluate ${(t.evaluateMs / 1000).toFixed(2)} s; total ${(t.totalMs / 1000).toFixed(2)} s = ${(t.totalMs / t.calibrateMs).toFixed(2)}x one calibration pass (wall)`);
  console.log(`    CPU: ${Object.entries(cpu).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(', ')}; total ${(cpuTotal / 1000).toFixed(2)} s = ${(cpuTotal / cpu.calibrate!).toFixed(2)}x one calibration pass (CPU)`);
}

if (process.argv.includes('--speed')) process.exit(0);
console.log('\n2. --method auto against each single method: worst output SQNR on the held samples (dB)');
const twins: Array<[string, number]> = [];
for (const m of MODELS) {
  const calP = await m.data(0, N_CAL);
  const evP = await m.data(N_CAL, N_CAL + N_EVAL);
  const bytes = new Uint8Array(readFileSync(join(SHARED, 'models/tflite', `${m.name}.tflite`)));
  const row: string[] = [];
  const scores: Record<string, number> = {};
  let auto: QuantizeResult | null = null;
  for (const method of ['auto', 'minmax', 'percentile', 'mse'] as RangeMethod[]) {
    const r = await quantizeTflite(bytes, {
      calibration: calP.map((p) => p.sample),
      evaluation: evP.map((p) => (m.labelled ? { inputs: p.sample, label: p.label } : { inputs: p.sample })),
    }, { method, source: m.name, threads: 1, acceptLowSqnr: true });
    scores[method] = worst(r);
    if (method === 'auto') auto = r;
    const extra = r.report.accuracy ? ` (agree ${(100 * r.report.top1Agreement!).toFixed(1)}%, top-1 ${(100 * r.report.accuracy.int8).toFixed(1)}% vs float ${(100 * r.report.accuracy.float).toFixed(1)}%)` : '';
    row.push(`${method} ${f1(scores[method]!)}${extra}`);
  }
  const best = Math.max(scores.minmax!, scores.percentile!, scores.mse!);
  console.log(`  ${m.name}: ${row.join(', ')}; auto kept ${auto!.report.methodChoice?.chosen}; auto - best single = ${(scores.auto! - best).toFixed(2)} dB`);
  if (m.twin) twins.push([m.name, await twinSqnr(join(SHARED, 'models/tflite', `${m.name.replace('_float', '_int8')}.tflite`), join(SHARED, 'models/tflite', `${m.name}.tflite`), evP.map((p) => p.sample)) - 0]);
  if (m.twin) console.log(`    TensorFlow's int8 twin on the same held samples: ${f1(twins.at(-1)![1])} dB (reef auto ${f1(scores.auto!)} dB)`);
}

console.log('\n3. int8 inference against float (mobilenet, XNNPACK, 1 thread)');
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
const MN = join(SHARED, 'models/tflite/mobilenet_v1_0.25_128_float.tflite');
const q = await quantizeTflite(new Uint8Array(readFileSync(MN)), { calibration: (await MODELS[0]!.data(0, 50)).map((p) => p.sample) }, { method: 'minmax' });
const floatX = await invokeMs(MN, true);
const int8X = await invokeMs(q.bytes, true);
const int8B = await invokeMs(q.bytes, false);
console.log(`  float XNNPACK ${floatX.toFixed(3)} ms, int8 XNNPACK ${int8X.toFixed(3)} ms (${(floatX / int8X).toFixed(2)}x), int8 built-in kernels ${int8B.toFixed(3)} ms (QS8 path ${(int8B / int8X).toFixed(2)}x faster)`);
