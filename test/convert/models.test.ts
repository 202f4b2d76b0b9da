/**
 * reef convert on the three shared ONNX models, end to end: converted, checked against
 * onnxruntime (an independent runtime), and for mnist against the reference outputs shipped
 * with the model. Plus the exact error codes of bad inputs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertOnnxFile, convertOnnx, checkConversion } from '../../src/convert/index.js';
import { bisectMismatch } from '../../src/convert/bisect.js';
import { readOnnx } from '../../src/model/onnx/reader.js';
import { encodeOnnxModel } from '../../src/model/onnx/writer.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { load } from '../../src/runtime/session.js';
import { cli } from '../cli.js';
import { sharedBytes, sharedPath } from '../shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'reef-convert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function opcodes(bytes: Uint8Array): string[] {
  return readTflite(bytes).subgraphs[0]!.operators.map((o) => o.opcode);
}

describe('reef convert: the shared models', () => {
  it('mnist_opset8 reproduces mnist_reference.json through reef\'s TFLite runtime', async () => {
    const r = await convertOnnxFile(sharedPath('models/onnx/mnist_opset8.onnx'), { samples: 2 });
    expect(r.check!.ok).toBe(true);
    expect(r.report.transposes.total).toBe(0);
    expect(r.report.inputs).toEqual([{ name: 'Input3', onnxShape: [1, 1, 28, 28], tfliteShape: [1, 28, 28, 1], perm: [0, 2, 3, 1] }]);
    // Flatten->MatMul became FULLY_CONNECTED on the NHWC feature map (weights rows permuted, no TRANSPOSE),
    // and the Add of its bias vector folded into it.
    expect(opcodes(r.bytes)).toEqual(['CONV_2D', 'ADD', 'MAX_POOL_2D', 'CONV_2D', 'ADD', 'MAX_POOL_2D', 'RESHAPE', 'FULLY_CONNECTED']);
    expect(r.report.biasAddsFused).toBe(1);
    const ref = JSON.parse(readFileSync(sharedPath('models/onnx/mnist_reference.json'), 'utf8')) as Record<string, { inputs: { data: number[] }; outputs: { data: number[] } }>;
    const s = await load(r.bytes);
    try {
      for (const [, c] of Object.entries(ref)) {
        const out = await s.run([Float32Array.from(c.inputs.data)]);
        const got = Array.from(out[s.outputs[0]!.name]!.data as Float32Array);
        got.forEach((v, i) => expect(Math.abs(v - c.outputs.data[i]!)).toBeLessThan(1e-3));
        expect(got.indexOf(Math.max(...got))).toBe(c.outputs.data.indexOf(Math.max(...c.outputs.data)));
      }
    } finally {
      await s.dispose();
    }
  });

  it('ultraface_rfb_320: BatchNorms folded, Shape/Gather/Unsqueeze/Concat folded, no TRANSPOSE, boxes and scores match onnxruntime', async () => {
    const r = await convertOnnxFile(sharedPath('models/onnx/ultraface_rfb_320.onnx'), { samples: 2 });
    expect(r.report.batchNormsFolded).toBe(35);
    expect(r.report.padsFolded).toBe(1); // the first convolution's: the depthwise ones keep their PAD
    expect(r.report.transposes).toEqual({ total: 0, edge: 0, inner: 0, at: [] });
    const ops = opcodes(r.bytes);
    expect(ops).not.toContain('TRANSPOSE');
    expect(ops.filter((o) => o === 'CONV_2D' || o === 'DEPTHWISE_CONV_2D')).toHaveLength(52);
    expect(r.report.outputs.map((o) => [o.name, o.tfliteShape])).toEqual([['scores', [1, 4420, 2]], ['boxes', [1, 4420, 4]]]);
    for (const o of r.check!.outputs) {
      expect(o.ok).toBe(true);
      expect(o.maxAbs).toBeLessThan(1e-4);
      expect(o.cosine).toBeGreaterThan(0.99999);
    }
  });

  it('fastestdet_352: channel shuffles become channel-selecting 1x1 convolutions (no 5-D tensor, no TRANSPOSE), NHWC grid output matches onnxruntime', async () => {
    const r = await convertOnnxFile(sharedPath('models/onnx/fastestdet_352.onnx'), { samples: 2 });
    const m = readTflite(r.bytes);
    const ops = m.subgraphs[0]!.operators.map((o) => o.opcode);
    expect(ops).not.toContain('TRANSPOSE');
    expect(ops).not.toContain('GATHER');
    expect(ops).not.toContain('STRIDED_SLICE');
    expect(ops).not.toContain('PADV2'); // MaxPool after ReLU pads with 0, not -FLT_MAX (quantizable)
    expect(ops.filter((o) => o === 'CONV_2D')).toHaveLength(42 + 26);
    expect(r.report.pointwiseComposed).toBe(0);
    expect(r.report.padsFolded).toBe(1);
    expect(ops.filter((o) => o === 'PAD')).toHaveLength(8);
    expect(Math.max(...m.subgraphs[0]!.tensors.map((t) => t.shape.length))).toBe(4);
    expect(r.report.outputs).toEqual([{ name: '758', onnxShape: [1, 85, 22, 22], tfliteShape: [1, 22, 22, 85], perm: [0, 2, 3, 1] }]);
    expect(r.check!.outputs[0]!.ok).toBe(true);
    expect(r.check!.outputs[0]!.maxAbs).toBeLessThan(1e-3);
  });

  it('--keep-nchw-io: NCHW input and output, one TRANSPOSE at each edge and none inside', async () => {
    const r = await convertOnnxFile(sharedPath('models/onnx/fastestdet_352.onnx'), { keepNchwIo: true, samples: 1 });
    expect(r.report.inputs[0]!.tfliteShape).toEqual([1, 3, 352, 352]);
    expect(r.report.outputs[0]!.tfliteShape).toEqual([1, 85, 22, 22]);
    expect(r.report.transposes.total).toBe(2);
    expect(r.report.transposes.edge).toBe(2);
    expect(r.check!.ok).toBe(true);
  });
});

describe('reef quantize model.onnx: converted, checked, then quantized in one step', () => {
  it('mnist: an int8 TFLite model whose top-1 matches mnist_reference.json', async () => {
    const out = join(tmp, 'mnist_int8.tflite');
    const r = await cli('quantize', sharedPath('models/onnx/mnist_opset8.onnx'), '--calib', sharedPath('images/mnist'), '--mean', '0', '--std', '255', '--eval', '0', '-o', out);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^converted .*mnist_opset8\.onnx to TFLite \(0 TRANSPOSE ops; check vs onnxruntime: Plus214_Output_0 max\|diff\| /m);
    const s = await load(out);
    try {
      expect(s.inputs[0]).toMatchObject({ dtype: 'int8', shape: [1, 28, 28, 1] });
      const ref = JSON.parse(readFileSync(sharedPath('models/onnx/mnist_reference.json'), 'utf8')) as Record<string, { inputs: { data: number[] }; outputs: { data: number[] } }>;
      const { quantize, dequantize } = await import('../../src/quant.js');
      for (const c of Object.values(ref)) {
        const q = s.inputs[0]!.quantization, oq = s.outputs[0]!.quantization;
        const o = await s.run([quantize(Float32Array.from(c.inputs.data), q, 'int8')]);
        const got = Array.from(dequantize(o[s.outputs[0]!.name]!.data as Int8Array, oq));
        expect(got.indexOf(Math.max(...got))).toBe(c.outputs.data.indexOf(Math.max(...c.outputs.data)));
      }
    } finally {
      await s.dispose();
    }
  });
});

describe('reef bench on an .onnx model, both ways', () => {
  it('--backend onnx (the default) runs onnxruntime; --backend tflite runs reef\'s converted model; wrong pairings are refused', async () => {
    const onnx = sharedPath('models/onnx/mnist_opset8.onnx');
    const a = await cli('bench', onnx, '--runs', '5', '--warmup', '1', '--json');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out)).toMatchObject({ model: onnx, backend: 'onnxruntime', delegate: 'none', runs: 5 });
    const b = await cli('bench', onnx, '--backend', 'tflite', '--runs', '5', '--warmup', '1', '--json');
    expect(b.code).toBe(0);
    expect(JSON.parse(b.out)).toMatchObject({ model: expect.stringMatching(/mnist_opset8\.tflite$/), backend: 'tflite-native', delegate: 'xnnpack', runs: 5 });
    const c = await cli('bench', sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite'), '--backend', 'onnx', '--json');
    expect(c.code).toBe(2);
    expect(JSON.parse(c.out).error.code).toBe('REEF_INVALID_ARGUMENT');
    const d = await cli('bench', onnx, '--backend', 'gpu', '--json');
    expect(JSON.parse(d.out).error).toMatchObject({ code: 'REEF_INVALID_ARGUMENT', message: 'Expected tflite or onnx for --backend but received "gpu"' });
  });
});

describe('reef convert: what goes wrong is named', () => {
  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(tmp, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('an op reef does not convert: REEF_CONVERT_UNSUPPORTED_OP with op type, node name and index', () => {
    const bytes = encodeOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'z' }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }, { op: 'Einsum', name: 'my_einsum', inputs: ['y', 'y'], outputs: ['z'], attrs: { equation: 'ij,ij->ij' } }],
    });
    expect(() => convertOnnx(readOnnx(bytes))).toThrow(expect.objectContaining({ code: 'REEF_CONVERT_UNSUPPORTED_OP', message: "ONNX op Einsum (node 1 'my_einsum') is not supported by reef convert" }));
  });

  it('a quantized (QDQ) model: REEF_CONVERT_QUANTIZED_ONNX, advising to convert the float model', () => {
    const bytes = encodeOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y' }],
      initializers: [{ name: 's', dataType: 1, dims: [], values: [0.1] }, { name: 'z', dataType: 3, dims: [], values: [0] }],
      nodes: [{ op: 'QuantizeLinear', name: 'q', inputs: ['x', 's', 'z'], outputs: ['xq'] }, { op: 'DequantizeLinear', name: 'dq', inputs: ['xq', 's', 'z'], outputs: ['y'] }],
    });
    expect(() => convertOnnx(readOnnx(bytes))).toThrow(expect.objectContaining({ code: 'REEF_CONVERT_QUANTIZED_ONNX', message: "This ONNX model is already quantized (node 0 'q' is QuantizeLinear): reef converts float models. Convert the float model and let reef quantize it: reef convert model.onnx -o m.tflite, then reef quantize m.tflite --calib DIR" }));
  });

  it('dynamic input dimensions: REEF_CONVERT_DYNAMIC_SHAPE naming the inputs; --input-shape fixes them', async () => {
    const bytes = encodeOnnxModel({
      inputs: [{ name: 'image', shape: ['batch', 3, 'h', 'w'] }], outputs: [{ name: 'y' }],
      initializers: [{ name: 'w', dataType: 1, dims: [2, 3, 1, 1], values: [1, 2, 3, -1, 0.5, 0.25] }],
      nodes: [{ op: 'Conv', inputs: ['image', 'w'], outputs: ['c'] }, { op: 'Relu', inputs: ['c'], outputs: ['y'] }],
    });
    expect(() => convertOnnx(readOnnx(bytes))).toThrow(expect.objectContaining({
      code: 'REEF_CONVERT_DYNAMIC_SHAPE',
      message: 'TFLite needs fixed input shapes; these inputs have dynamic dimensions: image [batch,3,h,w]. Fix them with --input-shape image=1,3,1,1',
    }));
    const path = write('dyn.onnx', bytes);
    const bad = await cli('convert', path, '-o', join(tmp, 'dyn.tflite'), '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).error.code).toBe('REEF_CONVERT_DYNAMIC_SHAPE');
    const ok = await cli('convert', path, '-o', join(tmp, 'dyn.tflite'), '--input-shape', 'image=1,3,8,6', '--json');
    expect(ok.code).toBe(0);
    const rep = JSON.parse(ok.out);
    expect(rep.report.inputs[0].tfliteShape).toEqual([1, 8, 6, 3]);
    expect(rep.check.outputs[0].ok).toBe(true);
    expect(readTflite(readFileSync(join(tmp, 'dyn.tflite'))).subgraphs[0]!.operators.map((o) => o.opcode)).toEqual(['CONV_2D']);
    const contradict = await cli('convert', path, '-o', join(tmp, 'dyn.tflite'), '--input-shape', 'image=1,4,8,6', '--json');
    expect(JSON.parse(contradict.out).error).toMatchObject({ code: 'REEF_INVALID_ARGUMENT', message: "--input-shape image=1,4,8,6 contradicts the model's fixed dimension 1 (3)" });
    const unknown = await cli('convert', path, '-o', join(tmp, 'dyn.tflite'), '--input-shape', 'nope=1,3,8,6', '--json');
    expect(JSON.parse(unknown.out).error).toMatchObject({ code: 'REEF_INVALID_ARGUMENT', message: "--input-shape names 'nope', which is not an input of this model (inputs: image)" });
    const malformed = await cli('convert', path, '-o', join(tmp, 'dyn.tflite'), '--input-shape', 'image=1,x', '--json');
    expect(malformed.code).toBe(2);
    expect(JSON.parse(malformed.out).error.code).toBe('REEF_INVALID_ARGUMENT');
  });

  it('a missing model, a folder, a non-ONNX file and a missing -o get their codes', async () => {
    const missing = await cli('convert', join(tmp, 'nope.onnx'), '-o', join(tmp, 'x.tflite'), '--json');
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out).error.code).toBe('REEF_MODEL_NOT_FOUND');
    const folder = await cli('convert', tmp, '-o', join(tmp, 'x.tflite'), '--json');
    expect(JSON.parse(folder.out).error).toMatchObject({ code: 'REEF_MODEL_NOT_FOUND', message: `Cannot read ONNX model ${tmp}: it is a folder, not a file` });
    const garbage = await cli('convert', write('garbage.onnx', new Uint8Array([0xff, 0xff, 0xff, 0x01])), '-o', join(tmp, 'x.tflite'), '--json');
    expect(JSON.parse(garbage.out).error.code).toBe('REEF_MODEL_INVALID');
    const noOut = await cli('convert', sharedPath('models/onnx/mnist_opset8.onnx'), '--json');
    expect(noOut.code).toBe(2);
    expect(JSON.parse(noOut.out).error.code).toBe('REEF_INVALID_ARGUMENT');
  });

  it('a TFLite model that disagrees with onnxruntime fails the check, and the bisection names the node that diverges', async () => {
    const bytes = sharedBytes('models/onnx/mnist_opset8.onnx');
    const model = readOnnx(bytes);
    const result = convertOnnx(model);
    // Tamper with the second convolution's weights in the converted model.
    const tfl = readTflite(result.bytes);
    const sg = tfl.subgraphs[0]!;
    const conv = sg.operators.filter((o) => o.opcode === 'CONV_2D')[1]!;
    const w = tfl.buffers[sg.tensors[conv.inputs[1]!]!.buffer]!;
    const f = new Float32Array(w.slice().buffer);
    for (let i = 0; i < f.length; i += 3) f[i] = -f[i]!;
    tfl.buffers[sg.tensors[conv.inputs[1]!]!.buffer] = new Uint8Array(f.buffer);
    const { writeTflite } = await import('../../src/model/tflite/writer.js');
    const tampered = { ...result, bytes: writeTflite(tfl) };
    const check = await checkConversion(bytes, tampered, { samples: 1 });
    expect(check.ok).toBe(false);
    const div = await bisectMismatch(bytes, model, tampered, 1);
    const convNodes = model.graph.nodes.map((n, i) => [n.opType, i] as const).filter(([op]) => op === 'Conv');
    expect(div).toMatchObject({ opType: 'Conv', index: convNodes[1]![1] });
  });
});
