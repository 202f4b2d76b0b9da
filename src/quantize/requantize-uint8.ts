/**
 * Legacy uint8 (TOCO) models -> reef's float IR plus the activation parameters to keep, so the
 * int8 rewrite can re-quantize them: activations keep their scale with the zero point moved by
 * -128 (exactly the same real values), weights become int8 symmetric per-channel, biases are
 * re-derived from the new weight scales. The result takes XNNPACK's QS8 path, which the uint8
 * model cannot (its QU8 path is off, and crashes in the TFLite 2.9 build reef ships).
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import { elementCount } from '../types.js';
import { bytesOf, cloneModel, isConstantTensor, producersOf, removeOperators } from './graph.js';
import type { QParams } from './params.js';

export interface LegacyFloatModel {
  /** The graph with every uint8 tensor turned into float32 (weights dequantized). */
  model: TfliteModel;
  /** int8 parameters of each activation (tensor index), from its uint8 ones. */
  params: Map<number, QParams>;
  /** What the conversion will change, for the report. */
  changes: string[];
}

/** Dequantizes a legacy uint8 model's constants and records its activation parameters. */
export function legacyToFloat(model: TfliteModel): LegacyFloatModel {
  const m = cloneModel(model);
  const sg = m.subgraphs[0]!;
  const prod = producersOf(sg);
  const params = new Map<number, QParams>();
  let weights = 0;
  let acts = 0;
  sg.tensors.forEach((t, i) => {
    const q = t.quantization;
    if (!q || q.scale.length === 0 || (t.dtype !== 'uint8' && t.dtype !== 'int32')) return;
    if (isConstantTensor(m, sg, i)) {
      const b = m.buffers[t.buffer]!;
      const n = elementCount(t.shape);
      const out = new Float32Array(n);
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const axis = q.scale.length > 1 ? q.quantizedDimension : undefined;
      const inner = axis === undefined ? n : t.shape.slice(axis + 1).reduce((a, c) => a * c, 1);
      for (let k = 0; k < n; k++) {
        const c = axis === undefined ? 0 : Math.floor(k / inner) % t.shape[axis]!;
        const raw = t.dtype === 'uint8' ? b[k]! : dv.getInt32(4 * k, true);
        out[k] = q.scale[c]! * (raw - (q.zeroPoint[c] ?? 0));
      }
      m.buffers.push(bytesOf(out));
      sg.tensors[i] = { ...t, dtype: 'float32', buffer: m.buffers.length - 1 };
      delete sg.tensors[i]!.quantization;
      if (t.dtype === 'uint8') weights++;
    } else if (t.dtype === 'uint8' && (prod[i]! >= 0 || sg.inputs.includes(i))) {
      params.set(i, { scale: q.scale[0]!, zeroPoint: (q.zeroPoint[0] ?? 0) - 128 });
      sg.tensors[i] = { ...t, dtype: 'float32' };
      delete sg.tensors[i]!.quantization;
      acts++;
    }
  });
  // QUANTIZE/DEQUANTIZE between activations are identities once everything is float.
  const remove = new Set<number>();
  const rewire = new Map<number, number>();
  sg.operators.forEach((op, oi) => {
    if (op.opcode !== 'QUANTIZE' && op.opcode !== 'DEQUANTIZE') return;
    const [src, dst] = [op.inputs[0]!, op.outputs[0]!];
    if (sg.tensors[src]!.dtype === 'float32' && sg.tensors[dst]!.dtype === 'float32' && !sg.outputs.includes(dst)) {
      remove.add(oi);
      rewire.set(dst, src);
    }
  });
  if (remove.size) removeOperators(sg, remove, rewire);
  const changes = [
    `${weights} uint8 weight tensor(s) (asymmetric, per-tensor) re-quantized to int8 symmetric (per-channel for conv and depthwise)`,
    `${acts} uint8 activation tensor(s) moved to int8 with the same scale and zero point - 128 (same real values)`,
    'int32 biases re-derived for the new weight scales',
  ];
  if (remove.size) changes.push(`${remove.size} QUANTIZE/DEQUANTIZE op(s) between activations removed`);
  return { model: m, params, changes };
}
