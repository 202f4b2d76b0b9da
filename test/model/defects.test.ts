/**
 * Known converter defects (src/model/tflite/defects.ts): TFLite 2.9 itself refuses each model made
 * here; reef reads them, names the defect, refuses them at load() with REEF_MODEL_DEFECT, and
 * repairs the ones with one unambiguous fix.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from '../../src/index.js';
import { detectDefects, repairTflite } from '../../src/model/tflite/defects.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { tfliteReference } from '../reference/tflite.js';
import { sharedBytes } from '../shared.js';
import { biasDefect, filterDefect, perTensorDefect } from './defect-models.js';
import { allTfliteModels, snapshot } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'reef-defects-'));
function save(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}
const BIAS = "subgraph 0, tensor 3 ('model/activation/Relu;model/batch_normalization/FusedBatchNormV3;model/conv2d/BiasAdd/ReadVariableOp/resource;model/conv2d/BiasAdd;model/depthwise_conv2d/depthwise;model/conv2d/Conv2D')";
const FILTER = "subgraph 0, tensor 5 ('model/batch_normalization_1/FusedBatchNormV3;model/depthwise_conv2d/depthwise;model/depthwise_conv2d/BiasAdd;model/depthwise_conv2d/BiasAdd/ReadVariableOp/resource')";

describe('defect detector', () => {
  it('finds nothing in any shared model', () => {
    const found = allTfliteModels().filter((rel) => detectDefects(readTflite(sharedBytes(rel))).length > 0);
    expect(found).toEqual([]);
  });

  it('a 1-D per-channel bias with quantized_dimension 3: TFLite 2.9 refuses it, the fix is 0', () => {
    const m = biasDefect();
    const ref = tfliteReference(save('bias.tflite', m.bytes), []);
    expect(ref).toEqual({ ok: false, error: 'Failed to create tflite interpreter. quantized_dimension must be in range [0, 1). Was 3.\nTensor 3 has invalid quantization parameters.\n' });
    expect(detectDefects(readTflite(m.bytes))).toEqual([{
      subgraph: 0, tensor: 3, name: m.name, defect: 'quantized-dimension-out-of-range',
      detail: 'quantized_dimension 3 is outside shape [8] (8 per-channel scales)',
      fix: { quantizedDimension: 0, text: 'set quantized_dimension to 0' },
    }]);
  });

  it('per-tensor quantization with quantized_dimension -1: TFLite refuses it too; the dimension is unused, so 0 fixes it', () => {
    const m = perTensorDefect();
    expect(tfliteReference(save('pertensor.tflite', m.bytes), []))
      .toEqual({ ok: false, error: 'Failed to create tflite interpreter. quantized_dimension must be in range [0, 4). Was -1.\nTensor 0 has invalid quantization parameters.\n' });
    expect(detectDefects(readTflite(m.bytes))).toEqual([{
      subgraph: 0, tensor: 0, name: 'input_1_int8', defect: 'quantized-dimension-out-of-range',
      detail: 'quantized_dimension -1 is outside shape [1,96,96,3] (per-tensor quantization)',
      fix: { quantizedDimension: 0, text: 'set quantized_dimension to 0' },
    }]);
  });

  it('a 4-D per-channel filter with quantized_dimension 4 has no unambiguous fix', () => {
    const m = filterDefect();
    expect(detectDefects(readTflite(m.bytes))).toEqual([{
      subgraph: 0, tensor: 5, name: m.name, defect: 'quantized-dimension-out-of-range',
      detail: 'quantized_dimension 4 is outside shape [1,3,3,8] (8 per-channel scales)', fix: null,
    }]);
  });

  it('EXPECTED FAILURE - a quantized_dimension inside the shape but with the wrong scale count is still REEF_MODEL_INVALID', () => {
    const m = readTflite(sharedBytes('models/tflite/vww_96_int8.tflite'));
    m.subgraphs[0]!.tensors[5]!.quantization!.quantizedDimension = 1;
    expect(() => readTflite(writeTflite(m))).toThrow(expect.objectContaining({
      code: 'REEF_MODEL_INVALID',
      message: `Invalid TFLite model: ${FILTER}: per-axis quantization has 8 scales but dimension 1 of shape [1,3,3,8] is 3`,
    }));
  });
});

describe('load() refuses a defect before TFLite sees it, naming it and the repair', () => {
  it('EXPECTED FAILURE - fixable: REEF_MODEL_DEFECT suggests reef repair', async () => {
    const p = save('load-bias.tflite', biasDefect().bytes);
    await expect(load(p)).rejects.toMatchObject({
      code: 'REEF_MODEL_DEFECT',
      message: `${p}: TensorFlow Lite 2.9 refuses this model for a known converter defect (1 tensor): ${BIAS}: quantized_dimension 3 is outside shape [8] (8 per-channel scales); fix: set quantized_dimension to 0. To run it: run \`reef repair ${p} -o FIXED.tflite\` and load the repaired model`,
    });
  });

  it('EXPECTED FAILURE - not fixable: REEF_MODEL_DEFECT says to convert again', async () => {
    await expect(load(filterDefect().bytes)).rejects.toMatchObject({
      code: 'REEF_MODEL_DEFECT',
      message: `<buffer>: TensorFlow Lite 2.9 refuses this model for a known converter defect (1 tensor): ${FILTER}: quantized_dimension 4 is outside shape [1,3,3,8] (8 per-channel scales); no unambiguous fix. To run it: convert the model again with a current TFLite converter (\`reef repair\` cannot fix every defect here)`,
    });
  });
});

describe('repairTflite', () => {
  it('changes only the quantized_dimension: the repaired IR equals the original model', () => {
    const { bytes, repaired } = repairTflite(biasDefect().bytes, 'bias.tflite');
    expect(repaired.map((d) => [d.tensor, d.fix])).toEqual([[3, { quantizedDimension: 0, text: 'set quantized_dimension to 0' }]]);
    expect(snapshot(readTflite(bytes))).toEqual(snapshot(readTflite(sharedBytes('models/tflite/vww_96_int8.tflite'))));
  });

  it('EXPECTED FAILURE - nothing to repair: REEF_NOTHING_TO_REPAIR', () => {
    expect(() => repairTflite(sharedBytes('models/tflite/vww_96_int8.tflite'), 'vww_96_int8.tflite')).toThrow(expect.objectContaining({
      code: 'REEF_NOTHING_TO_REPAIR',
      message: 'vww_96_int8.tflite: no known defect to repair; TensorFlow Lite 2.9 loads this model as it is',
    }));
  });

  it('EXPECTED FAILURE - a defect without an unambiguous fix: REEF_MODEL_DEFECT, nothing repaired', () => {
    expect(() => repairTflite(filterDefect().bytes, 'f.tflite')).toThrow(expect.objectContaining({
      code: 'REEF_MODEL_DEFECT',
      message: `f.tflite: 1 defect has no unambiguous fix, so nothing was written: ${FILTER}: quantized_dimension 4 is outside shape [1,3,3,8] (8 per-channel scales); no unambiguous fix. Convert the model again with a current TFLite converter`,
    }));
  });
});
