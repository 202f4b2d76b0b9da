/**
 * The ONNX reader: the shared ONNX models (I/O from the model sources' documentation) and the
 * ONNX operator conformance suite from Debian's libonnx-testdata (932 models).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isReefError } from '../../src/errors.js';
import { inspectOnnx } from '../../src/inspect/report.js';
import { readOnnx, resolveExternalData } from '../../src/model/onnx/reader.js';
import { sharedBytes } from '../shared.js';

const TESTDATA = '/usr/share/libonnx-testdata/data/node';

describe('readOnnx on the shared models', () => {
  it('ultraface_rfb_320: input [1,3,240,320], outputs scores [1,4420,2] and boxes [1,4420,4]', () => {
    const m = readOnnx(sharedBytes('models/onnx/ultraface_rfb_320.onnx'));
    const g = m.graph;
    const inits = new Set(g.initializers.map((t) => t.name));
    expect(g.inputs.filter((v) => !inits.has(v.name)).map((v) => [v.dtype, v.shape])).toEqual([['float32', [1, 3, 240, 320]]]);
    expect(g.outputs.map((v) => [v.name, v.shape])).toEqual([['scores', [1, 4420, 2]], ['boxes', [1, 4420, 4]]]);
  });

  it('fastestdet_352: input [1,3,352,352], output [1,85,22,22]', () => {
    const m = readOnnx(sharedBytes('models/onnx/fastestdet_352.onnx'));
    const inits = new Set(m.graph.initializers.map((t) => t.name));
    expect(m.graph.inputs.filter((v) => !inits.has(v.name)).map((v) => v.shape)).toEqual([[1, 3, 352, 352]]);
    expect(m.graph.outputs.map((v) => v.shape)).toEqual([[1, 85, 22, 22]]);
  });

  it('mnist_opset8: opset 8, Conv/MaxPool/MatMul CNN; weights in Constant nodes; MACs by hand', () => {
    const m = readOnnx(sharedBytes('models/onnx/mnist_opset8.onnx'));
    expect(m.opsets['']).toBe(8);
    expect(m.graph.inputs.map((v) => [v.name, v.shape])).toEqual([['Input3', [1, 1, 28, 28]]]);
    expect(m.graph.outputs.map((v) => v.shape)).toEqual([[1, 10]]);
    expect(m.graph.nodes.filter((n) => n.opType === 'Conv').length).toBe(2);
    const r = inspectOnnx(m, 25838);
    // conv1 28*28*8 outputs x 5*5*1 = 156,800; conv2 14*14*16 x 5*5*8 = 627,200; MatMul 10 x 256 = 2,560.
    expect(r.totals.macs).toBe(156_800 + 627_200 + 2_560);
    // 8*1*5*5 + 8 + 16*8*5*5 + 16 + 256*10 + 10 weights and biases (int64 shape constants excluded).
    expect(r.totals.params).toBe(208 + 3216 + 2570);
  });

  it('EXPECTED FAILURE - truncated and corrupt ONNX bytes name the field', () => {
    const b = sharedBytes('models/onnx/mnist_opset8.onnx');
    expect(() => readOnnx(b.subarray(0, 3000))).toThrow(expect.objectContaining({
      code: 'REEF_MODEL_INVALID',
      message: expect.stringMatching(/^Invalid ONNX model: ModelProto\.graph: \d+-byte field at byte \d+ runs past the end of its \d+-byte message$/),
    }));
    expect(() => readOnnx(new Uint8Array(0))).toThrow(expect.objectContaining({ message: 'Invalid ONNX model: ModelProto: the file is empty' }));
    expect(() => readOnnx(new Uint8Array([0x08, 0x07]))).toThrow(expect.objectContaining({
      message: 'Invalid ONNX model: ModelProto: has no graph (field 7): not an ONNX model, or truncated before the graph',
    }));
  });

  it('EXPECTED FAILURE - external data that is missing is explained', () => {
    const m = readOnnx(sharedBytes('models/onnx/mnist_opset8.onnx'));
    m.graph.initializers.push({ name: 'w', dataType: 1, dtype: 'float32', dims: [4], external: { location: 'w.bin', offset: 0, length: 16 } });
    expect(() => resolveExternalData(m, '/nonexistent-dir')).toThrow(expect.objectContaining({
      code: 'REEF_MODEL_INVALID',
      message: "Invalid ONNX model: initializer 'w': external data file 'w.bin' is missing (looked for /nonexistent-dir/w.bin); keep the .onnx and its data files together",
    }));
    m.graph.initializers[m.graph.initializers.length - 1]!.external = { location: '../etc/passwd' };
    expect(() => resolveExternalData(m, '/tmp')).toThrow(expect.objectContaining({
      message: "Invalid ONNX model: initializer 'w': external data location '../etc/passwd' must be a relative path inside the model's folder",
    }));
  });
});

describe('libonnx-testdata: the ONNX operator conformance suite', () => {
  it('every model parses, or fails with REEF_MODEL_INVALID naming the path', () => {
    if (!existsSync(TESTDATA)) {
      throw new Error(`test data missing: ${TESTDATA} (install the Debian package libonnx-testdata)`);
    }
    const cases = readdirSync(TESTDATA).sort();
    expect(cases.length).toBe(932);
    const failures: string[] = [];
    let parsed = 0;
    const ops = new Set<string>();
    for (const c of cases) {
      const path = join(TESTDATA, c, 'model.onnx');
      try {
        const m = readOnnx(readFileSync(path));
        for (const n of m.graph.nodes) ops.add(n.opType);
        expect(m.graph.nodes.length, path).toBeGreaterThan(0);
        parsed++;
      } catch (e) {
        if (!isReefError(e, 'REEF_MODEL_INVALID')) throw new Error(`${path}: ${String(e)}`, { cause: e });
        failures.push(`${path}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(parsed).toBe(932);
    // The suite covers the operator set: spot-check that ops are decoded by name.
    for (const op of ['Conv', 'Gemm', 'MatMul', 'LSTM', 'Resize', 'Loop', 'If', 'Scan']) expect(ops.has(op), op).toBe(true);
  });
});
