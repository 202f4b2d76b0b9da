/**
 * The TFLite reader against the real shared models. Expected values come from `flatc --json`
 * (the FlatBuffers project's own decoder, run on the same bytes) and from the model sources,
 * never from reef's reader itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeFlatbuffer } from '../../src/model/fbs/decode.js';
import type { SchemaSpec, TableSpec, TypeSpec } from '../../src/model/fbs/spec.js';
import { readTflite, validateTflite } from '../../src/model/tflite/reader.js';
import { SCHEMA } from '../../src/model/tflite/schema.generated.js';
import { REPO_ROOT, sharedBytes, sharedPath } from '../shared.js';
import { allTfliteModels } from './helpers.js';

describe('readTflite on the shared models', () => {
  it('reads every shared .tflite model', () => {
    const models = allTfliteModels();
    expect(models.length).toBe(80); // 13 in tflite/, 55 in tflite/ops/, 12 in edgetpu/
    for (const rel of models) expect(() => readTflite(sharedBytes(rel)), rel).not.toThrow();
  });

  it('hello_world_int8: tensors, per-tensor quantization, options and signature (values from flatc)', () => {
    const m = readTflite(sharedBytes('models/tflite/hello_world_int8.tflite'));
    expect(m.version).toBe(3);
    expect(m.description).toBe('MLIR Converted.');
    const sg = m.subgraphs[0]!;
    expect(sg.tensors.length).toBe(10);
    expect(sg.inputs).toEqual([0]);
    expect(sg.outputs).toEqual([9]);
    const t0 = sg.tensors[0]!;
    expect(t0.name).toBe('serving_default_dense_input:0');
    expect(t0.dtype).toBe('int8');
    expect(t0.shape).toEqual([1, 1]);
    expect(t0.shapeSignature).toEqual([-1, 1]);
    expect(t0.quantization!.scale[0]).toBeCloseTo(0.02448, 5);
    expect(t0.quantization!.zeroPoint).toEqual([-128]);
    expect(sg.tensors[9]!.quantization!.zeroPoint).toEqual([5]);
    expect(sg.operators.map((o) => [o.opcode, o.version, o.inputs, o.outputs])).toEqual([
      ['FULLY_CONNECTED', 4, [0, 6, 5], [7]],
      ['FULLY_CONNECTED', 4, [7, 4, 3], [8]],
      ['FULLY_CONNECTED', 4, [8, 2, 1], [9]],
    ]);
    expect(sg.operators[0]!.builtinOptions).toEqual({
      type: 'FullyConnectedOptions',
      value: { fusedActivationFunction: 1, weightsFormat: 0, keepNumDims: false, asymmetricQuantizeInputs: false, quantizedBiasType: 0 },
    });
    expect(m.signatureDefs).toEqual([
      { signatureKey: 'serving_default', subgraphIndex: 0, inputs: [{ name: 'dense_input', tensorIndex: 0 }], outputs: [{ name: 'dense_2', tensorIndex: 9 }] },
    ]);
    expect(m.metadata.map((e) => e.name)).toEqual(['min_runtime_version', 'CONVERSION_METADATA']);
    // Buffers are views into the file, not copies.
    const bytes = sharedBytes('models/tflite/hello_world_int8.tflite');
    const m2 = readTflite(bytes);
    const w = m2.buffers[m2.subgraphs[0]!.tensors[4]!.buffer]!;
    expect(w.length).toBe(256);
    expect(w.buffer).toBe(bytes.buffer);
  });

  it('tf2 MobileNet v2: per-axis int8 weights with quantized_dimension 0', () => {
    const m = readTflite(sharedBytes('models/edgetpu/tf2_mobilenet_v2_1.0_224_ptq.tflite'));
    const sg = m.subgraphs[0]!;
    expect([sg.tensors.length, sg.operators.length, m.buffers.length]).toEqual([177, 68, 180]);
    const w = sg.tensors.find((t) => t.name.startsWith('MobileNetV2/Conv2d_0_0/Conv2D;'))!;
    expect(w.shape).toEqual([32, 3, 3, 3]);
    expect(w.dtype).toBe('int8');
    expect(w.quantization!.quantizedDimension).toBe(0);
    expect(w.quantization!.scale.length).toBe(32);
    expect(w.quantization!.scale[0]).toBeCloseTo(0.009563, 5);
    expect(w.quantization!.scale[1]).toBeCloseTo(0.02724, 4);
    expect(w.quantization!.zeroPoint.slice(0, 2)).toEqual([0, 0]);
  });

  it('mnist_lstm_int8: UNIDIRECTIONAL_SEQUENCE_LSTM with omitted inputs (-1), intermediates and options', () => {
    const m = readTflite(sharedBytes('models/tflite/mnist_lstm_int8.tflite'));
    const op = m.subgraphs[0]!.operators[0]!;
    expect(op.opcode).toBe('UNIDIRECTIONAL_SEQUENCE_LSTM');
    expect(op.inputs).toEqual([0, 15, 14, 13, 12, 11, 10, 9, 8, -1, -1, -1, 7, 6, 5, 4, -1, -1, 16, 17, -1, -1, -1, -1]);
    expect(op.outputs).toEqual([23]);
    expect(op.intermediates).toEqual([18, 19, 20, 21, 22]);
    expect(op.builtinOptions?.type).toBe('UnidirectionalSequenceLSTMOptions');
    expect(op.builtinOptions?.value).toMatchObject({ fusedActivationFunction: 4, cellClip: 10, projClip: 0, timeMajor: false });
    expect(m.subgraphs[0]!.tensors[17]!).toMatchObject({ dtype: 'int16', isVariable: true });
  });

  it('Edge TPU compiled model: one edgetpu-custom-op carrying the compiled code as custom options', () => {
    const m = readTflite(sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite'));
    const sg = m.subgraphs[0]!;
    expect(sg.operators.length).toBe(1);
    const op = sg.operators[0]!;
    expect([op.opcode, op.customCode, op.inputs, op.outputs]).toEqual(['CUSTOM', 'edgetpu-custom-op', [0], [1]]);
    expect(op.customOptions!.length).toBe(778324);
    expect(sg.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['input', 'uint8', [1, 128, 128, 3]],
      ['MobilenetV1/Predictions/Reshape_1', 'uint8', [1, 1001]],
    ]);
  });

  it('SSD: TFLite_Detection_PostProcess custom op with FlexBuffers options, 4 outputs', () => {
    const m = readTflite(sharedBytes('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite'));
    const sg = m.subgraphs[0]!;
    const pp = sg.operators[sg.operators.length - 1]!;
    expect([pp.opcode, pp.customCode, pp.outputs.length]).toEqual(['CUSTOM', 'TFLite_Detection_PostProcess', 4]);
    expect(pp.customOptionsFormat).toBe(0); // FLEXBUFFERS
    expect(pp.customOptions!.length).toBeGreaterThan(0);
    expect(sg.outputs.map((i) => sg.tensors[i]!.name)).toEqual([
      'TFLite_Detection_PostProcess', 'TFLite_Detection_PostProcess:1', 'TFLite_Detection_PostProcess:2', 'TFLite_Detection_PostProcess:3',
    ]);
    expect(m.associatedFiles!.map((f) => [f.name, f.data.length])).toEqual([['labelmap.txt', 661]]);
  });
});

/** Compare reef's decoding of `bytes` with flatc's JSON of the same bytes, field by field. */
function compareWithFlatc(spec: SchemaSpec, mine: unknown, theirs: unknown, path: string, diffs: string[]): void {
  const table = (t: TableSpec, a: Record<string, unknown>, b: Record<string, unknown>, p: string): void => {
    for (const f of t.fields) {
      if (f.deprecated) continue;
      const fp = `${p}.${f.name}`;
      if (f.type.kind === 'union') {
        const bt = b[`${f.name}_type`];
        const av = a[f.key] as { type: string; value: Record<string, unknown> } | undefined;
        if (bt === undefined || bt === 'NONE') { if (av !== undefined) diffs.push(`${fp}: reef has ${av.type}, flatc none`); continue; }
        if (!av || av.type !== bt) { diffs.push(`${fp}: reef ${av?.type} vs flatc ${String(bt)}`); continue; }
        table(spec.tables[av.type]!, av.value, b[f.name] as Record<string, unknown>, fp);
        continue;
      }
      value(f.type, a[f.key], b[f.name], fp);
    }
  };
  const value = (t: TypeSpec, a: unknown, b: unknown, p: string): void => {
    if (diffs.length > 20) return;
    if (t.kind !== 'scalar' && (a === undefined || b === undefined)) {
      if (a !== b) diffs.push(`${p}: reef ${a === undefined ? 'absent' : 'present'}, flatc ${b === undefined ? 'absent' : 'present'}`);
      return;
    }
    switch (t.kind) {
      case 'scalar': {
        let bv: unknown = b;
        if (t.enumName && typeof b === 'string') bv = spec.enums[t.enumName]!.values[b];
        if (t.scalar === 'bool') { if (a !== bv) diffs.push(`${p}: ${String(a)} vs ${String(bv)}`); return; }
        const x = a as number, y = bv as number;
        const ok = t.scalar === 'float' || t.scalar === 'double' ? Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(y)) : x === y;
        if (!ok) diffs.push(`${p}: ${x} vs ${y}`);
        return;
      }
      case 'string': if (a !== b) diffs.push(`${p}: ${String(a)} vs ${String(b)}`); return;
      case 'table': table(spec.tables[t.table]!, a as Record<string, unknown>, b as Record<string, unknown>, p); return;
      case 'vector': {
        const av = Array.from(a as ArrayLike<unknown>), bv = b as unknown[];
        if (av.length !== bv.length) { diffs.push(`${p}: length ${av.length} vs ${bv.length}`); return; }
        av.forEach((x, i) => value(t.element, x, bv[i], `${p}[${i}]`));
        return;
      }
      default: return;
    }
  };
  table(spec.tables[spec.rootType]!, mine as Record<string, unknown>, theirs as Record<string, unknown>, path);
}

describe('decoding agrees with flatc (the FlatBuffers reference decoder)', () => {
  it('every field of every shared model under 200 KB matches `flatc --json --defaults-json`', () => {
    if (!existsSync('/usr/bin/flatc')) {
      throw new Error('flatc missing: /usr/bin/flatc (install the Debian package flatbuffers-compiler)');
    }
    const schema = join(REPO_ROOT, 'schema', 'tflite_schema.fbs');
    const small = allTfliteModels().filter((rel) => statSync(sharedPath(rel)).size < 200_000);
    expect(small.length).toBe(65);
    const out = mkdtempSync(join(tmpdir(), 'reef-flatc-'));
    try {
      execFileSync('flatc', ['-o', out, '--json', '--raw-binary', '--strict-json', '--defaults-json', schema, '--', ...small.map(sharedPath)]);
      for (const rel of small) {
        const theirs = JSON.parse(readFileSync(join(out, basename(rel).replace(/\.tflite$/, '.json')), 'utf8')) as unknown;
        const mine = decodeFlatbuffer(SCHEMA, sharedBytes(rel));
        const diffs: string[] = [];
        compareWithFlatc(SCHEMA, mine, theirs, rel, diffs);
        expect(diffs, rel).toEqual([]);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('validateTflite: bad bytes are refused with REEF_MODEL_INVALID naming what and where', () => {
  const err = (bytes: Uint8Array): unknown => {
    try {
      validateTflite(bytes);
    } catch (e) {
      return e;
    }
    return undefined;
  };
  const hello = (): Uint8Array => new Uint8Array(sharedBytes('models/tflite/hello_world_int8.tflite'));

  it('BAD CALL - empty and tiny inputs', () => {
    expect(err(new Uint8Array(0))).toMatchObject({ code: 'REEF_MODEL_INVALID', message: 'Invalid TFLite model: Model: file is 0 bytes, too short to hold a flatbuffer (at least 8)' });
    expect(err(new Uint8Array(5))).toMatchObject({ code: 'REEF_MODEL_INVALID', message: 'Invalid TFLite model: Model: file is 5 bytes, too short to hold a flatbuffer (at least 8)' });
  });

  it('EXPECTED FAILURE - wrong file identifier (an ONNX file, a JPEG)', () => {
    expect(err(sharedBytes('models/onnx/mnist_opset8.onnx'))).toMatchObject({
      code: 'REEF_MODEL_INVALID',
      message: expect.stringMatching(/^Invalid TFLite model: Model: wrong file identifier ".*" at byte 4 \(expected "TFL3"\)$/),
    });
    const b = hello();
    b.set([0x54, 0x46, 0x4c, 0x32], 4); // "TFL2"
    expect(err(b)).toMatchObject({ message: 'Invalid TFLite model: Model: wrong file identifier "TFL2" at byte 4 (expected "TFL3")' });
  });

  it('EXPECTED FAILURE - truncated file names the field that runs out', () => {
    const e = err(hello().subarray(0, 1500)) as Error;
    expect(e).toMatchObject({ code: 'REEF_MODEL_INVALID' });
    expect(e.message).toMatch(/^Invalid TFLite model: Model\.[a-z_.[\]0-9]+.* (is outside the 1500-byte file|points outside the 1500-byte file)/);
  });

  it('EXPECTED FAILURE - root offset past the end', () => {
    const b = hello();
    new DataView(b.buffer).setUint32(0, 0x7fffffff, true);
    expect(err(b)).toMatchObject({ message: `Invalid TFLite model: Model: offset 2147483647 at byte 0 points outside the ${b.length}-byte file` });
  });
});

describe('FlexBuffers custom options', () => {
  it('TFLite_Detection_PostProcess parameters decode as flatc --flexbuffers shows them', async () => {
    const { decodeFlexbuffer } = await import('../../src/model/flexbuffer.js');
    const m = readTflite(sharedBytes('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite'));
    const opts = decodeFlexbuffer(m.subgraphs[0]!.operators.at(-1)!.customOptions!) as Record<string, number | boolean>;
    // flatc --json --flexbuffers: { _output_quantized: true, h_scale: 5.0, max_classes_per_detection: 1, max_detections: 10,
    //   nms_iou_threshold: 0.600000023842, nms_score_threshold: 0.00000001, num_classes: 90, w_scale: 5.0, x_scale: 10.0, y_scale: 10.0 }
    expect(Object.keys(opts)).toEqual(['_output_quantized', 'h_scale', 'max_classes_per_detection', 'max_detections', 'nms_iou_threshold', 'nms_score_threshold', 'num_classes', 'w_scale', 'x_scale', 'y_scale']);
    expect(opts).toMatchObject({ _output_quantized: true, h_scale: 5, max_classes_per_detection: 1, max_detections: 10, num_classes: 90, w_scale: 5, x_scale: 10, y_scale: 10 });
    expect(opts['nms_iou_threshold']).toBeCloseTo(0.600000023842, 9);
    expect(opts['nms_score_threshold']).toBeCloseTo(1e-8, 12);
  });

  it('EXPECTED FAILURE - truncated FlexBuffers are refused, not read out of range', async () => {
    const { decodeFlexbuffer } = await import('../../src/model/flexbuffer.js');
    const m = readTflite(sharedBytes('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite'));
    const b = m.subgraphs[0]!.operators.at(-1)!.customOptions!;
    expect(() => decodeFlexbuffer(b.subarray(b.length - 40))).toThrow('root: offset target at byte -13 (0 bytes) is outside the 40-byte buffer');
  });
});
