/**
 * bench:onnx — the same network three ways on this machine, side by side in one run:
 * onnxruntime-node float (reef's ONNX backend), reef's converted float TFLite (XNNPACK) and
 * reef's int8 TFLite (`reef quantize --allow-float` on 64 COCO photos, XNNPACK QS8), for ultraface_rfb_320 and
 * fastestdet_352: median invoke latency, agreement of each TFLite model with onnxruntime on 16
 * held-out photos (max |diff|, cosine; output SQNR for int8), conversion and quantization time,
 * and the Edge TPU check of the int8 model. Reported, never asserted (../shared/docs/TARGETS.md:
 * int8 at least 2x faster than onnxruntime float).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertOnnxFile } from '../src/convert/index.js';
import { permuteData } from '../src/convert/check.js';
import { checkEdgetpu } from '../src/edgetpu/check.js';
import { decodeImage, pixelsToInput } from '../src/image/preprocess.js';
import { quantizeTflite } from '../src/quantize/pipeline.js';
import { load, type Session } from '../src/runtime/session.js';
import type { TensorInfo } from '../src/types.js';
import { dequantize, quantize } from '../src/quant.js';
import { readTflite } from '../src/model/tflite/reader.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const IMAGES = join(SHARED, 'images/coco/images');
const MODELS = [
  { name: 'ultraface_rfb_320', file: 'ultraface_rfb_320.onnx', mean: 127, std: 128, keepFloat: [] as string[] },
  // The head concatenates sigmoid, box and softmax maps: the sigmoid and softmax outputs (fixed int8 scale 1/256)
  // are requantized to the concat's scale, so the whole head is int8.
  { name: 'fastestdet_352', file: 'fastestdet_352.onnx', mean: 0, std: 255, keepFloat: [] as string[] },
].filter((m) => !process.env.BENCH_MODELS || process.env.BENCH_MODELS.split(',').includes(m.name));
const CALIB = 64, HELD = 16, RUNS = Number(process.env.BENCH_RUNS ?? 100);

/** Operator indices writing the named tensors. */
function keepOps(bytes: Uint8Array, names: string[]): number[] {
  const sg = readTflite(bytes).subgraphs[0]!;
  return names.map((n) => sg.operators.findIndex((op) => op.outputs.some((t) => sg.tensors[t]!.name === n)));
}

const median = (a: ArrayLike<number>): number => { const s = Array.from(a).sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!; };

/**
 * Wall times of single invokes (reef's TFLite: its native invoke loop; onnxruntime: around
 * session.run, input copies excluded). Kept whole so that the median and the 10th percentile can be
 * taken over interleaved rounds: on the shared machine the other agents' load inflates the median
 * by up to 3x, the 10th percentile much less, and alike for the three. (Process CPU time is no
 * fairer: onnxruntime-node's JavaScript around each run, outside the timed call, adds 1-2 ms of it.)
 */
async function invokeMs(s: Session): Promise<number[]> {
  await s.invokeLoop(10);
  return Array.from(await s.invokeLoop(RUNS));
}
const quantile = (a: number[], q: number): number => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * q))]!; };

/**
 * bench/xnnpack-partitions.c, built once with the system C compiler against tfjs-tflite-node's
 * TFLite 2.9: which operators the XNNPACK delegate leaves to TFLite's own kernels, and into how
 * many partitions the rest splits. Null (and said once) without a compiler.
 */
const TFLITE = join(import.meta.dirname, '..', 'node_modules', 'tfjs-tflite-node', 'cc_deps');
const probeDir = mkdtempSync(join(tmpdir(), 'reef-xnnpack-'));
const probe = ((): string | null => {
  const exe = join(probeDir, 'xnnpack-partitions');
  try {
    execFileSync('cc', ['-O1', '-o', exe, join(import.meta.dirname, 'xnnpack-partitions.c'), `-I${join(TFLITE, 'include')}`, `-L${join(TFLITE, 'linux_amd64')}`, '-ltensorflowlite_c', `-Wl,-rpath,${join(TFLITE, 'linux_amd64')}`], { stdio: 'pipe' });
    return exe;
  } catch (e) {
    console.log(`(no XNNPACK partition count: building bench/xnnpack-partitions.c failed: ${String((e as { stderr?: Buffer }).stderr ?? e).split('\n')[0]})`);
    return null;
  }
})();
function partitions(bytes: Uint8Array): { partitions: number; cpuOps: Record<string, number> } | null {
  if (!probe) return null;
  const f = join(probeDir, 'm.tflite');
  writeFileSync(f, bytes);
  let r: { partitions: number; cpu: number[] };
  try {
    r = JSON.parse(execFileSync(probe, [f], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()) as typeof r;
  } catch {
    return null;
  }
  const sg = readTflite(bytes).subgraphs[0]!;
  const cpuOps: Record<string, number> = {};
  for (const i of r.cpu) cpuOps[sg.operators[i]!.opcode] = (cpuOps[sg.operators[i]!.opcode] ?? 0) + 1;
  return { partitions: r.partitions, cpuOps };
}
const fmtPart = (p: ReturnType<typeof partitions>): string => (p ? `${p.partitions} XNNPACK partition(s), left to TFLite: ${Object.entries(p.cpuOps).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing'}` : 'partitions not measured');

function agreement(ref: Float32Array, got: ArrayLike<number>): { maxAbs: number; cosine: number; sqnrDb: number } {
  let maxAbs = 0, dot = 0, aa = 0, bb = 0, err = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = got[i]! - ref[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(d));
    dot += ref[i]! * got[i]!; aa += ref[i]! ** 2; bb += got[i]! ** 2; err += d * d;
  }
  return { maxAbs, cosine: dot / Math.sqrt(aa * bb), sqnrDb: 10 * Math.log10(aa / Math.max(err, 1e-30)) };
}

const files = readdirSync(IMAGES).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().slice(0, CALIB + HELD).map((f) => join(IMAGES, f));
const results = [];
console.log(`bench:onnx — 1 thread, ${RUNS} invokes x 5 interleaved rounds each (median and 10th percentile); agreement with onnxruntime on ${HELD} held-out COCO photos`);
for (const m of MODELS) {
  const path = join(SHARED, 'models/onnx', m.file);
  const conv = await convertOnnxFile(path, { samples: 3 });
  const io = conv.report.inputs[0]!;
  const info: TensorInfo = { name: io.name, dtype: 'float32', shape: io.tfliteShape, quantization: { scale: 0, zeroPoint: 0 }, byteLength: io.tfliteShape.reduce((a, b) => a * b, 4) };
  const nhwc: Float32Array[] = [];
  for (const f of files) nhwc.push(pixelsToInput(await decodeImage(f, info), info, { mean: m.mean, std: m.std }) as Float32Array);
  const tq = performance.now();
  const q = await quantizeTflite(conv.bytes, { calibration: nhwc.slice(0, CALIB).map((x) => [x]) }, { source: m.name, threads: 1, allowFloat: true, keepFloat: keepOps(conv.bytes, m.keepFloat) });
  const quantizeMs = performance.now() - tq;
  const onnx = await load(path, { threads: 1 });
  const flt = await load(conv.bytes, { threads: 1 });
  const int8 = await load(q.bytes, { threads: 1 });
  const worst = conv.report.outputs.map(() => ({ float: { maxAbs: 0, cosine: 1 }, int8: { maxAbs: 0, cosine: 1, sqnrDb: Infinity } }));
  for (const x of nhwc.slice(CALIB)) {
    const nchw = permuteData(x, io.tfliteShape, [0, 3, 1, 2]);
    const ref = await onnx.run([nchw]);
    const f = await flt.run([x]);
    const qi = int8.inputs[0]!;
    const qx = qi.dtype === 'float32' ? x : quantize(x, qi.quantization, qi.dtype as 'int8');
    const qo = await int8.run([qx]);
    conv.report.outputs.forEach((o, k) => {
      const r = permuteData(ref[o.name]!.data as Float32Array, o.onnxShape, o.perm);
      const a = agreement(r, f[flt.outputs[k]!.name]!.data as Float32Array);
      const qinfo = int8.outputs[k]!;
      const qd = qinfo.dtype === 'float32' ? qo[qinfo.name]!.data as Float32Array : dequantize(qo[qinfo.name]!.data as Int8Array, qinfo.quantization);
      const b = agreement(r, qd);
      const w = worst[k]!;
      w.float = { maxAbs: Math.max(w.float.maxAbs, a.maxAbs), cosine: Math.min(w.float.cosine, a.cosine) };
      w.int8 = { maxAbs: Math.max(w.int8.maxAbs, b.maxAbs), cosine: Math.min(w.int8.cosine, b.cosine), sqnrDb: Math.min(w.int8.sqnrDb, b.sqnrDb) };
    });
  }
  // Interleaved (onnxruntime, float, int8, onnxruntime, ...) so that the machine's load hits all three alike.
  const times: number[][] = [[], [], []];
  for (let round = 0; round < 5; round++) for (const [k, s] of [onnx, flt, int8].entries()) times[k]!.push(...await invokeMs(s));
  const [onnxMs, floatMs, int8Ms] = times.map((t) => median(t)) as [number, number, number];
  const [onnxP10, floatP10, int8P10] = times.map((t) => quantile(t, 0.1)) as [number, number, number];
  await Promise.all([onnx.dispose(), flt.dispose(), int8.dispose()]);
  const tpu = checkEdgetpu(q.bytes);
  const xnnpack = { float: partitions(conv.bytes), int8: partitions(q.bytes) };
  const r = {
    model: m.name, convertMs: conv.timings.convertMs, checkMs: conv.timings.checkMs, quantizeMs, transposes: conv.report.transposes.total,
    rewrites: { padsFolded: conv.report.padsFolded, pointwiseComposed: conv.report.pointwiseComposed },
    onnxMs, floatMs, int8Ms, int8VsOnnx: onnxMs / int8Ms, floatVsOnnx: onnxMs / floatMs,
    p10Ms: { onnx: onnxP10, float: floatP10, int8: int8P10 }, int8VsOnnxP10: onnxP10 / int8P10, xnnpack,
    outputs: conv.report.outputs.map((o, k) => ({ name: o.name, ...worst[k]! })),
    edgetpu: { tpuOps: tpu.tpuOps, cpuOps: tpu.cpuOps, segments: tpu.segments },
  };
  results.push(r);
  console.log(`\n${m.name}`);
  console.log(`  convert ${r.convertMs.toFixed(0)} ms (+ check vs onnxruntime ${r.checkMs.toFixed(0)} ms), TRANSPOSE ops ${r.transposes}; quantize (${CALIB} photos${m.keepFloat.length ? `, --keep-float ${m.keepFloat.join(',')}` : ''}) ${(quantizeMs / 1000).toFixed(1)} s`);
  console.log(`  rewrites: ${r.rewrites.padsFolded} PAD folded into convolutions, ${r.rewrites.pointwiseComposed} 1x1 convolutions merged`);
  console.log(`  median invoke: onnxruntime float ${onnxMs.toFixed(2)} ms | reef float TFLite XNNPACK ${floatMs.toFixed(2)} ms (${r.floatVsOnnx.toFixed(2)}x) | reef int8 XNNPACK QS8 ${int8Ms.toFixed(2)} ms (${r.int8VsOnnx.toFixed(2)}x vs onnxruntime; target >= 2x)`);
  console.log(`  10th percentile: onnxruntime float ${onnxP10.toFixed(2)} ms | reef float ${floatP10.toFixed(2)} ms (${(onnxP10 / floatP10).toFixed(2)}x) | reef int8 ${int8P10.toFixed(2)} ms (${r.int8VsOnnxP10.toFixed(2)}x)`);
  console.log(`  float: ${fmtPart(xnnpack.float)}; int8: ${fmtPart(xnnpack.int8)}`);
  for (const o of r.outputs) console.log(`  ${o.name}: float vs onnxruntime max|diff| ${o.float.maxAbs.toExponential(2)} cosine ${o.float.cosine.toFixed(6)}; int8 vs onnxruntime max|diff| ${o.int8.maxAbs.toFixed(3)} cosine ${o.int8.cosine.toFixed(4)} SQNR ${o.int8.sqnrDb.toFixed(1)} dB`);
  console.log(`  Edge TPU check of the int8 model: ${tpu.tpuOps} ops on the TPU, ${tpu.cpuOps} on the CPU, ${tpu.segments} segment(s)`);
}
rmSync(probeDir, { recursive: true, force: true });
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
