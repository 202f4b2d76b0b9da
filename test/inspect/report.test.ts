/**
 * `reef inspect`: MAC and parameter totals against the published model cards, the JSON
 * document's stable keys, and the table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectCommand } from '../../src/cli/inspect.js';
import { parseFbs } from '../../src/model/fbs/parse.js';
import { generateTypeScript } from '../../src/model/fbs/codegen.js';
import { formatInspect, inspectModel } from '../../src/inspect/report.js';
import { REPO_ROOT, sharedBytes, sharedPath } from '../shared.js';

const within = (x: number, target: number, rel: number): boolean => Math.abs(x - target) <= rel * target;

describe('inspect: MACs and parameters match the published figures', () => {
  it('MobileNet v1 0.25/128: ~14 M multiply-adds, 0.47 M parameters (TF-slim model card)', () => {
    for (const rel of ['models/tflite/mobilenet_v1_0.25_128_float.tflite', 'models/edgetpu/mobilenet_v1_0.25_128_quant.tflite']) {
      const r = inspectModel(sharedBytes(rel));
      expect(within(r.totals.macs, 14e6, 0.05), `${rel}: ${r.totals.macs}`).toBe(true);
      expect(within(r.totals.params, 0.47e6, 0.01), `${rel}: ${r.totals.params}`).toBe(true);
      expect(r.totals.opcodes).toEqual({ CONV_2D: 15, DEPTHWISE_CONV_2D: 13, AVERAGE_POOL_2D: 1, RESHAPE: 1, SOFTMAX: 1 });
    }
  });

  it('MobileNet v2 1.0/224: ~300 M multiply-adds, 3.47 M parameters (model card)', () => {
    const r = inspectModel(sharedBytes('models/edgetpu/tf2_mobilenet_v2_1.0_224_ptq.tflite'));
    expect(within(r.totals.macs, 300e6, 0.01), String(r.totals.macs)).toBe(true);
    expect(within(r.totals.params, 3.47e6, 0.01), String(r.totals.params)).toBe(true);
    expect(r.totals.quantization).toBe('int8');
    expect(r.inputs.map((t) => [t.dtype, t.shape])).toEqual([['uint8', [1, 224, 224, 3]]]);
  });

  it('the first conv of MobileNet v1 0.25/128: 64*64*8 outputs x 3*3*3 = 884,736 MACs, 8*27+8 params', () => {
    const r = inspectModel(sharedBytes('models/tflite/mobilenet_v1_0.25_128_float.tflite'));
    expect(r.operators[0]).toMatchObject({ index: 0, opcode: 'CONV_2D', macs: 884_736, params: 224, fusedActivation: 'RELU6' });
  });

  it('quantization kinds: float, int8 (uint8 I/O allowed), uint8-legacy', () => {
    expect(inspectModel(sharedBytes('models/tflite/vww_96_float.tflite')).totals.quantization).toBe('float');
    expect(inspectModel(sharedBytes('models/tflite/vww_96_int8.tflite')).totals.quantization).toBe('int8');
    expect(inspectModel(sharedBytes('models/tflite/mnist_lstm_int8.tflite')).totals.quantization).toBe('int8');
    expect(inspectModel(sharedBytes('models/edgetpu/mobilenet_v1_0.5_160_quant.tflite')).totals.quantization).toBe('uint8-legacy');
  });
});

describe('inspect: report shape', () => {
  it('--json has the stable keys, operators with index/opcode/version/inputs/outputs', async () => {
    let text = '';
    await inspectCommand(sharedPath('models/tflite/hello_world_int8.tflite'), { json: true }, { out: (t) => { text += t; }, err: () => {} });
    const r = JSON.parse(text) as Record<string, unknown> & { operators: Record<string, unknown>[]; totals: Record<string, unknown> };
    expect(Object.keys(r)).toEqual(['format', 'file', 'bytes', 'description', 'version', 'subgraphs', 'inputs', 'outputs', 'operators', 'totals', 'metadata']);
    expect(r.format).toBe('tflite');
    expect(r.inputs).toEqual([{ index: 0, name: 'serving_default_dense_input:0', dtype: 'int8', shape: [1, 1], quantization: { scale: [expect.closeTo(0.02448, 5)], zeroPoint: [-128] } }]);
    expect(r.operators.map((o) => [o.index, o.opcode, o.version, (o.inputs as unknown[]).length, (o.outputs as unknown[]).length])).toEqual([
      [0, 'FULLY_CONNECTED', 4, 3, 1], [1, 'FULLY_CONNECTED', 4, 3, 1], [2, 'FULLY_CONNECTED', 4, 3, 1],
    ]);
    // Dense 1->16, 16->16, 16->1: 16 + 256 + 16 MACs; 32 + 272 + 17 weights and biases.
    expect(r.totals).toMatchObject({ macs: 288, params: 321, operators: 3 });
  });

  it('Edge TPU compiled model: the custom op and the size of its compiled code', () => {
    const r = inspectModel(sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite'));
    expect(r.edgetpu?.cpuOperators).toBe(0);
    expect(r.edgetpu?.customOps.map((c) => [c.operator, c.bytes, c.compiled?.compilerVersion, c.compiled?.minRuntimeVersion])).toEqual([[0, 778324, 'cl/', 12]]);
    const text = formatInspect(r);
    expect(text).toContain('operator 0: edgetpu-custom-op, 778,324 bytes of compiled code');
    expect(text).toContain('    compiler cl/ (no build number recorded), needs Edge TPU runtime >= 12\n');
    expect(text).toContain('    executables EXECUTION_ONLY, PARAMETER_CACHING\n');
  });

  it('Edge TPU compiled model: the compiler build recorded in the package (`strings` shows cl/343520747)', () => {
    const r = inspectModel(sharedBytes('models/edgetpu/split_concat_edgetpu.tflite'));
    expect(r.edgetpu?.customOps[0].compiled?.compilerVersion).toBe('cl/343520747');
    expect(formatInspect(r)).toContain('    compiler cl/343520747, needs Edge TPU runtime >= 13\n');
  });

  it('ONNX models are inspectable: I/O, nodes, MACs for Conv/Gemm/MatMul', () => {
    const r = inspectModel(sharedBytes('models/onnx/ultraface_rfb_320.onnx'), 'ultraface_rfb_320.onnx');
    expect(r.format).toBe('onnx');
    expect(r.inputs.map((t) => t.shape)).toEqual([[1, 3, 240, 320]]);
    expect(r.outputs.map((t) => t.name)).toEqual(['scores', 'boxes']);
    expect(r.operators.length).toBe(242);
    expect(r.totals.macs).toBeGreaterThan(0);
    expect(r.operators.filter((o) => o.opcode === 'Conv' && o.macs === 0)).toEqual([]);
  });

  it('the table names the sections a person looks for', () => {
    const text = formatInspect(inspectModel(sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'), 'm.tflite'));
    for (const s of ['Inputs', 'Outputs', 'Operators (31)', 'Totals', 'MACs        13,570,304 (13.6 M)', 'labels      1001 (imagenet_labels.txt)', 'types       uint8-legacy']) {
      expect(text).toContain(s);
    }
  });

  it('EXPECTED FAILURE - a missing file is REEF_MODEL_NOT_FOUND naming it', async () => {
    await expect(inspectCommand('/nonexistent/x.tflite', {}, { out: () => {}, err: () => {} })).rejects.toMatchObject({
      code: 'REEF_MODEL_NOT_FOUND',
      message: 'cannot read model /nonexistent/x.tflite: no such file',
    });
  });
});

describe('generated schema code', () => {
  it('is current with schema/*.fbs (run `npx tsx schema/generate.ts` after editing them)', () => {
    for (const [fbs, ts] of [['tflite_schema.fbs', 'schema.generated.ts'], ['metadata_schema.fbs', 'metadata_schema.generated.ts']] as const) {
      const spec = parseFbs(readFileSync(join(REPO_ROOT, 'schema', fbs), 'utf8'));
      expect(generateTypeScript(spec, `schema/${fbs}`)).toBe(readFileSync(join(REPO_ROOT, 'src/model/tflite', ts), 'utf8'));
    }
  });
});
