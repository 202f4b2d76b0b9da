/**
 * `reef repair` and `reef inspect` on a model with the quantized_dimension converter defect: inspect
 * shows it and names the defect; repair writes a model TFLite runs, with TFLite's own outputs.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from '../../src/index.js';
import { cli } from '../cli.js';
import { biasDefect, filterDefect } from '../model/defect-models.js';
import { tfliteReference } from '../reference/tflite.js';
import { prng, sharedPath } from '../shared.js';

function fixture(make: () => { bytes: Uint8Array }): { dir: string; model: string } {
  const dir = mkdtempSync(join(tmpdir(), 'reef-repair-'));
  const model = join(dir, 'old.tflite');
  writeFileSync(model, make().bytes);
  return { dir, model };
}
const NAME = 'model/activation/Relu;model/batch_normalization/FusedBatchNormV3;model/conv2d/BiasAdd/ReadVariableOp/resource;model/conv2d/BiasAdd;model/depthwise_conv2d/depthwise;model/conv2d/Conv2D';
const LINE = `subgraph 0, tensor 3 ('${NAME}'): quantized_dimension 3 is outside shape [8] (8 per-channel scales); fix: set quantized_dimension to 0`;

describe('reef inspect on a model TFLite refuses', () => {
  it('shows the model and names the defect with the repair command', async () => {
    const { model } = fixture(biasDefect);
    const r = await cli('inspect', model);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Operators (');
    expect(r.out.endsWith(`\nDefects (TensorFlow Lite 2.9 refuses this model)\n  ${LINE}\n  \`reef repair old.tflite -o FIXED.tflite\` fixes it\n`)).toBe(true);
    const j = JSON.parse((await cli('inspect', model, '--json')).out) as { defects: unknown };
    expect(j.defects).toEqual([{ subgraph: 0, tensor: 3, name: NAME, defect: 'quantized-dimension-out-of-range', detail: 'quantized_dimension 3 is outside shape [8] (8 per-channel scales)', fix: { quantizedDimension: 0, text: 'set quantized_dimension to 0' } }]);
  });
});

describe('reef repair', () => {
  it('fixes the bias, lists the change, and the repaired model gives the outputs TFLite gives', async () => {
    const { dir, model } = fixture(biasDefect);
    const out = join(dir, 'fixed.tflite');
    const r = await cli('repair', model, '-o', out);
    const bytes = readFileSync(out);
    expect([r.code, r.err, r.out]).toEqual([0, '', `${model}: repaired 1 tensor\n  ${LINE}\nwrote ${out} (${bytes.length} bytes)\n`]);
    const session = await load(out, { xnnpack: false });
    const original = await load(sharedPath('models/tflite/vww_96_int8.tflite'), { xnnpack: false });
    try {
      const rand = prng(7);
      const input = Int8Array.from({ length: 96 * 96 * 3 }, () => Math.floor(rand() * 256) - 128);
      const mine = (await session.run([input]))[session.outputs[0]!.name]!;
      const ref = tfliteReference(out, [input]);
      if (!ref.ok) throw new Error(ref.error);
      expect(ref.outputs.map((o) => [o.name, o.dtype, o.shape])).toEqual([['Identity_int8', 'int8', [1, 2]]]);
      expect([...new Int8Array(ref.outputs[0]!.bytes.buffer, ref.outputs[0]!.bytes.byteOffset, 2)]).toEqual([...(mine.data as Int8Array)]);
      const before = (await original.run([input]))[original.outputs[0]!.name]!;
      expect([...(mine.data as Int8Array)]).toEqual([...(before.data as Int8Array)]);
    } finally {
      await session.dispose();
      await original.dispose();
    }
  });

  it('--json lists the repaired tensors', async () => {
    const { dir, model } = fixture(biasDefect);
    const out = join(dir, 'fixed.tflite');
    const r = await cli('repair', model, '-o', out, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      model, output: out, bytes: readFileSync(out).length,
      repaired: [{ subgraph: 0, tensor: 3, name: NAME, defect: 'quantized-dimension-out-of-range', detail: 'quantized_dimension 3 is outside shape [8] (8 per-channel scales)', fix: { quantizedDimension: 0, text: 'set quantized_dimension to 0' } }],
    });
  });

  it('EXPECTED FAILURE - a model without defects: REEF_NOTHING_TO_REPAIR, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-repair-'));
    const src = sharedPath('models/tflite/vww_96_int8.tflite');
    const r = await cli('repair', src, '-o', join(dir, 'x.tflite'));
    expect([r.code, r.out, r.err]).toEqual([1, '', `reef: REEF_NOTHING_TO_REPAIR: ${src}: no known defect to repair; TensorFlow Lite 2.9 loads this model as it is\n  fix: Use the model as it is; if it still fails to load, the error you got names the reason (\`reef inspect\` shows the model).\n`]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('EXPECTED FAILURE - a defect with no unambiguous fix: REEF_MODEL_DEFECT under --json, nothing written', async () => {
    const { dir, model } = fixture(filterDefect);
    const r = await cli('repair', model, '-o', join(dir, 'x.tflite'), '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error.code).toBe('REEF_MODEL_DEFECT');
    expect(JSON.parse(r.out).error.message).toMatch(/^\/.*old\.tflite: 1 defect has no unambiguous fix, so nothing was written: subgraph 0, tensor 5 /);
    expect(readdirSync(dir)).toEqual(['old.tflite']);
  });

  it('EXPECTED FAILURE - an unwritable -o fails before reading the model', async () => {
    const r = await cli('repair', '/nonexistent-model.tflite', '-o', '/nonexistent-dir/x.tflite');
    expect([r.code, r.err.split('\n')[0]]).toEqual([1, 'reef: REEF_OUTPUT_UNWRITABLE: Expected a writable file path for -o/--output but received "/nonexistent-dir/x.tflite" (folder /nonexistent-dir does not exist)']);
    expect(existsSync('/nonexistent-dir')).toBe(false);
  });

  it('EXPECTED FAILURE - without -o: a usage error (exit 2)', async () => {
    const r = await cli('repair', sharedPath('models/tflite/vww_96_int8.tflite'));
    expect([r.code, r.err]).toEqual([2, "reef: REEF_INVALID_ARGUMENT: required option '-o, --output <file>' not specified\n" +
      '  fix: See the message: it names the argument, what was expected and what was received.\n']);
  });
});
