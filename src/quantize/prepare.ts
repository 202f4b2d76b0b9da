/**
 * What kind of model the quantizer was handed, and the clean-up before calibration: constant
 * DEQUANTIZE ops (float16 or int8 weights) are folded into float32 constants, so the calibrated
 * and rewritten graph only sees float32 weights.
 */
import { ReefError } from '../errors.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { elementCount } from '../types.js';
import { bytesOf, cloneModel, halfToFloat, isConstantTensor, producersOf, removeOperators } from './graph.js';

export type ModelKind = 'float' | 'int8' | 'uint8-legacy' | 'non-float';

/** Classifies a model by its activation tensors (non-constant tensors written by ops or fed as inputs). */
export function modelKind(model: TfliteModel): ModelKind {
  const sg = model.subgraphs[0]!;
  const prod = producersOf(sg);
  let float = false;
  let int8 = false;
  let uint8 = false;
  sg.tensors.forEach((t, i) => {
    const activation = prod[i]! >= 0 || sg.inputs.includes(i);
    if (!activation || isConstantTensor(model, sg, i)) return;
    const quantized = (t.quantization?.scale.length ?? 0) > 0;
    if (t.dtype === 'float32') float = true;
    else if (t.dtype === 'int8' && quantized) int8 = true;
    else if (t.dtype === 'uint8' && quantized) uint8 = true;
  });
  if (int8) return 'int8';
  if (uint8) return 'uint8-legacy';
  return float ? 'float' : 'non-float';
}

/** Names the input model's kind in errors. */
export function checkFloatModel(model: TfliteModel, source: string, tool: 'quantize' | 'prune' = 'quantize'): void {
  const takes = tool === 'quantize' ? 'reef quantize takes a float32 model (or a legacy uint8 one)' : 'reef prune takes a float32 model (prune first, then quantize)';
  if (model.subgraphs.length !== 1) {
    throw new ReefError('REEF_MODEL_INVALID',
      `${source} has ${model.subgraphs.length} subgraphs; reef ${tool} handles single-subgraph models (no control flow) only`);
  }
  const kind = modelKind(model);
  if (kind === 'int8') {
    throw new ReefError('REEF_MODEL_ALREADY_QUANTIZED',
      `${source} is already quantized (int8 activations); ${takes}`);
  }
  if (kind === 'non-float') {
    const sg = model.subgraphs[0]!;
    const types = [...new Set(sg.inputs.map((i) => sg.tensors[i]!.dtype))].join(', ');
    throw new ReefError('REEF_MODEL_NOT_FLOAT',
      `${source} is not a float model (its activations are ${types || 'not float32'}); reef ${tool} takes a float32 model`);
  }
}

/**
 * Folds DEQUANTIZE ops whose input is a constant (float16 or int8 weights) into float32
 * constants; returns a new IR (the input is not modified) and how many were folded.
 */
export function foldConstantDequantize(model: TfliteModel): { model: TfliteModel; folded: number } {
  const m = cloneModel(model);
  const sg = m.subgraphs[0]!;
  const remove = new Set<number>();
  const rewire = new Map<number, number>();
  sg.operators.forEach((op, oi) => {
    if (op.opcode !== 'DEQUANTIZE') return;
    const src = op.inputs[0]!;
    const dst = op.outputs[0]!;
    if (src < 0 || !isConstantTensor(m, sg, src)) return;
    const t = sg.tensors[src]!;
    const b = m.buffers[t.buffer]!;
    const n = elementCount(t.shape);
    const out = new Float32Array(n);
    if (t.dtype === 'float16') {
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
    } else if ((t.dtype === 'int8' || t.dtype === 'uint8') && t.quantization && t.quantization.scale.length > 0) {
      const q = t.quantization;
      const axis = q.scale.length > 1 ? q.quantizedDimension : undefined;
      const inner = axis === undefined ? n : t.shape.slice(axis + 1).reduce((a, c) => a * c, 1);
      const channels = axis === undefined ? 1 : t.shape[axis]!;
      for (let i = 0; i < n; i++) {
        const c = axis === undefined ? 0 : Math.floor(i / inner) % channels;
        const raw = t.dtype === 'int8' ? (b[i]! << 24) >> 24 : b[i]!;
        out[i] = q.scale[c]! * (raw - (q.zeroPoint[c] ?? 0));
      }
    } else {
      return;
    }
    const ft = sg.tensors[dst]!;
    m.buffers.push(bytesOf(out));
    sg.tensors[dst] = { ...ft, dtype: 'float32', buffer: m.buffers.length - 1 };
    delete sg.tensors[dst]!.quantization;
    remove.add(oi);
    rewire.set(dst, dst);
  });
  if (remove.size > 0) removeOperators(sg, remove, rewire);
  return { model: m, folded: remove.size };
}
