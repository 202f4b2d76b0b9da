/**
 * The operator-by-operator walk that bias correction runs (stepwise.ts, correct.ts) on real int8
 * models: running a batch of samples through one operator at once, and walking several
 * quantizations of a model in lockstep (`--method auto`'s candidates), must give exactly what
 * the one-sample-at-a-time, one-model-at-a-time walk gives. The reference side is TFLite itself
 * running each sample alone.
 */
import { describe, expect, it } from 'vitest';
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { calibrate, type Sample } from '../../src/quantize/calibrate.js';
import { correctBiases, correctBiasesAll, correctionTargets } from '../../src/quantize/correct.js';
import { feedFor } from '../../src/quantize/evaluate.js';
import { quantizeGraph } from '../../src/quantize/quantize.js';
import { chooseRange, type SingleMethod } from '../../src/quantize/ranges.js';
import { batchable, OpStepper } from '../../src/quantize/stepwise.js';
import { imagenetSamples, modelBytes } from './helpers.js';

async function int8Of(name: string, samples: Sample[], method: SingleMethod = 'minmax') {
  const model = readTflite(modelBytes(`models/tflite/${name}.tflite`));
  const cal = await calibrate(model, samples, { meansOf: correctionTargets(model) });
  const graph = quantizeGraph(model, { ranges: new Map([...cal.stats].map(([t, h]) => [t, chooseRange(h, { method })])), io: 'int8' });
  return { model, cal, graph };
}

function feedsOf(m: ReturnType<typeof readTflite>, samples: Sample[]): Sample[] {
  const sg = m.subgraphs[0]!;
  return samples.map((s) => s.map((d, k) => {
    const t = sg.tensors[sg.inputs[k]!]!;
    return feedFor(t.dtype, { scale: t.quantization!.scale[0]!, zeroPoint: t.quantization!.zeroPoint[0]! }, d);
  }));
}

describe('operator-by-operator walk', () => {
  it('blazeface int8: every operator batched gives the same bytes as every sample alone; RESHAPE (its shape names the batch) runs per sample', async () => {
    const samples = (await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 12)).map((s) => s.sample);
    const { graph } = await int8Of('blazeface_front_float', samples);
    const m = graph.model;
    const sg = m.subgraphs[0]!;
    const batched = new OpStepper(m, feedsOf(m, samples));
    const alone = new OpStepper(m, feedsOf(m, samples));
    alone.maxBatch = 1;
    const kinds = new Map<string, boolean>();
    for (let oi = 0; oi < sg.operators.length; oi++) {
      const a = await batched.run(oi);
      const b = await alone.run(oi);
      expect(a[0]!.length).toBe(b[0]!.length);
      a[0]!.forEach((out, k) => out.forEach((d, s) => expect(Buffer.from(d.buffer, d.byteOffset, d.byteLength).equals(Buffer.from(b[0]![k]![s]!.buffer, b[0]![k]![s]!.byteOffset, b[0]![k]![s]!.byteLength))).toBe(true)));
      batched.commit(oi, a);
      alone.commit(oi, b);
      kinds.set(sg.operators[oi]!.opcode, batchable(m, oi));
    }
    // Convolutions, pools, adds and pads run batched; RESHAPE (its shape names the batch) runs per sample.
    expect(Object.fromEntries(kinds)).toMatchObject({ CONV_2D: true, DEPTHWISE_CONV_2D: true, ADD: true, MAX_POOL_2D: true, PAD: true, RESHAPE: false });
  }, 60_000);

  it('mobilenet_v1_0.25: correcting three quantizations in lockstep gives exactly the models corrected one by one', async () => {
    const samples = (await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 16)).map((s) => s.sample);
    const methods: SingleMethod[] = ['minmax', 'mse', 'percentile'];
    const one = await Promise.all(methods.map((m) => int8Of('mobilenet_v1_0.25_128_float', samples, m)));
    const all = await Promise.all(methods.map((m) => int8Of('mobilenet_v1_0.25_128_float', samples, m)));
    const changedOne = [];
    for (const x of one) changedOne.push(await correctBiases(x.graph, x.model, samples, x.cal.means, { refit: false }));
    const changedAll = await correctBiasesAll(all.map((x) => x.graph), all[0]!.model, samples, all[0]!.cal.means, { refit: false });
    expect(changedAll).toEqual(changedOne);
    // MobileNet v1 has 28 weighted layers with a bias; rounding shifts the mean of every one of them.
    expect(changedOne).toEqual([28, 28, 28]);
    methods.forEach((_, k) => expect(Buffer.from(writeTflite(all[k]!.graph.model)).equals(Buffer.from(writeTflite(one[k]!.graph.model)))).toBe(true));
  }, 60_000);
});
