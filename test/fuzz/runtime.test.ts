/**
 * Fuzzing through the runtime (issue 9): seeded mutations of real models (bit flips, truncation,
 * shape, index, quantization, dtype, buffer, option and opcode edits through the IR) are loaded and
 * invoked through reef in a child process, so a native crash is observed, not suffered. Each case
 * must run or be refused with a documented ReefError code: no signal, no hang, no internal error.
 * `npm run fuzz -- --count N --seed S` runs more; a finding names its case to redo it alone.
 */
import { describe, expect, it } from 'vitest';
import { defaultModels, runFuzz } from '../../fuzz/fuzz.js';
import { sharedPath } from '../shared.js';

// The small models (fast to load and invoke), so that 600 cases fit the CI budget.
const MODELS = [
  'models/tflite/hello_world_float.tflite', 'models/tflite/hello_world_int8.tflite',
  'models/tflite/mnist_lstm_int8.tflite', 'models/tflite/resnet8_cifar10_int8.tflite',
  'models/tflite/vww_96_int8.tflite', 'models/edgetpu/split_concat.tflite',
  'models/tflite/ops/conv.float32.tflite', 'models/tflite/ops/stridedslice-beginmask.float32.tflite',
  'models/tflite/ops/fullyconnected-relu6.float32.tflite', 'models/tflite/ops/transposeconv-samepad-stride2.float32.tflite',
  'models/tflite/ops/softmax.float32.tflite', 'models/tflite/ops/mean-keepdims.float32.tflite',
  'models/tflite/ops/depthwise-conv.uint8.tflite', 'models/tflite/ops/maxpooling.float32.tflite',
];

describe('fuzz through the runtime', () => {
  it('600 mutated models: each runs or is refused with a documented code; no signal, no hang', async () => {
    const s = await runFuzz({ models: MODELS.map(sharedPath), count: 600, seed: 20261129, timeoutMs: 20_000 });
    if (process.env.REEF_TEST_TIMING) console.log(JSON.stringify({ ms: s.ms, verdicts: s.verdicts, outcomes: s.outcomes }));
    expect(s.findings.map((f) => `case ${f.case}: ${f.verdict} ${f.outcome} ${f.model} ${f.what}: ${f.message ?? ''}`)).toEqual([]);
    expect(s.count).toBe(600);
    // Not vacuous: many mutations are refused by the validator, some by TFLite, and many still run.
    expect(s.verdicts.refused).toBeGreaterThan(200);
    expect(s.verdicts.ran).toBeGreaterThan(60);
    expect(s.outcomes.REEF_MODEL_INVALID).toBeGreaterThan(100);
  }, 120_000);

  it('the default model list is every CPU model in ../shared/models', () => {
    // 12 in tflite/ (all but the one built to fail), 55 in tflite/ops/, 6 CPU models in edgetpu/.
    expect(defaultModels().length).toBe(12 + 55 + 6);
  });
});
