/**
 * Running ONNX's operator conformance cases (Debian's libonnx-testdata, node/<case>/) through
 * reef convert and reef's TFLite runtime: input 0 is fed at run time, every other graph input
 * (weights, shapes, indices, scales) is bound as a constant, as they are in exported models.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertOnnx } from '../../src/convert/convert.js';
import { permuteData } from '../../src/convert/check.js';
import { fromOnnxTensor } from '../../src/convert/array.js';
import { readOnnx, readOnnxTensor } from '../../src/model/onnx/reader.js';
import { load } from '../../src/runtime/session.js';
import { isReefError } from '../../src/errors.js';

export const NODE_DIR = '/usr/share/libonnx-testdata/data/node';

export type Outcome = { status: 'skipped'; why: string } | { status: 'pass'; maxErr: number } | { status: 'mismatch'; detail: string } | { status: 'refused'; code: string; message: string };

export function listCases(prefixes: RegExp): string[] {
  if (!existsSync(NODE_DIR)) throw new Error(`test data missing: ${NODE_DIR} (install Debian's libonnx-testdata: scripts/setup.sh)`);
  return readdirSync(NODE_DIR).filter((c) => prefixes.test(c)).sort();
}

export async function runCase(name: string): Promise<Outcome> {
  const dir = join(NODE_DIR, name);
  const model = readOnnx(new Uint8Array(readFileSync(join(dir, 'model.onnx'))));
  const set = join(dir, 'test_data_set_0');
  const read = (f: string) => readOnnxTensor(new Uint8Array(readFileSync(join(set, f))));
  const g = model.graph;
  const init = new Set(g.initializers.map((t) => t.name));
  const inputs = g.inputs.filter((v) => !init.has(v.name));
  if (inputs.some((v) => v.kind !== 'tensor')) return { status: 'skipped', why: 'sequence/optional inputs' };
  if (inputs.length && read('input_0.pb').dataType !== 1) return { status: 'skipped', why: 'input 0 is not float32 (reef converts float models)' };
  const fed: { name: string; data: Float32Array; shape: number[] }[] = [];
  inputs.forEach((v, k) => {
    const t = read(`input_${k}.pb`);
    t.name = v.name;
    if (k === 0 && t.dataType === 1) {
      const c = fromOnnxTensor(t, v.name);
      fed.push({ name: v.name, data: Float32Array.from(c.data), shape: t.dims });
      v.shape = [...t.dims];
      v.hasShape = true;
    } else {
      g.initializers.push(t);
    }
  });
  g.inputs = g.inputs.filter((v) => init.has(v.name) || fed.some((f) => f.name === v.name));
  let conv;
  try {
    conv = convertOnnx(model);
  } catch (e) {
    if (isReefError(e)) return { status: 'refused', code: e.code, message: e.message };
    throw e;
  }
  const session = await load(conv.bytes, { threads: 1 });
  try {
    const feeds = fed.map((f) => permuteData(f.data, f.shape, conv.report.inputs.find((i) => i.name === f.name)!.perm));
    const out = await session.run(feeds);
    let maxErr = 0;
    for (const [k, io] of conv.report.outputs.entries()) {
      const want = fromOnnxTensor(read(`output_${k}.pb`), io.name);
      const ref = permuteData(Float32Array.from(want.data), want.shape, io.perm);
      const got = out[session.outputs[k]!.name]!;
      if (got.data.length !== ref.length) return { status: 'mismatch', detail: `${io.name}: ${got.data.length} values, expected ${ref.length}` };
      for (let i = 0; i < ref.length; i++) {
        const err = Math.abs(Number(got.data[i]) - ref[i]!) / (1e-4 + 1e-3 * Math.abs(ref[i]!));
        if (!(err <= maxErr)) maxErr = Number.isNaN(err) ? Infinity : err;
      }
      if (maxErr > 1) return { status: 'mismatch', detail: `${io.name}: error ${maxErr.toFixed(2)}x the tolerance (1e-4 + 1e-3 |ref|)` };
    }
    return { status: 'pass', maxErr };
  } finally {
    await session.dispose();
  }
}
