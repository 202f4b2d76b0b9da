/**
 * `reef package` with an ONNX model: `--cpu-float model.onnx` is converted to TFLite (and checked
 * against onnxruntime), `--cpu-int8 model.onnx --calib DIR` converted and quantized; the bundle
 * runs and gives the reference outputs shipped with the model (mnist_reference.json, onnx/models).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBundle } from '../../src/runtime/bundle.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { load } from '../../src/runtime/session.js';
import { quantize } from '../../src/quant.js';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-package-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MNIST = sharedPath('models/onnx/mnist_opset8.onnx');
const ref = (JSON.parse(readFileSync(sharedPath('models/onnx/mnist_reference.json'), 'utf8')) as Record<string, { inputs: { data: number[] }; outputs: { data: number[] } }>);

describe('reef package with an ONNX model', () => {
  it('--cpu-float and --cpu-int8 from mnist_opset8.onnx (+ --onnx itself): converted, quantized on 10 digits, and the variants give the reference digits', async () => {
    const out = join(dir, 'mnist.reef');
    const r = await cli('package', '-o', out, '--cpu-float', MNIST, '--cpu-int8', MNIST, '--onnx', MNIST, '--calib', join(sharedPath('images/mnist'), 'sample*.png'),
      '--mean', '0', '--std', '255', '--json');
    expect(r.code).toBe(0);
    const { manifest, files } = readBundle(new Uint8Array(readFileSync(out)));
    expect(manifest.variants.map((v) => [v.name, v.format, v.inputs[0]!.dtype, v.inputs[0]!.shape])).toEqual([
      ['cpu-int8', 'tflite', 'int8', [1, 28, 28, 1]], ['cpu-float', 'tflite', 'float32', [1, 28, 28, 1]], ['onnx', 'onnx', 'float32', [1, 1, 28, 28]],
    ]);
    expect(manifest.variants.find((v) => v.name === 'cpu-int8')!.provenance.source).toBe("mnist_opset8.onnx (converted and quantized by reef)");
    expect(manifest.variants.find((v) => v.name === 'cpu-float')!.provenance.source).toBe("mnist_opset8.onnx (converted by reef)");
    // The quantizer's report travels with the bundle.
    expect(files.has('reports/quantization.json')).toBe(true);
    const f = await load(files.get('models/cpu-float.tflite')!);
    const q = await load(files.get('models/cpu-int8.tflite')!);
    try {
      for (const t of Object.values(ref)) {
        // [1,1,28,28] and [1,28,28,1] hold the same values in the same order (one channel).
        const x = Float32Array.from(t.inputs.data);
        const fo = (await f.run([x]))[f.outputs[0]!.name]!.data as Float32Array;
        t.outputs.data.forEach((v, k) => expect(Math.abs(fo[k]! - v)).toBeLessThan(1e-3));
        const qi = q.inputs[0]!;
        const qo = (await q.run([quantize(x, qi.quantization, 'int8')]))[q.outputs[0]!.name]!.data as Int8Array;
        const top = (a: ArrayLike<number>): number => Array.prototype.indexOf.call(a, Math.max(...Array.from(a)));
        expect(top(qo)).toBe(top(t.outputs.data));
      }
    } finally {
      await f.dispose();
      await q.dispose();
    }
    expect(readTflite(files.get('models/cpu-int8.tflite')!).subgraphs[0]!.tensors.filter((t) => t.dtype === 'float32')).toEqual([]);
  }, 60_000);

  it('BAD INPUT - --cpu-int8 model.onnx without --calib: REEF_INVALID_ARGUMENT, no bundle written', async () => {
    const out = join(dir, 'never.reef');
    const r = await cli('package', '-o', out, '--cpu-int8', MNIST);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`REEF_INVALID_ARGUMENT: Expected calibration data (--calib) to quantize ${MNIST} for --cpu-int8 but received nothing`);
    expect(() => readFileSync(out)).toThrow();
  });
});
