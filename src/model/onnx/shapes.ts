/**
 * A small static shape inference for ONNX graphs: enough to know the output size of every
 * Conv/Gemm/MatMul (for MAC counts) in ordinary CNNs. It propagates known shapes through
 * common ops and constant shape operands; anything it cannot follow is simply left unknown.
 */
import { attr, type OnnxModel, type OnnxNode, type OnnxTensor } from './ir.js';

type Shape = number[];

/** Read the integer values of a constant tensor (int64/int32/float), or undefined. */
export function tensorInts(t: OnnxTensor): number[] | undefined {
  if (t.values) return t.values.map((v) => Math.trunc(v));
  const raw = t.rawData;
  if (!raw) return t.dims.reduce((a, b) => a * b, 1) === 0 ? [] : undefined;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: number[] = [];
  if (t.dataType === 7) for (let i = 0; i + 8 <= raw.length; i += 8) out.push(Number(view.getBigInt64(i, true)));
  else if (t.dataType === 6) for (let i = 0; i + 4 <= raw.length; i += 4) out.push(view.getInt32(i, true));
  else if (t.dataType === 1) for (let i = 0; i + 4 <= raw.length; i += 4) out.push(view.getFloat32(i, true));
  else return undefined;
  return out;
}

const broadcast = (a: Shape, b: Shape): Shape => {
  const n = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
};

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Clip', 'BatchNormalization', 'Dropout', 'Identity', 'Softmax', 'LogSoftmax',
  'HardSigmoid', 'HardSwish', 'PRelu', 'Cast', 'Exp', 'Log', 'Sqrt', 'Neg', 'Abs', 'Erf', 'Not', 'Sign', 'Floor', 'Ceil',
  'Round', 'Reciprocal', 'InstanceNormalization', 'LRN', 'Elu', 'Selu', 'Softplus', 'Softsign', 'QuantizeLinear',
  'DequantizeLinear', 'Mish', 'Gelu', 'LayerNormalization', 'Celu', 'ThresholdedRelu', 'Shrink',
]);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Less', 'Greater', 'And', 'Or', 'Xor', 'Where', 'LessOrEqual', 'GreaterOrEqual', 'Mod']);

/** Infer shapes of the main graph's values (name -> dims) from inputs, initializers and value_info. */
export function inferOnnxShapes(model: OnnxModel): Map<string, Shape> {
  const g = model.graph;
  const shapes = new Map<string, Shape>();
  const consts = new Map<string, number[]>();
  for (const v of [...g.inputs, ...g.valueInfo, ...g.outputs]) {
    if (v.hasShape && v.shape.every((d) => typeof d === 'number')) shapes.set(v.name, v.shape as number[]);
  }
  for (const t of g.initializers) {
    shapes.set(t.name, t.dims);
    if (t.dims.length <= 1 && t.dims.reduce((a, b) => a * b, 1) <= 64) {
      const v = tensorInts(t);
      if (v) consts.set(t.name, v);
    }
  }
  const ints = (n: OnnxNode, name: string): number[] | undefined => {
    const a = attr(n, name);
    return a?.type === 'ints' ? a.value : undefined;
  };
  const int = (n: OnnxNode, name: string, d: number): number => {
    const a = attr(n, name);
    return a?.type === 'int' ? a.value : d;
  };
  const opset = model.opsets[''] ?? 1;
  for (const n of g.nodes) {
    try {
      const ins = n.inputs.map((i) => (i ? shapes.get(i) : undefined));
      const x = ins[0];
      const set = (s: Shape | undefined, k = 0): void => {
        const o = n.outputs[k];
        if (s && o && !shapes.has(o) && s.every((d) => Number.isInteger(d) && d >= 0)) shapes.set(o, s);
      };
      switch (n.opType) {
        case 'Constant': {
          const a = attr(n, 'value');
          if (a?.type === 'tensor') {
            set(a.value.dims);
            const v = tensorInts(a.value);
            if (v && n.outputs[0]) consts.set(n.outputs[0], v);
          }
          break;
        }
        case 'Conv': case 'ConvTranspose': case 'MaxPool': case 'AveragePool': case 'LpPool': {
          const w = ins[1];
          if (!x || x.length < 3) break;
          const spatial = x.length - 2;
          const k = n.opType.endsWith('Pool') ? ints(n, 'kernel_shape') : ints(n, 'kernel_shape') ?? w?.slice(2);
          if (!k || k.length !== spatial) break;
          const strides = ints(n, 'strides') ?? Array<number>(spatial).fill(1);
          const dil = ints(n, 'dilations') ?? Array<number>(spatial).fill(1);
          const pads = ints(n, 'pads') ?? Array<number>(2 * spatial).fill(0);
          const autoPad = (() => { const a = attr(n, 'auto_pad'); return a?.type === 'string' ? a.value : 'NOTSET'; })();
          const ceil = int(n, 'ceil_mode', 0) === 1;
          const out: Shape = [x[0]!];
          if (n.opType === 'Conv') { if (!w) break; out.push(w[0]!); }
          else if (n.opType === 'ConvTranspose') { if (!w) break; out.push(w[1]! * int(n, 'group', 1)); }
          else out.push(x[1]!);
          const os = ints(n, 'output_shape');
          for (let i = 0; i < spatial; i++) {
            const inD = x[2 + i]!, s = strides[i]!, d = dil[i]!, ke = (k[i]! - 1) * d + 1;
            if (n.opType === 'ConvTranspose') {
              if (os) { out.push(os[i]!); continue; }
              const op = ints(n, 'output_padding')?.[i] ?? 0;
              out.push(s * (inD - 1) + op + ke - pads[i]! - pads[i + spatial]!);
            } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') out.push(Math.ceil(inD / s));
            else if (autoPad === 'VALID') out.push(Math.floor((inD - ke) / s) + 1);
            else {
              const span = inD + pads[i]! + pads[i + spatial]! - ke;
              out.push((ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1);
            }
          }
          set(out);
          break;
        }
        case 'GlobalAveragePool': case 'GlobalMaxPool': case 'GlobalLpPool':
          if (x) set([x[0]!, x[1]!, ...x.slice(2).map(() => 1)]);
          break;
        case 'Flatten': {
          if (!x) break;
          let axis = int(n, 'axis', 1);
          if (axis < 0) axis += x.length;
          set([x.slice(0, axis).reduce((a, b) => a * b, 1), x.slice(axis).reduce((a, b) => a * b, 1)]);
          break;
        }
        case 'Reshape': {
          const spec = opset >= 5 ? (n.inputs[1] ? consts.get(n.inputs[1]) : undefined) : ints(n, 'shape');
          if (!x || !spec) break;
          const total = x.reduce((a, b) => a * b, 1);
          const out = spec.map((d, i) => (d === 0 ? x[i]! : d));
          const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
          set(out.map((d) => (d === -1 ? total / known : d)));
          break;
        }
        case 'Transpose': {
          if (!x) break;
          const perm = ints(n, 'perm') ?? x.map((_, i) => x.length - 1 - i);
          set(perm.map((p) => x[p]!));
          break;
        }
        case 'Gemm': {
          const a = ins[0], b = ins[1];
          if (!a || !b || a.length !== 2 || b.length !== 2) break;
          const m = int(n, 'transA', 0) ? a[1]! : a[0]!;
          const nn = int(n, 'transB', 0) ? b[0]! : b[1]!;
          set([m, nn]);
          break;
        }
        case 'MatMul': {
          const a = ins[0], b = ins[1];
          if (!a || !b || a.length < 2 || b.length < 2) break;
          const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
          set([...batch, a[a.length - 2]!, b[b.length - 1]!]);
          break;
        }
        case 'Concat': {
          const all = ins.filter((s): s is Shape => s !== undefined);
          if (all.length !== n.inputs.length || all.length === 0) break;
          let axis = int(n, 'axis', 0);
          if (axis < 0) axis += all[0]!.length;
          const out = [...all[0]!];
          out[axis] = all.reduce((a, s) => a + s[axis]!, 0);
          set(out);
          break;
        }
        case 'Upsample': case 'Resize': {
          if (!x) break;
          const scalesName = n.opType === 'Upsample' ? (opset >= 9 ? n.inputs[1] : undefined) : opset >= 11 ? n.inputs[2] : n.inputs[1];
          const sizesName = n.opType === 'Resize' && opset >= 11 ? n.inputs[3] : undefined;
          const sizes = sizesName ? consts.get(sizesName) : undefined;
          const scalesAttr = attr(n, 'scales');
          const scales = scalesName ? consts.get(scalesName) : scalesAttr?.type === 'floats' ? scalesAttr.value : undefined;
          if (sizes && sizes.length === x.length) set(sizes);
          else if (scales && scales.length === x.length) set(x.map((d, i) => Math.floor(d * scales[i]!)));
          break;
        }
        case 'Squeeze': case 'Unsqueeze': {
          if (!x) break;
          const axes = (opset >= 13 && n.inputs[1] ? consts.get(n.inputs[1]) : ints(n, 'axes')) ?? (n.opType === 'Squeeze' ? x.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : undefined);
          if (!axes) break;
          if (n.opType === 'Squeeze') {
            const norm = axes.map((a) => (a < 0 ? a + x.length : a));
            set(x.filter((_, i) => !norm.includes(i)));
          } else {
            const rank = x.length + axes.length;
            const norm = axes.map((a) => (a < 0 ? a + rank : a));
            const out: Shape = [];
            let j = 0;
            for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : x[j++]!);
            set(out);
          }
          break;
        }
        case 'ReduceMean': case 'ReduceSum': case 'ReduceMax': case 'ReduceMin': case 'ReduceProd': {
          if (!x) break;
          const axes = ints(n, 'axes') ?? (n.inputs[1] ? consts.get(n.inputs[1]) : undefined) ?? x.map((_, i) => i);
          const keep = int(n, 'keepdims', 1) === 1;
          const norm = axes.map((a) => (a < 0 ? a + x.length : a));
          set(keep ? x.map((d, i) => (norm.includes(i) ? 1 : d)) : x.filter((_, i) => !norm.includes(i)));
          break;
        }
        case 'Shape':
          if (x) { set([x.length]); if (n.outputs[0]) consts.set(n.outputs[0], x); }
          break;
        default:
          if (UNARY.has(n.opType)) set(x);
          else if (BINARY.has(n.opType)) {
            const all = ins.filter((s): s is Shape => s !== undefined);
            if (all.length === n.inputs.filter((i) => i).length && all.length > 0) set(all.reduce(broadcast));
          }
      }
    } catch {
      // Inference is best effort: a shape it cannot follow stays unknown.
    }
  }
  return shapes;
}
