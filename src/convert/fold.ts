/**
 * Constant folding: evaluate an ONNX node whose inputs are all constants (the
 * Shape/Gather/Unsqueeze/Concat chains PyTorch writes to compute a Reshape's target, Constant,
 * ConstantOfShape, Range, ...). Returns undefined for ops it does not evaluate; the converter then
 * emits them as TFLite ops with constant inputs, which is still correct.
 */
import { attr, type OnnxNode } from '../model/onnx/ir.js';
import { broadcastTo, elementwise, fromOnnxTensor, makeConst, size, strides, transposeConst, type Const } from './array.js';

const FLOAT = new Set(['float32', 'float64', 'float16']);

export function intAttr(n: OnnxNode, name: string, d: number): number {
  const a = attr(n, name);
  return a?.type === 'int' ? a.value : d;
}
export function intsAttr(n: OnnxNode, name: string): number[] | undefined {
  const a = attr(n, name);
  return a?.type === 'ints' ? a.value : undefined;
}
export function floatAttr(n: OnnxNode, name: string, d: number): number {
  const a = attr(n, name);
  return a?.type === 'float' ? a.value : a?.type === 'int' ? a.value : d;
}
export function stringAttr(n: OnnxNode, name: string, d: string): string {
  const a = attr(n, name);
  return a?.type === 'string' ? a.value : d;
}

const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);

/** Elements of `c` along `axis` picked by `indices` (Gather). */
export function gatherConst(c: Const, indices: Const, axis: number): Const {
  const outer = size(c.shape.slice(0, axis)), dim = c.shape[axis]!, inner = size(c.shape.slice(axis + 1));
  const idx = Array.from(indices.data, (i) => (i < 0 ? i + dim : i));
  const shape = [...c.shape.slice(0, axis), ...indices.shape, ...c.shape.slice(axis + 1)];
  const out = new Float64Array(size(shape));
  let k = 0;
  for (let o = 0; o < outer; o++) for (const i of idx) for (let j = 0; j < inner; j++) out[k++] = c.data[(o * dim + i) * inner + j]!;
  return { dtype: c.dtype, shape, data: out };
}

export function concatConst(cs: Const[], axis: number): Const {
  const base = cs[0]!.shape;
  const shape = [...base];
  shape[axis] = cs.reduce((a, c) => a + c.shape[axis]!, 0);
  const outer = size(base.slice(0, axis));
  const out = new Float64Array(size(shape));
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (const c of cs) {
      const chunk = size(c.shape.slice(axis));
      out.set(c.data.subarray(o * chunk, (o + 1) * chunk), k);
      k += chunk;
    }
  }
  return { dtype: cs[0]!.dtype, shape, data: out };
}

/** Normalised Slice parameters for one axis: start, step and count of elements taken. */
export function sliceAxis(dim: number, start: number, end: number, step: number): { start: number; step: number; count: number } {
  const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));
  // INT64_MAX does not survive a float64 varint decode (it reads as -2^63): huge magnitudes mean
  // "to the end" in the direction of the step.
  if (Math.abs(end) >= 2 ** 62) end = step > 0 ? dim : -dim - 1;
  if (Math.abs(start) >= 2 ** 62) start = step > 0 ? (start > 0 ? dim : 0) : dim - 1;
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) { s = clamp(s, 0, dim); e = clamp(e, 0, dim); }
  else { s = clamp(s, -1, dim - 1); e = clamp(e, -1, dim - 1); }
  const count = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return { start: s, step, count };
}

export function sliceConst(c: Const, spec: { start: number; step: number; count: number }[]): Const {
  const shape = spec.map((s) => s.count);
  const st = strides(c.shape);
  const n = size(shape);
  const out = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += (spec[d]!.start + idx[d]! * spec[d]!.step) * st[d]!;
    out[k] = c.data[off]!;
    for (let d = shape.length - 1; d >= 0; d--) { if (++idx[d]! < shape[d]!) break; idx[d] = 0; }
  }
  return { dtype: c.dtype, shape, data: out };
}

/** Reshape target with ONNX's 0 (copy) and -1 (infer) rules. */
export function reshapeTarget(inShape: readonly number[], spec: readonly number[], allowZero = false): number[] {
  const total = size(inShape);
  const out = spec.map((d, i) => (d === 0 && !allowZero ? inShape[i]! : d));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return out.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
}

const BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Pow: (a, b) => a ** b,
  Max: Math.max, Min: Math.min, Equal: (a, b) => Number(a === b), Less: (a, b) => Number(a < b),
  Greater: (a, b) => Number(a > b), And: (a, b) => Number(a && b), Or: (a, b) => Number(a || b),
  LessOrEqual: (a, b) => Number(a <= b), GreaterOrEqual: (a, b) => Number(a >= b),
};
const UNARY: Record<string, (a: number) => number> = {
  Neg: (a) => -a, Abs: Math.abs, Sqrt: Math.sqrt, Exp: Math.exp, Floor: Math.floor, Ceil: Math.ceil,
  Relu: (a) => Math.max(0, a), Sigmoid: (a) => 1 / (1 + Math.exp(-a)), Not: (a) => Number(!a), Reciprocal: (a) => 1 / a,
  Identity: (a) => a, Dropout: (a) => a, Log: Math.log, Tanh: Math.tanh,
};
const CAST: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float32', 11: 'float32' };

/**
 * Evaluate `n` on constant inputs (undefined entries are omitted optional inputs).
 * @returns the outputs, or undefined when this op is not folded.
 */
export function foldNode(n: OnnxNode, ins: (Const | undefined)[], opset: number, where: string): Const[] | undefined {
  const x = ins[0];
  const op = n.opType;
  if (op === 'Constant') {
    const a = n.attributes[0];
    if (!a) return undefined;
    if (a.type === 'tensor') return [fromOnnxTensor(a.value, where)];
    if (a.name === 'value_float') return [makeConst('float32', [], [a.value as number])];
    if (a.name === 'value_int') return [makeConst('int64', [], [a.value as number])];
    if (a.name === 'value_floats') return [makeConst('float32', [(a.value as number[]).length], a.value as number[])];
    if (a.name === 'value_ints') return [makeConst('int64', [(a.value as number[]).length], a.value as number[])];
    return undefined;
  }
  if (op === 'ConstantOfShape') {
    const shape = x ? Array.from(x.data) : [];
    const a = attr(n, 'value');
    const v = a?.type === 'tensor' ? fromOnnxTensor(a.value, where) : makeConst('float32', [1], [0]);
    return [{ dtype: v.dtype, shape, data: new Float64Array(size(shape)).fill(v.data[0] ?? 0) }];
  }
  if (op === 'Range') {
    const [s, l, d] = ins.map((c) => c?.data[0] ?? 0) as [number, number, number];
    const count = Math.max(Math.ceil((l - s) / d), 0);
    return [makeConst(x!.dtype, [count], Array.from({ length: count }, (_, i) => s + i * d))];
  }
  if (!x || ins.some((c, i) => c === undefined && n.inputs[i])) return undefined;
  if (UNARY[op]) return [elementwise([x], UNARY[op]!)!];
  if (BINARY[op] && ins.length === 2) {
    const r = elementwise([x, ins[1]!], BINARY[op]!, ['Equal', 'Less', 'Greater', 'And', 'Or', 'LessOrEqual', 'GreaterOrEqual'].includes(op) ? 'bool' : x.dtype);
    return r ? [r] : undefined;
  }
  if ((op === 'Max' || op === 'Min' || op === 'Sum') && ins.length > 2) {
    const f = op === 'Max' ? Math.max : op === 'Min' ? Math.min : (...v: number[]) => v.reduce((a, b) => a + b, 0);
    const r = elementwise(ins as Const[], f);
    return r ? [r] : undefined;
  }
  if (op === 'Div') {
    const isFloat = FLOAT.has(x.dtype);
    const r = elementwise([x, ins[1]!], (a, b) => (isFloat ? a / b : Math.trunc(a / b)));
    return r ? [r] : undefined;
  }
  if (op === 'Where' && ins.length === 3) {
    const r = elementwise(ins as Const[], (c, a, b) => (c ? a : b), ins[1]!.dtype);
    return r ? [r] : undefined;
  }
  switch (op) {
    case 'Cast': {
      const to = CAST[intAttr(n, 'to', 1)];
      if (!to) return undefined;
      const f = to === 'float32' ? (v: number) => Math.fround(v) : to === 'bool' ? (v: number) => Number(v !== 0) : Math.trunc;
      return [{ dtype: to as Const['dtype'], shape: x.shape, data: x.data.map(f) }];
    }
    case 'Shape': {
      let s = x.shape;
      const start = intAttr(n, 'start', 0), end = intAttr(n, 'end', s.length);
      s = s.slice(normAxis(start, s.length), normAxis(end, s.length));
      return [makeConst('int64', [s.length], s)];
    }
    case 'Size': return [makeConst('int64', [], [size(x.shape)])];
    case 'Gather': return [gatherConst(x, ins[1]!, normAxis(intAttr(n, 'axis', 0), x.shape.length))];
    case 'Unsqueeze': case 'Squeeze': {
      const axesIn = opset >= 13 ? (ins[1] ? Array.from(ins[1].data) : undefined) : intsAttr(n, 'axes');
      if (op === 'Squeeze') {
        const axes = (axesIn ?? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => normAxis(a, x.shape.length));
        return [{ ...x, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
      }
      const rank = x.shape.length + (axesIn?.length ?? 0);
      const axes = (axesIn ?? []).map((a) => normAxis(a, rank));
      const shape: number[] = [];
      let j = 0;
      for (let i = 0; i < rank; i++) shape.push(axes.includes(i) ? 1 : x.shape[j++]!);
      return [{ ...x, shape }];
    }
    case 'Concat': return [concatConst(ins as Const[], normAxis(intAttr(n, 'axis', 0), x.shape.length))];
    case 'Reshape': {
      const spec = opset >= 5 ? Array.from(ins[1]!.data) : intsAttr(n, 'shape') ?? [];
      return [{ ...x, shape: reshapeTarget(x.shape, spec, intAttr(n, 'allowzero', 0) === 1) }];
    }
    case 'Flatten': {
      const axis = normAxis(intAttr(n, 'axis', 1), x.shape.length);
      return [{ ...x, shape: [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))] }];
    }
    case 'Transpose': return [transposeConst(x, intsAttr(n, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i))];
    case 'Expand': {
      const target = Array.from(ins[1]!.data);
      const shape = target.length >= x.shape.length ? target : [...x.shape];
      const full = shape.map((d, i) => { const xd = x.shape[i - (shape.length - x.shape.length)] ?? 1; return d === 1 ? xd : d; });
      return [broadcastTo(x, full)];
    }
    case 'Slice': {
      const rank = x.shape.length;
      const starts = opset >= 10 ? Array.from(ins[1]!.data) : intsAttr(n, 'starts') ?? [];
      const ends = opset >= 10 ? Array.from(ins[2]!.data) : intsAttr(n, 'ends') ?? [];
      const axes = (opset >= 10 ? (ins[3] ? Array.from(ins[3].data) : undefined) : intsAttr(n, 'axes')) ?? starts.map((_, i) => i);
      const steps = opset >= 10 && ins[4] ? Array.from(ins[4].data) : axes.map(() => 1);
      const spec = x.shape.map((d) => ({ start: 0, step: 1, count: d }));
      axes.forEach((a, i) => { spec[normAxis(a, rank)] = sliceAxis(x.shape[normAxis(a, rank)]!, starts[i]!, ends[i]!, steps[i]!); });
      return [sliceConst(x, spec)];
    }
    case 'ReduceProd': case 'ReduceSum': case 'ReduceMax': case 'ReduceMin': case 'ReduceMean': {
      if (x.shape.length !== 1 || intAttr(n, 'keepdims', 1) !== 0 && x.shape.length !== 1) return undefined;
      const v = Array.from(x.data);
      const r = op === 'ReduceProd' ? v.reduce((a, b) => a * b, 1) : op === 'ReduceSum' ? v.reduce((a, b) => a + b, 0) : op === 'ReduceMax' ? Math.max(...v) : op === 'ReduceMin' ? Math.min(...v) : v.reduce((a, b) => a + b, 0) / v.length;
      return [makeConst(x.dtype, intAttr(n, 'keepdims', 1) ? [1] : [], [r])];
    }
    default: return undefined;
  }
}
