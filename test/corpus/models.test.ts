/**
 * The corpus test (issue 9's acceptance): every TFLite model in ../shared/models either runs through
 * reef with the output shapes and values TensorFlow Lite itself gives for the same input, or fails
 * with a documented code that says why; the ONNX models run on the onnxruntime backend. The reference is TFLite through tfjs-tflite-node's binding
 * (test/reference/), which runs TFLite's built-in kernels, so reef runs each model with
 * `xnnpack: false` for the bit-exact comparison; reef's default (XNNPACK, with its fallback) must
 * load and run each model too, with the same shapes and values within XNNPACK's rounding.
 * Set REEF_CORPUS_TABLE=1 to print the per-model table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load, type Session } from '../../src/index.js';
import { isReefError } from '../../src/errors.js';
import { mulberry32, randomTensor } from '../../src/bench/inputs.js';
import type { Tensor, TypedArray } from '../../src/types.js';
import { tfliteCReference, tfliteReferences, type ReferenceResult } from '../reference/tflite.js';
import { sharedPath } from '../shared.js';

/** Every model file under ../shared/models, relative to it. */
function corpus(): string[] {
  const root = sharedPath('models');
  const out: string[] = [];
  for (const dir of ['tflite', 'tflite/ops', 'edgetpu', 'onnx']) {
    for (const f of readdirSync(join(root, dir)).sort()) if (/\.(tflite|onnx)$/.test(f)) out.push(join(dir, f));
  }
  return out;
}

/** The models reef refuses, and the code that says why (TFLite itself cannot run them either). */
const REFUSED: Record<string, { code: string; why: string }> = {};
for (const m of ['blazeface_front_quant', 'deeplabv3_mnv2_dm05_pascal_quant', 'keras_lstm_mnist_ptq', 'mobilenet_v1_0.25_128_quant', 'mobilenet_v1_0.5_160_quant', 'split_concat']) {
  REFUSED[`edgetpu/${m}_edgetpu.tflite`] = { code: 'REEF_EDGETPU_RUNTIME_MISSING', why: 'compiled for the Edge TPU: needs libedgetpu and a Coral device (none here)' };
}
REFUSED['tflite/invalid_model_invoking_error.tflite'] = { code: 'REEF_CUSTOM_OP_UNRESOLVED', why: 'custom op "fake-op-double" (built to fail)' };

/**
 * ONNX models run on the onnxruntime backend, not TFLite: their output shapes are the ones their
 * authors publish (../shared/README.md), and MNIST's outputs are the onnx/models reference outputs.
 */
const ONNX_SHAPES: Record<string, number[][]> = {
  'onnx/fastestdet_352.onnx': [[1, 85, 22, 22]],
  'onnx/mnist_opset8.onnx': [[1, 10]],
  'onnx/ultraface_rfb_320.onnx': [[1, 4420, 2], [1, 4420, 4]],
};

interface Row {
  model: string;
  outcome: string;
  detail: string;
}

const bytesOf = (a: TypedArray): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Largest |a - b| over the outputs, relative to the largest |b| (floats) or in quantization steps (integers). */
function maxDiff(mine: Tensor, ref: TypedArray): number {
  const a = mine.data as unknown as ArrayLike<number | bigint>;
  const b = ref as unknown as ArrayLike<number | bigint>;
  let d = 0, top = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(Number(a[i]) - Number(b[i])));
    top = Math.max(top, Math.abs(Number(b[i])));
  }
  return mine.dtype.startsWith('float') ? d / Math.max(top, 1e-6) : d;
}

async function runReef(path: string, xnnpack: boolean, feeds: (s: Session) => TypedArray[]): Promise<{ session: Session; outputs: Tensor[]; inputs: TypedArray[] } | { code: string; message: string }> {
  let session: Session;
  try {
    session = await load(path, { xnnpack, threads: 1 });
  } catch (e) {
    if (isReefError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  try {
    const inputs = feeds(session);
    const out = await session.run(inputs);
    return { session, outputs: session.outputs.map((t) => out[t.name]!), inputs };
  } finally {
    await session.dispose();
  }
}

/** An ONNX model on the onnxruntime backend: published output shapes; MNIST's reference outputs. */
async function checkOnnx(model: string, path: string, feeds: (s: Session) => TypedArray[]): Promise<Row> {
  const r = await runReef(path, false, feeds);
  if ('code' in r) throw new Error(`${model}: ${r.code}: ${r.message}`);
  expect(r.outputs.map((o) => o.shape), model).toEqual(ONNX_SHAPES[model]);
  let detail = `${r.outputs.map((o) => `${o.dtype}[${o.shape.join(',')}]`).join(' ')} (${r.session.delegate.reason.split(' runs')[0]})`;
  if (model === 'onnx/mnist_opset8.onnx') {
    const ref = (JSON.parse(readFileSync(sharedPath('models/onnx/mnist_reference.json'), 'utf8')) as Record<string, { inputs: { data: number[] }; outputs: { data: number[] } }>)['test_data_0.npz']!;
    const session = await load(path);
    try {
      const out = (await session.run([Float32Array.from(ref.inputs.data)]))[session.outputs[0]!.name]!;
      const diff = Math.max(...ref.outputs.data.map((v, i) => Math.abs(v - (out.data as Float32Array)[i]!)));
      expect(diff, 'MNIST vs the onnx/models reference outputs').toBeLessThan(1e-4);
      detail += `; reference outputs of onnx/models: max diff ${diff.toExponential(1)}`;
    } finally {
      await session.dispose();
    }
  }
  return { model, outcome: 'runs (onnxruntime)', detail };
}

describe('corpus: every model in ../shared/models runs as TFLite runs it, or is refused with a code that says why', () => {
  it('all models', async () => {
    const models = corpus();
    const rows: Row[] = [];
    const ran: Array<{ model: string; builtin: { session: Session; outputs: Tensor[]; inputs: TypedArray[] }; xnn: Awaited<ReturnType<typeof runReef>> }> = [];
    for (const model of models) {
      const path = sharedPath(`models/${model}`);
      let inputs: TypedArray[] | undefined;
      const feeds = (s: Session): TypedArray[] => {
        const rng = mulberry32(1234);
        inputs ??= s.inputs.map((t) => randomTensor(t, rng));
        return inputs;
      };
      if (model.endsWith('.onnx')) {
        rows.push(await checkOnnx(model, path, feeds));
        continue;
      }
      const builtin = await runReef(path, false, feeds);
      const xnn = await runReef(path, true, feeds);
      if ('code' in builtin) {
        expect(REFUSED[model], `${model} was refused: ${builtin.code}: ${builtin.message}`).toBeDefined();
        expect(builtin.code, `${model}: ${builtin.message}`).toBe(REFUSED[model]!.code);
        expect('code' in xnn && xnn.code, model).toBe(REFUSED[model]!.code);
        rows.push({ model, outcome: builtin.code, detail: REFUSED[model]!.why });
        continue;
      }
      expect(REFUSED[model], `${model} ran, but the table says it is refused`).toBeUndefined();
      if ('code' in xnn) throw new Error(`${model}: runs with TFLite's kernels but not by default: ${xnn.code}: ${xnn.message}`);
      ran.push({ model, builtin, xnn });
    }
    // TFLite's own results: through tfjs-tflite-node's binding in one child process, or, for
    // outputs sized at invoke (which that binding overruns), through TFLite's C API.
    const viaBinding = tfliteReferences(ran.map((r) => ({ model: sharedPath(`models/${r.model}`), inputs: r.builtin.inputs })));
    const crashed = viaBinding.map((r) => !r.ok && r.error.startsWith('reference process'));
    const refs: ReferenceResult[] = ran.map((r, k) => (crashed[k] ? tfliteCReference(sharedPath(`models/${r.model}`), r.builtin.inputs) : viaBinding[k]!));
    // Only the model whose outputs are sized at invoke needs the second way (the binding overruns them).
    expect(ran.filter((_, k) => crashed[k]).map((r) => r.model)).toEqual(['tflite/ultraface_slim_320.tflite']);
    ran.forEach(({ model, builtin, xnn }, k) => {
      const ref = refs[k]!;
      if (!ref.ok) throw new Error(`${model}: reef runs it but the TFLite reference failed: ${ref.error}`);
      const x = xnn as { session: Session; outputs: Tensor[] };
      expect(ref.outputs.map((o) => o.shape), `${model}: output shapes`).toEqual(builtin.outputs.map((o) => o.shape));
      expect(x.outputs.map((o) => o.shape), `${model}: output shapes by default (${x.session.delegate.name})`).toEqual(builtin.outputs.map((o) => o.shape));
      builtin.outputs.forEach((o, i) => {
        expect(bytesOf(o.data).equals(Buffer.from(ref.outputs[i]!.bytes)), `${model}: output ${i} bytes equal TFLite's`).toBe(true);
      });
      const diffs = x.outputs.map((o, i) => maxDiff(o, builtin.outputs[i]!.data));
      x.outputs.forEach((o, i) => {
        // XNNPACK rounds differently from TFLite's kernels: floats within 1% of the output's range, integers within 12 steps (kernels differ by CPU).
        expect(diffs[i]!, `${model}: output ${i} by default (${x.session.delegate.name}) vs TFLite`).toBeLessThanOrEqual(o.dtype.startsWith('float') ? 1e-2 : 12);
      });
      const exact = diffs.every((d) => d === 0);
      rows.push({
        model, outcome: 'same as TFLite',
        detail: `${crashed[k] ? '(outputs sized at invoke; reference: TFLite C API) ' : ''}${builtin.outputs.map((o) => `${o.dtype}[${o.shape.join(',')}]`).join(' ')}; default ${x.session.delegate.name}: ${exact ? 'bit-exact' : `max diff ${diffs.map((d) => (d < 1 ? d.toExponential(1) : String(d))).join(', ')}`}`,
      });
    });
    if (process.env.REEF_CORPUS_TABLE) console.log(['| model | outcome | detail |', '|---|---|---|', ...rows.sort((a, b) => a.model.localeCompare(b.model)).map((r) => `| ${r.model} | ${r.outcome} | ${r.detail} |`)].join('\n'));
    expect(rows.length).toBe(models.length);
    expect(rows.filter((r) => r.outcome === 'same as TFLite').length).toBe(models.length - Object.keys(REFUSED).length - Object.keys(ONNX_SHAPES).length);
  }, 240_000);
});
