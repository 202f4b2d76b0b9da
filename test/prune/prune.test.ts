/**
 * reef prune on mobilenet_v1_0.25_128_float: unstructured (per layer and global) zeroes exactly the
 * share asked of the layers it may touch, keeps the first and last layers and the depthwise ones,
 * and the zeros compress; structured removes output channels, rewrites the readers and really
 * lowers MACs, and where the removed channels carried nothing but their bias the pruned model
 * computes what the original did. Bad input gets its code.
 */
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tfliteOpCost } from '../../src/model/macs.js';
import type { TfliteModel } from '../../src/model/tflite/ir.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { pruneTflite } from '../../src/prune/pipeline.js';
import { bytesOf, constFloat32 } from '../../src/quantize/graph.js';
import { load } from '../../src/runtime/session.js';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';
import { imagenetSamples, modelBytes } from '../quantize/helpers.js';

const MODEL = 'models/tflite/mobilenet_v1_0.25_128_float.tflite';
const dir = mkdtempSync(join(tmpdir(), 'reef-prune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const zerosOf = (m: TfliteModel, tensor: number): number => {
  const w = constFloat32(m, m.subgraphs[0]!.tensors[tensor]!);
  return w.reduce((a, v) => a + (v === 0 ? 1 : 0), 0);
};
const macsOf = (m: TfliteModel): number => m.subgraphs[0]!.operators.reduce((a, op) => a + tfliteOpCost(m, m.subgraphs[0]!, op).macs, 0);

describe('unstructured', () => {
  const bytes = modelBytes(MODEL);
  const orig = readTflite(bytes);
  const sg = orig.subgraphs[0]!;
  // MobileNet v1: CONV_2D at 0, 2, 4, ..., 28 (the last, logits), DEPTHWISE_CONV_2D at 1, 3, ..., 25.
  const convs = sg.operators.map((op, i) => [op, i] as const).filter(([op]) => op.opcode === 'CONV_2D').map(([, i]) => i);

  it('per layer: each pointwise conv but the first and last gets exactly floor(0.5 n) zeros; depthwise, first and last untouched', async () => {
    const { bytes: out, report } = await pruneTflite(bytes, { sparsity: 0.5, perLayer: true, latencyRuns: 0, source: 'mobilenet' });
    const m = readTflite(out);
    expect(report.layers.map((l) => l.op)).toEqual(convs.slice(1, -1));
    for (const oi of convs.slice(1, -1)) {
      const w = m.subgraphs[0]!.operators[oi]!.inputs[1]!;
      const n = sg.tensors[sg.operators[oi]!.inputs[1]!]!.shape.reduce((a, b) => a * b, 1);
      expect(zerosOf(m, w)).toBe(Math.floor(n / 2));
    }
    for (const oi of [convs[0]!, convs.at(-1)!, 1, 3, 25]) {
      const t = sg.operators[oi]!.inputs[1]!;
      expect(Array.from(constFloat32(m, m.subgraphs[0]!.tensors[t]!))).toEqual(Array.from(constFloat32(orig, sg.tensors[t]!)));
    }
    expect(report.skipped.filter((s) => s.opcode === 'DEPTHWISE_CONV_2D').length).toBe(13);
    expect(report.skipped.find((s) => s.op === 0)!.reason).toBe('first or last weighted layer (kept; --include-first-last prunes it)');
    expect(report.after.macs).toBe(report.before.macs);
    expect(report.before.bytes).toBe(bytes.length);
    expect(report.after.bytes).toBe(out.length);
    expect(report.before.gzipBytes).toBe(gzipSync(bytes, { level: 9 }).length);
    expect(report.after.gzipBytes).toBe(gzipSync(out, { level: 9 }).length);
    expect(report.after.gzipBytes).toBeLessThan(report.before.gzipBytes * 0.9);
  });

  it('global: one threshold, floor(0.3 N) zeros over all the layers it may touch, spread unevenly', async () => {
    const { bytes: out, report } = await pruneTflite(bytes, { sparsity: 0.3, latencyRuns: 0 });
    const m = readTflite(out);
    const ws = convs.slice(1, -1).map((oi) => m.subgraphs[0]!.operators[oi]!.inputs[1]!);
    const total = ws.reduce((a, t) => a + m.subgraphs[0]!.tensors[t]!.shape.reduce((x, y) => x * y, 1), 0);
    expect(ws.reduce((a, t) => a + zerosOf(m, t), 0)).toBe(Math.floor(0.3 * total));
    expect(new Set(report.layers.map((l) => l.zeros / l.weights)).size).toBeGreaterThan(1);
    expect(report.weightSparsity).toBeCloseTo(Math.floor(0.3 * total) / total, 9);
  });
});

describe('bias correction after pruning', () => {
  it('mobilenet at 10% per layer: each pruned layer\'s channel means set back to the original\'s recovers most of the SQNR lost', async () => {
    const photos = await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 40);
    const data = { calibration: photos.slice(0, 24).map((p) => p.sample), evaluation: photos.slice(24).map((p) => ({ inputs: p.sample })) };
    const bytes = modelBytes(MODEL);
    const plain = await pruneTflite(bytes, { sparsity: 0.1, perLayer: true, latencyRuns: 0, biasCorrection: false }, data);
    const corrected = await pruneTflite(bytes, { sparsity: 0.1, perLayer: true, latencyRuns: 0 }, data);
    expect(plain.report.biasesCorrected).toBe(0);
    expect(corrected.report.biasesCorrected).toBeGreaterThan(20);
    expect(corrected.report.cost!.outputs[0]!.sqnrDb!).toBeGreaterThan(plain.report.cost!.outputs[0]!.sqnrDb! + 5);
  });
});

describe('structured', () => {
  let photos: Array<{ inputs: Float32Array[] }>;
  beforeAll(async () => {
    photos = (await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 8)).map((p) => ({ inputs: p.sample as Float32Array[] }));
  });

  it('removes 25% of the output channels of each inner pointwise conv and the matching inputs of the next one; fewer MACs; loads and runs', async () => {
    const bytes = modelBytes(MODEL);
    const orig = readTflite(bytes);
    const { bytes: out, report } = await pruneTflite(bytes, { sparsity: 0.25, structured: true, latencyRuns: 20 }, { evaluation: photos });
    const m = readTflite(out);
    const sg = m.subgraphs[0]!;
    for (const l of report.layers) {
      expect(l.channels!.after).toBe(l.channels!.before - Math.floor(0.25 * l.channels!.before));
      const op = sg.operators[l.op]!;
      expect(sg.tensors[op.inputs[1]!]!.shape[0]).toBe(l.channels!.after);
      expect(sg.tensors[op.outputs[0]!]!.shape[3]).toBe(l.channels!.after);
      // The depthwise conv after it and the pointwise conv after that agree (the last one: its
      // average pool and the logits conv).
      const next = sg.operators[l.op + 1]!;
      if (next.opcode === 'DEPTHWISE_CONV_2D') expect(sg.tensors[next.inputs[1]!]!.shape[3]).toBe(l.channels!.after);
      else expect(sg.tensors[next.outputs[0]!]!.shape[3]).toBe(l.channels!.after);
      expect(sg.tensors[sg.operators[l.op + 2]!.inputs[1]!]!.shape[3]).toBe(l.channels!.after);
    }
    expect(report.layers.length).toBe(13);
    expect(report.after.macs).toBe(macsOf(m));
    expect(report.before.macs).toBe(macsOf(orig));
    expect(report.after.macs).toBeLessThan(0.7 * report.before.macs);
    expect(report.after.latencyMs).not.toBeNull();
    const s = await load(out);
    try {
      const y = Object.values(await s.run(photos[0]!.inputs))[0]!;
      expect(y.shape).toEqual([1, 1001]);
    } finally {
      await s.dispose();
    }
  });

  it('channels that carried only their bias: the pruned model computes what the original did (the bias folds into the next layer)', async () => {
    // Zero the weights and bias of the smallest 25% of filters of every inner pointwise conv: those
    // channels are 0 after ReLU6; through the depthwise conv they become its bias, constant over space.
    const m = readTflite(modelBytes(MODEL));
    const sg = m.subgraphs[0]!;
    const convs = sg.operators.map((op, i) => [op, i] as const).filter(([op]) => op.opcode === 'CONV_2D').map(([, i]) => i).slice(1, -1);
    for (const oi of convs) {
      const op = sg.operators[oi]!;
      const wt = sg.tensors[op.inputs[1]!]!;
      const w = constFloat32(m, wt);
      const b = constFloat32(m, sg.tensors[op.inputs[2]!]!);
      const c = wt.shape[0]!;
      const per = w.length / c;
      const l1 = Array.from({ length: c }, (_, i) => [w.subarray(i * per, (i + 1) * per).reduce((a, v) => a + Math.abs(v), 0), i] as const);
      for (const [, i] of l1.sort((x, y) => x[0] - y[0]).slice(0, Math.floor(0.25 * c))) { w.fill(0, i * per, (i + 1) * per); b[i] = 0; }
      m.buffers.push(bytesOf(w)); wt.buffer = m.buffers.length - 1;
      m.buffers.push(bytesOf(b)); sg.tensors[op.inputs[2]!]!.buffer = m.buffers.length - 1;
    }
    const { report } = await pruneTflite(writeTflite(m), { sparsity: 0.25, structured: true, latencyRuns: 0 }, { evaluation: photos });
    expect(report.layers.length).toBe(13);
    expect(report.cost!.outputs[0]!.sqnrDb!).toBeGreaterThan(60);
    expect(report.cost!.top1Agreement).toBe(1);
  });

  it('bias correction after structured pruning: channels that carried a little more than their bias (filters x0.05) are corrected back', async () => {
    // Removing such a channel leaves its mean minus act(bias) behind in the next layer; the walk sets
    // every corrected layer's kept channels back to the original's means.
    const m = readTflite(modelBytes(MODEL));
    const sg = m.subgraphs[0]!;
    const convs = sg.operators.map((op, i) => [op, i] as const).filter(([op]) => op.opcode === 'CONV_2D').map(([, i]) => i).slice(1, -1);
    for (const oi of convs) {
      const wt = sg.tensors[sg.operators[oi]!.inputs[1]!]!;
      const w = constFloat32(m, wt);
      const c = wt.shape[0]!;
      const per = w.length / c;
      const l1 = Array.from({ length: c }, (_, i) => [w.subarray(i * per, (i + 1) * per).reduce((a, v) => a + Math.abs(v), 0), i] as const);
      for (const [, i] of l1.sort((x, y) => x[0] - y[0]).slice(0, Math.floor(0.25 * c))) for (let j = i * per; j < (i + 1) * per; j++) w[j] = w[j]! * 0.05;
      m.buffers.push(bytesOf(w)); wt.buffer = m.buffers.length - 1;
    }
    const bytes = writeTflite(m);
    const more = await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 40);
    const data = { calibration: more.slice(0, 24).map((p) => p.sample), evaluation: more.slice(24).map((p) => ({ inputs: p.sample })) };
    const plain = await pruneTflite(bytes, { sparsity: 0.25, structured: true, criterion: 'l1', latencyRuns: 0, biasCorrection: false }, data);
    const corrected = await pruneTflite(bytes, { sparsity: 0.25, structured: true, criterion: 'l1', latencyRuns: 0 }, data);
    expect(plain.report.biasesCorrected).toBe(0);
    // Biases that changed (a layer whose mean error rounds to nothing is left as it is).
    expect(corrected.report.biasesCorrected).toBe(24);
    console.log(`structured 25%: SQNR ${plain.report.cost!.outputs[0]!.sqnrDb!.toFixed(1)} dB -> ${corrected.report.cost!.outputs[0]!.sqnrDb!.toFixed(1)} dB with bias correction`);
    expect(corrected.report.cost!.outputs[0]!.sqnrDb!).toBeGreaterThan(plain.report.cost!.outputs[0]!.sqnrDb! + 8);
    expect(corrected.report.cost!.top1Agreement!).toBeGreaterThan(plain.report.cost!.top1Agreement! + 0.5);
  });
});

describe('structured: which channels go', () => {
  it('activation (the error a channel causes in the layer that reads it) keeps MobileNet far closer than L1 at 5%, and is the default with samples', async () => {
    const photos = await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 120);
    const data = { calibration: photos.slice(0, 60).map((p) => p.sample), evaluation: photos.slice(60).map((p) => ({ inputs: p.sample, label: p.label })) };
    const bytes = modelBytes(MODEL);
    const l1 = await pruneTflite(bytes, { sparsity: 0.05, structured: true, criterion: 'l1', latencyRuns: 0 }, data);
    const act = await pruneTflite(bytes, { sparsity: 0.05, structured: true, latencyRuns: 0 }, data);
    expect(l1.report.criterion).toBe('l1');
    expect(act.report.criterion).toBe('activation');
    // The same number of channels goes either way: only which ones differs.
    expect(act.report.after.macs).toBe(l1.report.after.macs);
    console.log(`structured 5%, 60 held photos: agreement l1 ${(100 * l1.report.cost!.top1Agreement!).toFixed(1)}%, activation ${(100 * act.report.cost!.top1Agreement!).toFixed(1)}%; ` +
      `output SQNR ${l1.report.cost!.outputs[0]!.sqnrDb!.toFixed(1)} / ${act.report.cost!.outputs[0]!.sqnrDb!.toFixed(1)} dB`);
    expect(act.report.cost!.top1Agreement!).toBeGreaterThan(l1.report.cost!.top1Agreement! + 0.25);
    expect(act.report.cost!.outputs[0]!.sqnrDb!).toBeGreaterThan(l1.report.cost!.outputs[0]!.sqnrDb! + 3);
  }, 120_000);

  it('activation without samples is refused, naming what to give', async () => {
    await expect(pruneTflite(modelBytes(MODEL), { sparsity: 0.25, structured: true, criterion: 'activation', latencyRuns: 0 }))
      .rejects.toMatchObject({ code: 'REEF_INVALID_ARGUMENT', message: expect.stringContaining('--criterion activation needs calibration samples (--calib)') });
  });
});

describe('reef prune (CLI)', () => {
  it('prunes, prints the before/after table and writes the model; --json carries the report', async () => {
    const out = join(dir, 'p.tflite');
    const r = await cli('prune', sharedPath(MODEL), '--sparsity', '0.1', '--per-layer', '-o', out, '--runs', '5', '--calib', sharedPath('images/imagenet'), '--samples', '8', '--eval', '4', '--labels', sharedPath('images/imagenet/labels.csv'), '--label-column', 'tf1001_index', '--json');
    expect(r.err).not.toContain('reef: REEF');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { output: string; report: { mode: string; cost: { samples: number; accuracy: { labelled: number } } } };
    expect(j.output).toBe(out);
    expect(j.report.mode).toBe('unstructured per-layer');
    expect(j.report.cost.samples).toBe(4);
    expect(j.report.cost.accuracy.labelled).toBe(4);
    expect(existsSync(out)).toBe(true);
    const t = await cli('prune', sharedPath(MODEL), '--sparsity', '0.25', '--structured', '-o', join(dir, 's.tflite'), '--runs', '0');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/\n {2}MACs +13\.57 M +\d+\.\d\d M +\d+%\n/);
    expect(t.out).toContain(`wrote ${join(dir, 's.tflite')}`);
    expect(readFileSync(join(dir, 's.tflite')).length).toBeLessThan(readFileSync(sharedPath(MODEL)).length);
  });

  it.each([
    ['a sparsity of 1.5', ['--sparsity', '1.5'], 'REEF_INVALID_ARGUMENT', 'Expected a number in (0, 1) for --sparsity but received "1.5"'],
    ['no sparsity', [], 'REEF_INVALID_ARGUMENT', 'Expected a number in (0, 1) for --sparsity but received nothing'],
    ['--per-layer with --structured', ['--sparsity', '0.5', '--per-layer', '--structured'], 'REEF_INVALID_ARGUMENT', 'Expected --per-layer or --structured but received both'],
  ])('BAD INPUT - %s', async (_, args, code, message) => {
    const out = join(dir, 'bad.tflite');
    const r = await cli('prune', sharedPath(MODEL), '-o', out, ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`reef: ${code}: ${message}`);
    expect(existsSync(out)).toBe(false);
  });

  it('BAD INPUT - an int8 model: REEF_MODEL_ALREADY_QUANTIZED, prune before quantizing', async () => {
    const r = await cli('prune', sharedPath('models/tflite/vww_96_int8.tflite'), '--sparsity', '0.5', '-o', join(dir, 'q.tflite'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`reef: REEF_MODEL_ALREADY_QUANTIZED: ${sharedPath('models/tflite/vww_96_int8.tflite')} is already quantized (int8 activations); reef prune takes a float32 model (prune first, then quantize)`);
  });
});
