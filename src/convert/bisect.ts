/**
 * Finding where a conversion goes wrong: expose every intermediate value on both sides (extra
 * graph outputs for onnxruntime, extra subgraph outputs for TFLite), run one input through both,
 * and name the first ONNX node, in graph order, whose output is outside the check's bounds.
 */
import type { OnnxModel } from '../model/onnx/ir.js';
import { withGraphOutputs } from '../model/onnx/writer.js';
import { exposeAsOutputs } from '../model/tflite/edit.js';
import { readTflite } from '../model/tflite/reader.js';
import { writeTflite } from '../model/tflite/writer.js';
import { load } from '../runtime/session.js';
import { accumulate, finish, newAcc, permuteData, randomFloats } from './check.js';
import type { ConvertResult } from './convert.js';

export interface Divergence { node: string; opType: string; index: number; maxAbs: number; cosine: number }

export async function bisectMismatch(onnxBytes: Uint8Array, model: OnnxModel, result: ConvertResult, seed: number): Promise<Divergence | undefined> {
  const tfl = readTflite(result.bytes);
  const sg = tfl.subgraphs[0]!;
  const index = new Map(sg.tensors.map((t, i) => [t.name, i]));
  const isFloat = (o: string): boolean => sg.tensors[index.get(result.values.get(o)?.tensor ?? '') ?? -1]?.dtype === 'float32';
  const wanted = model.graph.nodes.flatMap((n) => n.outputs.filter((o) => o && isFloat(o)));
  const graphOutputs = new Set(model.graph.outputs.map((o) => o.name));
  const inputShapes = Object.fromEntries(result.report.inputs.map((io) => [io.name, io.onnxShape]));
  const ref = await load(withGraphOutputs(onnxBytes, wanted.filter((w) => !graphOutputs.has(w))), { threads: 1, inputShapes });
  exposeAsOutputs(tfl, wanted.map((w) => index.get(result.values.get(w)!.tensor)!).filter((i) => i !== undefined));
  const session = await load(writeTflite(tfl), { threads: 1 }).catch(async (e: unknown) => { await ref.dispose(); throw e; });
  try {
    const feeds: Record<string, Float32Array> = {};
    const inputs = result.report.inputs.map((io, k) => {
      const data = randomFloats(io.onnxShape.reduce((a, b) => a * b, 1), seed * 1000 + k);
      feeds[io.name] = data;
      return permuteData(data, io.onnxShape, io.perm);
    });
    const want = await ref.run(feeds);
    const got = await session.run(inputs);
    for (const [i, n] of model.graph.nodes.entries()) {
      for (const o of n.outputs) {
        const v = result.values.get(o);
        const r = want[o];
        const g = v ? got[v.tensor] : undefined;
        if (!v || !r || !g || r.dtype !== 'float32') continue;
        const a = permuteData(r.data as Float32Array, v.shape, v.perm);
        const b = g.data as Float32Array;
        if (a.length !== b.length) return { node: n.name, opType: n.opType, index: i, maxAbs: Infinity, cosine: 0 };
        const acc = newAcc();
        accumulate(acc, a, b);
        const { maxAbs, cosine, ok } = finish(o, acc);
        if (!ok) return { node: n.name, opType: n.opType, index: i, maxAbs, cosine };
      }
    }
    return undefined;
  } finally {
    await Promise.all([session.dispose(), ref.dispose()]);
  }
}
