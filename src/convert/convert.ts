/**
 * ONNX -> TFLite conversion (float, NHWC).
 *
 * One pass over the ONNX nodes in order. Constants are folded as they come (see fold.ts);
 * every other value becomes a TFLite activation that remembers its layout (builder.ts), so
 * convolutions run in NHWC with their weights permuted once, ONNX Transposes cost nothing, and
 * a TRANSPOSE op appears only where an op truly needs another layout (the report counts them).
 * BatchNormalization after a convolution is folded into its weights, Flatten->Gemm reads the
 * feature map in NHWC order by permuting the weight rows, ReLU/ReLU6 fuse into the op before.
 */
import { ReefError } from '../errors.js';
import type { DType } from '../types.js';
import { attr, type OnnxModel, type OnnxNode } from '../model/onnx/ir.js';
import { removeDeadTensors, removeUnusedBuffers } from '../model/tflite/edit.js';
import { writeTflite } from '../model/tflite/writer.js';
import type { TfliteModel, TfliteOperator } from '../model/tflite/ir.js';
import { broadcastShapes, elementwise, fromOnnxTensor, invertPerm, isIdentity, makeConst, size, transposeConst, transposeIsReshape, type Const } from './array.js';
import { Builder, NHWC, physShape, type Act, type TransposeRecord, type Value } from './builder.js';
import { floatAttr, foldNode, intAttr, intsAttr, reshapeTarget, sliceAxis, stringAttr } from './fold.js';

export interface ConvertOptions {
  /** Fixed shapes for inputs with dynamic dimensions (ONNX layout, e.g. { input: [1,3,240,320] }). */
  inputShapes?: Record<string, number[]>;
  /** Keep 4-D inputs and outputs in NCHW (a TRANSPOSE at each edge) instead of NHWC. */
  keepNchwIo?: boolean;
  /**
   * Rewrites for TFLite's XNNPACK delegate (default true): a zero PAD before a CONV_2D becomes zero
   * kernel taps with SAME padding. false keeps the ops as converted (to compare, or to bisect).
   */
  rewrite?: boolean;
  /**
   * Merge a 1x1 convolution without activation into the 1x1 convolution reading it (default false):
   * fewer multiply-adds (fastestdet float -4%, int8 -5%), but its int8 model lost 0.8 dB of output
   * SQNR (the quantizer's refit of the separate selection layer denoises; merged, that is gone).
   */
  mergePointwise?: boolean;
}

export interface IoLayout {
  name: string;
  /** Shape in the ONNX model. */
  onnxShape: number[];
  /** Shape of the TFLite tensor. */
  tfliteShape: number[];
  /** perm: tflite.shape[i] = onnx.shape[perm[i]] ([0,2,3,1] = NHWC). */
  perm: number[];
}

export interface ConvertReport {
  opset: number;
  onnxNodes: number;
  /** TFLite operators by opcode. */
  ops: Record<string, number>;
  /** TRANSPOSE ops in the result: total, at the graph's edges, and the ONNX nodes that needed them. */
  transposes: { total: number; edge: number; inner: number; at: TransposeRecord[] };
  /** ONNX nodes evaluated at conversion time (constant folding). */
  folded: number;
  /** BatchNormalization nodes folded into the convolution before them. */
  batchNormsFolded: number;
  /** Explicit pads that became zero kernel taps with SAME padding instead of a PAD op. */
  padsFolded: number;
  /** 1x1 convolutions without activation merged into the 1x1 convolution that reads them. */
  pointwiseComposed: number;
  /** Activations fused into the op before them. */
  activationsFused: number;
  /** MatMul/Gemm + Add of a constant vector folded into one FULLY_CONNECTED's bias. */
  biasAddsFused: number;
  inputs: IoLayout[];
  outputs: IoLayout[];
}

export interface ConvertResult {
  model: TfliteModel;
  bytes: Uint8Array;
  report: ConvertReport;
  /** ONNX value name -> the TFLite tensor holding it and its perm (for bisecting mismatches). */
  values: Map<string, { tensor: string; perm: number[]; shape: number[] }>;
}

const QUANTIZED_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'QLinearConv', 'QLinearMatMul', 'QLinearAdd', 'QLinearMul', 'QLinearSigmoid', 'QLinearLeakyRelu', 'QLinearConcat', 'QLinearAveragePool', 'QLinearGlobalAveragePool', 'QLinearSoftmax', 'ConvInteger', 'MatMulInteger', 'QGemm']);

const UNARY_OPS: Record<string, string> = {
  Relu: 'RELU', Sigmoid: 'LOGISTIC', Tanh: 'TANH', Exp: 'EXP', Sqrt: 'SQRT', HardSwish: 'HARD_SWISH', Neg: 'NEG',
  Abs: 'ABS', Log: 'LOG', Floor: 'FLOOR', Ceil: 'CEIL', Sin: 'SIN', Cos: 'COS', Elu: 'ELU', Round: 'ROUND',
};
const BINARY_OPS: Record<string, string> = { Add: 'ADD', Sub: 'SUB', Mul: 'MUL', Div: 'DIV', Pow: 'POW', Max: 'MAXIMUM', Min: 'MINIMUM', Sum: 'ADD' };
const FUSABLE = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'SUB', 'MUL', 'DIV', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'TRANSPOSE_CONV']);
const ACT_CODE: Record<string, number> = { RELU: 1, RELU_N1_TO_1: 2, RELU6: 3 };

function unsupported(n: OnnxNode, i: number, why = ''): ReefError {
  return new ReefError('REEF_CONVERT_UNSUPPORTED_OP', `ONNX op ${n.domain ? n.domain + '.' : ''}${n.opType} (node ${i} '${n.name}')${why ? `: ${why}` : ' is not supported by reef convert'}`);
}

const ident = (r: number): number[] => Array.from({ length: r }, (_, i) => i);
const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);
/** Remove logical axes from a perm, renumbering the rest. */
function dropAxes(perm: number[], axes: number[]): number[] {
  return perm.filter((p) => !axes.includes(p)).map((p) => p - axes.filter((a) => a < p).length);
}

/**
 * Convert a float ONNX model to a float TFLite model in NHWC.
 * @throws ReefError REEF_CONVERT_UNSUPPORTED_OP (op type, node name and index),
 * REEF_CONVERT_DYNAMIC_SHAPE (names the inputs), REEF_CONVERT_QUANTIZED_ONNX.
 */
export function convertOnnx(model: OnnxModel, options: ConvertOptions = {}): ConvertResult {
  return new Converter(model, options).run();
}

class Converter {
  readonly b = new Builder();
  readonly values = new Map<string, Value>();
  readonly opset: number;
  readonly g: OnnxModel['graph'];
  readonly consumers = new Map<string, number[]>();
  readonly skip = new Set<number>();
  readonly outputNames: Set<string>;
  folded = 0;
  bnFolded = 0;
  nodeIndex = 0;
  node!: OnnxNode;

  constructor(readonly model: OnnxModel, readonly options: ConvertOptions) {
    this.g = model.graph;
    this.opset = model.opsets[''] ?? model.opsets['ai.onnx'] ?? 13;
    this.outputNames = new Set(this.g.outputs.map((o) => o.name));
    this.g.nodes.forEach((n, i) => n.inputs.forEach((x) => { if (x) { const c = this.consumers.get(x) ?? []; c.push(i); this.consumers.set(x, c); } }));
  }

  run(): ConvertResult {
    const quant = this.g.nodes.findIndex((n) => QUANTIZED_OPS.has(n.opType));
    if (quant >= 0) {
      const n = this.g.nodes[quant]!;
      throw new ReefError('REEF_CONVERT_QUANTIZED_ONNX', `This ONNX model is already quantized (node ${quant} '${n.name}' is ${n.opType}): reef converts float models. Convert the float model and let reef quantize it: reef convert model.onnx -o m.tflite, then reef quantize m.tflite --calib DIR`);
    }
    for (const t of this.g.initializers) this.values.set(t.name, { kind: 'const', c: fromOnnxTensor(t, `initializer '${t.name}'`) });
    const inputs = this.#inputs();
    this.g.nodes.forEach((n, i) => {
      if (this.skip.has(i)) return;
      this.node = n;
      this.nodeIndex = i;
      this.b.current = n.name || `${n.opType}_${i}`;
      this.#convertNode(n, i);
    });
    const outputs = this.#outputs();
    const biasAdds = fuseBiasAdds(this.b);
    const fused = fuseActivations(this.b);
    const rewrite = this.options.rewrite ?? true;
    const padsFolded = rewrite ? foldPads(this.b.model) : 0;
    const composed = this.options.mergePointwise ? composePointwise(this.b.model) : 0;
    pruneDead(this.b);
    const alive = new Set(this.b.sg.operators.filter((op) => op.opcode === 'TRANSPOSE').map((op) => op.outputs[0]));
    const tr = this.b.transposes.filter((t) => t.t !== undefined && alive.has(t.t)).map(({ node, edge }) => ({ node, edge }));
    const edge = tr.filter((t) => t.edge).length;
    const values = new Map<string, { tensor: string; perm: number[]; shape: number[] }>();
    for (const [k, v] of this.values) {
      if (v.kind === 'act' && !v.flat) values.set(k, { tensor: this.b.sg.tensors[v.t]!.name, perm: v.perm, shape: v.shape });
    }
    removeDeadTensors(this.b.model);
    removeUnusedBuffers(this.b.model);
    const live = new Set(this.b.sg.tensors.map((t) => t.name));
    for (const [k, v] of values) if (!live.has(v.tensor)) values.delete(k);
    const ops: Record<string, number> = {};
    for (const op of this.b.sg.operators) ops[op.opcode] = (ops[op.opcode] ?? 0) + 1;
    return {
      model: this.b.model,
      bytes: writeTflite(this.b.model),
      values,
      report: {
        opset: this.opset, onnxNodes: this.g.nodes.length, ops,
        transposes: { total: tr.length, edge, inner: tr.length - edge, at: tr },
        folded: this.folded, batchNormsFolded: this.bnFolded, padsFolded, pointwiseComposed: composed, activationsFused: fused, biasAddsFused: biasAdds, inputs, outputs,
      },
    };
  }

  #inputs(): IoLayout[] {
    const init = new Set(this.g.initializers.map((t) => t.name));
    const real = this.g.inputs.filter((v) => !init.has(v.name));
    const given = this.options.inputShapes ?? {};
    for (const name of Object.keys(given)) {
      if (!real.some((v) => v.name === name)) throw new ReefError('REEF_INVALID_ARGUMENT', `--input-shape names '${name}', which is not an input of this model (inputs: ${real.map((v) => v.name).join(', ')})`);
    }
    const empty = real.find((v) => (given[v.name] ?? v.shape).some((d) => d === 0));
    if (empty) throw new ReefError('REEF_CONVERT_UNSUPPORTED_OP', `Input '${empty.name}' has a zero-sized dimension [${empty.shape.join(',')}]; TFLite cannot run empty tensors`);
    const dynamic = real.filter((v) => !given[v.name] && (!v.hasShape || v.shape.some((d) => typeof d !== 'number' || d <= 0)));
    if (dynamic.length) {
      throw new ReefError('REEF_CONVERT_DYNAMIC_SHAPE', `TFLite needs fixed input shapes; these inputs have dynamic dimensions: ${dynamic.map((v) => `${v.name} [${v.hasShape ? v.shape.join(',') : 'unknown rank'}]`).join(', ')}. Fix them with --input-shape ${dynamic.map((v) => `${v.name}=${v.hasShape ? v.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1)).join(',') : '1,3,224,224'}`).join(' --input-shape ')}`);
    }
    return real.map((v) => {
      const shape = given[v.name] ?? (v.shape as number[]);
      if (v.hasShape && shape.length !== v.shape.length) throw new ReefError('REEF_INVALID_ARGUMENT', `--input-shape ${v.name} has ${shape.length} dimensions but the input has ${v.shape.length} ([${v.shape.join(',')}])`);
      v.shape.forEach((d, i) => {
        if (typeof d === 'number' && d > 0 && shape[i] !== d) throw new ReefError('REEF_INVALID_ARGUMENT', `--input-shape ${v.name}=${shape.join(',')} contradicts the model's fixed dimension ${i} (${d})`);
      });
      const dtype: DType = v.dtype === 'float64' || v.dtype === 'float16' ? 'float32' : v.dtype;
      if (!['float32', 'int32', 'int64', 'uint8', 'int8', 'bool'].includes(dtype)) throw new ReefError('REEF_CONVERT_UNSUPPORTED_OP', `Input '${v.name}' has dtype ${v.dtype}, which reef convert does not support`);
      const perm = shape.length === 4 && !this.options.keepNchwIo ? NHWC : ident(shape.length);
      const a = this.b.act(v.name, shape, perm, dtype);
      this.b.sg.inputs.push(a.t);
      this.b.graphInputs.add(a.t);
      this.values.set(v.name, a);
      return { name: v.name, onnxShape: shape, tfliteShape: physShape(a), perm };
    });
  }

  #outputs(): IoLayout[] {
    this.b.current = 'graph outputs';
    const used = new Set<number>();
    return this.g.outputs.map((o) => {
      const v = this.values.get(o.name);
      if (!v) throw new ReefError('REEF_MODEL_INVALID', `Invalid ONNX model: graph output '${o.name}' is not produced by any node`);
      let a: Act;
      if (v.kind === 'const') {
        if (size(v.c.shape) === 0) throw new ReefError('REEF_CONVERT_UNSUPPORTED_OP', `Graph output '${o.name}' is an empty constant (shape [${v.c.shape}]); TFLite has no empty tensors`);
        const dtype: DType = v.c.dtype === 'float64' || v.c.dtype === 'float16' ? 'float32' : v.c.dtype;
        a = this.b.act(o.name, v.c.shape, ident(v.c.shape.length), dtype);
        const c = this.b.constant(v.c, `${o.name}/value`, dtype);
        const sh = this.b.int32(v.c.shape, `${o.name}/shape`);
        this.b.op('RESHAPE', [c, sh], [a.t], { type: 'ReshapeOptions', value: { newShape: v.c.shape } });
      } else {
        a = this.b.materialize(v);
        // 4-D outputs leave NHWC, or NCHW when they already are (always NCHW with --keep-nchw-io); others in their ONNX layout.
        const target = a.shape.length === 4 && !this.options.keepNchwIo && !isIdentity(a.perm) ? NHWC : ident(a.shape.length);
        if (!a.perm.every((p, i) => p === target[i])) {
          const before = this.b.transposes.length;
          a = this.b.toPerm(a, target);
          for (let k = before; k < this.b.transposes.length; k++) this.b.transposes[k]!.edge = true;
        }
        if (used.has(a.t) || this.b.sg.inputs.includes(a.t)) {
          const copy = this.b.act(o.name, a.shape, a.perm, a.dtype);
          const sh = this.b.int32(physShape(a), `${o.name}/shape`);
          this.b.op('RESHAPE', [a.t, sh], [copy.t], { type: 'ReshapeOptions', value: { newShape: physShape(a) } });
          a = copy;
        }
      }
      used.add(a.t);
      for (const t of this.b.sg.tensors) if (t.name === o.name) t.name = `${o.name}/pre`;
      this.b.sg.tensors[a.t]!.name = o.name;
      this.b.sg.outputs.push(a.t);
      return { name: o.name, onnxShape: a.shape, tfliteShape: physShape(a), perm: a.perm };
    });
  }

  // ---- helpers over values ----

  fail(why: string): never {
    throw unsupported(this.node, this.nodeIndex, why);
  }

  input(k: number): Value | undefined {
    const name = this.node.inputs[k];
    if (!name) return undefined;
    const v = this.values.get(name);
    if (!v) throw new ReefError('REEF_MODEL_INVALID', `Invalid ONNX model: node ${this.nodeIndex} '${this.node.name}' (${this.node.opType}) reads '${name}', which nothing produced`);
    return v;
  }

  act(k: number): Act {
    const v = this.input(k);
    if (!v) this.fail(`input ${k} is missing`);
    if (v.kind === 'const') return this.constAct(v.c);
    return v;
  }

  constIn(k: number, what: string): Const | undefined {
    const v = this.input(k);
    if (!v) return undefined;
    if (v.kind !== 'const') this.fail(`${what} (input ${k}) must be a constant for TFLite, but it is computed at run time`);
    return v.c;
  }

  /** A constant used where an activation is needed (identity perm). */
  constAct(c: Const): Act {
    const dtype: DType = c.dtype === 'float32' || c.dtype === 'float64' ? 'float32' : c.dtype === 'int64' ? 'int32' : c.dtype;
    return { kind: 'act', t: this.b.constant(c, `${this.b.current}/const`, dtype), shape: c.shape, perm: ident(c.shape.length), dtype };
  }

  out(k: number): string {
    return this.node.outputs[k] || `${this.b.current}:${k}`;
  }

  set(k: number, v: Value): void {
    const name = this.node.outputs[k];
    if (name) this.values.set(name, v);
  }

  unary(opcode: string, x: Act, options?: { type: string; value: object }): Act {
    return this.b.unary(opcode, [x.t], this.out(0), x.shape, x.perm, options);
  }

  /** A constant laid out to combine elementwise with an activation of `shape`/`perm`. */
  constFor(c: Const, rank: number, perm: number[]): Const {
    if (size(c.shape) === 1 && c.shape.length <= rank) return { ...c, shape: [] };
    const full = c.shape.length < rank ? { ...c, shape: [...Array<number>(rank - c.shape.length).fill(1), ...c.shape] } : c;
    return transposeConst(full, perm);
  }

  binary(opcode: string, a: Value, bv: Value): Act {
    if (a.kind === 'const' && bv.kind === 'const') return this.binary(opcode, this.constAct(a.c), bv);
    const acts = [a, bv].filter((v): v is Act => v.kind === 'act').map((v) => this.b.materialize(v));
    const shapes = [a, bv].map((v) => (v.kind === 'act' ? v.shape : v.c.shape));
    const shape = broadcastShapes(shapes[0]!, shapes[1]!);
    if (!shape) this.fail(`shapes [${shapes[0]}] and [${shapes[1]}] do not broadcast`);
    const r = shape.length;
    const ref = acts.find((x) => x.shape.length === r) ?? acts[0]!;
    const perm = ref.shape.length === r ? ref.perm : ident(r);
    const operand = (v: Value, i: number): number => {
      if (v.kind === 'const') {
        return this.b.constant(this.constFor(v.c, r, perm), `${this.b.current}/c${i}`, ref.dtype === 'float32' ? 'float32' : undefined);
      }
      let x = this.b.materialize(v);
      if (x.shape.length < r) {
        x = this.b.reshape(x, [...Array<number>(r - x.shape.length).fill(1), ...x.shape], `${this.out(0)}/rank${i}`);
      }
      return this.b.toPerm(x, perm).t;
    };
    const ins = [operand(a, 0), operand(bv, 1)];
    return this.b.unary(opcode, ins, this.out(0), shape, perm);
  }

  // ---- the ops ----

  #convertNode(n: OnnxNode, i: number): void {
    if (n.domain && n.domain !== 'ai.onnx') throw unsupported(n, i, `domain '${n.domain}' is not the standard ONNX domain`);
    const ins = n.inputs.map((x) => (x ? this.values.get(x) : undefined));
    const missing = n.inputs.findIndex((x, k) => x && !ins[k]);
    if (missing >= 0) throw new ReefError('REEF_MODEL_INVALID', `Invalid ONNX model: node ${i} '${n.name}' (${n.opType}) reads '${n.inputs[missing]}', which nothing produced`);
    // Constant folding (Shape needs only the static shape of its input).
    if (ins.every((v) => !v || v.kind === 'const') || n.opType === 'Shape' || n.opType === 'Size') {
      const consts = ins.map((v) => (v?.kind === 'const' ? v.c : v ? makeConst(v.dtype, v.shape, new Float64Array(0)) : undefined));
      const r = n.opType === 'Shape' || n.opType === 'Size' || ins.every((v) => !v || v.kind === 'const') ? foldNode(n, consts, this.opset, `node ${i} '${n.name}' (${n.opType})`) : undefined;
      if (r) {
        this.folded++;
        r.forEach((c, k) => this.set(k, { kind: 'const', c }));
        return;
      }
    }
    const op = n.opType;
    if (UNARY_OPS[op]) { this.set(0, this.unary(UNARY_OPS[op]!, this.b.materialize(this.act(0)))); return; }
    if (BINARY_OPS[op] && n.inputs.length === 2) { this.#binaryOp(op); return; }
    switch (op) {
      case 'Identity': case 'Dropout': {
        const x = this.input(0)!;
        if (this.#used(n.outputs[1])) this.fail('the Dropout mask output is used');
        this.set(0, x);
        return;
      }
      case 'Sum': case 'Max': case 'Min': case 'Mean': {
        const opcode = op === 'Max' ? 'MAXIMUM' : op === 'Min' ? 'MINIMUM' : 'ADD';
        let acc: Value = this.input(0)!;
        for (let k = 1; k < n.inputs.length; k++) acc = this.binary(opcode, acc, this.input(k)!);
        if (op === 'Mean') acc = this.binary('MUL', acc, { kind: 'const', c: makeConst('float32', [], [1 / n.inputs.length]) });
        this.set(0, acc);
        return;
      }
      case 'Cast': {
        const to = intAttr(n, 'to', 1);
        const x = this.act(0);
        if ((to === 1 || to === 10 || to === 11) && x.dtype === 'float32') { this.set(0, x); return; }
        const dt: DType | undefined = ({ 1: 'float32', 6: 'int32', 7: 'int32', 2: 'uint8', 3: 'int8', 9: 'bool' } as Record<number, DType>)[to];
        if (!dt) this.fail(`cast to type ${to}`);
        this.set(0, this.b.unary('CAST', [x.t], this.out(0), x.shape, x.perm, undefined, dt));
        return;
      }
      case 'Conv': this.#conv(); return;
      case 'ConvTranspose': this.#convTranspose(); return;
      case 'BatchNormalization': this.#batchNorm(); return;
      case 'MaxPool': case 'AveragePool': this.#pool(); return;
      case 'GlobalAveragePool': case 'GlobalMaxPool': {
        const x = this.b.materialize(this.act(0));
        const axes = ident(x.shape.length).slice(2);
        this.set(0, this.#reduce(op === 'GlobalAveragePool' ? 'MEAN' : 'REDUCE_MAX', x, axes, true));
        return;
      }
      case 'ReduceMean': case 'ReduceMax': case 'ReduceMin': case 'ReduceSum': case 'ReduceProd': {
        const x = this.b.materialize(this.act(0));
        const fromInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
        let axes = fromInput ? (this.constIn(1, 'axes') ? Array.from(this.constIn(1, 'axes')!.data) : undefined) : intsAttr(n, 'axes');
        if (!axes || axes.length === 0) {
          if (intAttr(n, 'noop_with_empty_axes', 0)) { this.set(0, x); return; }
          axes = ident(x.shape.length);
        }
        const code = { ReduceMean: 'MEAN', ReduceMax: 'REDUCE_MAX', ReduceMin: 'REDUCE_MIN', ReduceSum: 'SUM', ReduceProd: 'REDUCE_PROD' }[op]!;
        this.set(0, this.#reduce(code, x, axes.map((a) => normAxis(a, x.shape.length)), intAttr(n, 'keepdims', 1) === 1));
        return;
      }
      case 'Gemm': case 'MatMul': this.#matmul(); return;
      case 'Clip': this.#clip(); return;
      case 'LeakyRelu': {
        const x = this.b.materialize(this.act(0));
        this.set(0, this.unary('LEAKY_RELU', x, { type: 'LeakyReluOptions', value: { alpha: floatAttr(n, 'alpha', 0.01) } }));
        return;
      }
      case 'PRelu': {
        const x = this.b.materialize(this.act(0));
        const s = this.input(1)!;
        const ac = s.kind === 'const' ? this.constFor(s.c, x.shape.length, x.perm) : undefined;
        const alpha = ac ? this.b.constant(ac.shape.length ? ac : { ...ac, shape: [1] }, `${this.out(0)}/alpha`) : this.b.toPerm(s as Act, x.perm).t;
        this.set(0, this.b.unary('PRELU', [x.t, alpha], this.out(0), x.shape, x.perm));
        return;
      }
      case 'HardSigmoid': {
        const x = this.b.materialize(this.act(0));
        const a = floatAttr(n, 'alpha', 0.2), bb = floatAttr(n, 'beta', 0.5);
        const c = (v: number): Value => ({ kind: 'const', c: makeConst('float32', [], [v]) });
        let y = this.binary('MUL', x, c(a));
        y = this.binary('ADD', y, c(bb));
        y = this.binary('MINIMUM', y, c(1));
        this.set(0, this.binary('MAXIMUM', y, c(0)));
        return;
      }
      case 'Reciprocal': this.set(0, this.binary('DIV', { kind: 'const', c: makeConst('float32', [], [1]) }, this.act(0))); return;
      case 'Softmax': case 'LogSoftmax': this.#softmax(op === 'Softmax' ? 'SOFTMAX' : 'LOG_SOFTMAX'); return;
      case 'Transpose': {
        const x = this.input(0)!;
        if (x.kind === 'const') this.fail('unreachable');
        const q = intsAttr(n, 'perm') ?? ident(x.shape.length).reverse();
        const a = this.b.materialize(x);
        const qinv = invertPerm(q);
        this.set(0, { ...a, shape: q.map((p) => a.shape[p]!), perm: a.perm.map((p) => qinv[p]!) });
        return;
      }
      case 'Reshape': case 'Flatten': this.#reshape(); return;
      case 'Squeeze': case 'Unsqueeze': this.#squeeze(op === 'Squeeze'); return;
      case 'Concat': this.#concat(); return;
      case 'Split': this.#split(); return;
      case 'Slice': this.#slice(); return;
      case 'Gather': this.#gather(); return;
      case 'Pad': this.#pad(); return;
      case 'Resize': case 'Upsample': this.#resize(); return;
      case 'Expand': {
        const x = this.b.materialize(this.act(0));
        const target = Array.from(this.constIn(1, 'shape')!.data);
        const shape = broadcastShapes(x.shape, target);
        if (!shape) this.fail(`shape [${x.shape}] does not expand to [${target}]`);
        const src = shape.length > x.shape.length ? this.b.reshape(x, [...Array<number>(shape.length - x.shape.length).fill(1), ...x.shape], `${this.out(0)}/rank`) : x;
        const phys = src.perm.map((p) => shape[p]!);
        const sh = this.b.int32(phys, `${this.out(0)}/shape`);
        this.set(0, this.b.unary('BROADCAST_TO', [src.t, sh], this.out(0), shape, src.perm));
        return;
      }
      default:
        throw unsupported(n, i);
    }
  }

  #binaryOp(op: string): void {
    const a = this.input(0)!;
    let bv = this.input(1)!;
    let code = BINARY_OPS[op]!;
    if (op === 'Pow' && bv.kind === 'const' && size(bv.c.shape) === 1) {
      const e = bv.c.data[0]!;
      const x = a.kind === 'act' ? this.b.materialize(a) : this.constAct(a.c);
      if (e === 1) { this.set(0, x); return; }
      if (e === 2) { this.set(0, this.b.unary('MUL', [x.t, x.t], this.out(0), x.shape, x.perm)); return; }
      if (e === 0.5) { this.set(0, this.unary('SQRT', x)); return; }
    }
    if (op === 'Div' && bv.kind === 'const' && (bv.c.dtype === 'float32' || bv.c.dtype === 'float64')) {
      // x / c -> x * (1/c): the same to float32 rounding for the constants models use, and MUL maps everywhere DIV does not.
      bv = { kind: 'const', c: elementwise([bv.c], (v) => 1 / v)! };
      code = 'MUL';
    }
    if (a.kind === 'act' && a.dtype !== 'float32' || bv.kind === 'act' && bv.dtype !== 'float32') {
      if (code === 'DIV') code = 'FLOOR_DIV';
    }
    this.set(0, this.binary(code, a, bv));
  }

  #reduce(code: string, x: Act, axes: number[], keep: boolean): Act {
    const pinv = invertPerm(x.perm);
    const phys = axes.map((a) => pinv[a]!).sort((p, q) => p - q);
    const ax = this.b.int32(phys, `${this.out(0)}/axes`);
    const shape = keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    const perm = keep ? x.perm : dropAxes(x.perm, axes);
    return this.b.unary(code, [x.t, ax], this.out(0), shape, perm, { type: 'ReducerOptions', value: { keepDims: keep } });
  }

  /** Padding of a 2-D window op: SAME/VALID when the ONNX pads are exactly those, else explicit [top,left,bottom,right]. */
  #padding(inHW: number[], k: number[], s: number[], d: number[], outCeil = false): { mode: 'SAME' | 'VALID'; pads: number[]; out: number[] } {
    const n = this.node;
    const autoPad = stringAttr(n, 'auto_pad', 'NOTSET');
    let pads = intsAttr(n, 'pads') ?? [0, 0, 0, 0];
    const eff = k.map((kk, i) => (kk - 1) * d[i]! + 1);
    const same = inHW.map((x, i) => {
      const out = Math.ceil(x / s[i]!);
      const total = Math.max((out - 1) * s[i]! + eff[i]! - x, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
    if (autoPad === 'SAME_UPPER') pads = [same[0]![0]!, same[1]![0]!, same[0]![1]!, same[1]![1]!];
    else if (autoPad === 'SAME_LOWER') pads = [same[0]![1]!, same[1]![1]!, same[0]![0]!, same[1]![0]!];
    else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
    const out = inHW.map((x, i) => {
      const span = x + pads[i]! + pads[i + 2]! - eff[i]!;
      return (outCeil ? Math.ceil(span / s[i]!) : Math.floor(span / s[i]!)) + 1;
    });
    if (outCeil) {
      // ceil_mode: the last window may start inside the input and run past the end padding.
      inHW.forEach((x, i) => {
        if ((out[i]! - 1) * s[i]! >= x + pads[i]!) out[i]!--;
        const need = (out[i]! - 1) * s[i]! + eff[i]! - (x + pads[i]! + pads[i + 2]!);
        if (need > 0) pads[i + 2] = pads[i + 2]! + need;
      });
    }
    if (pads.every((p) => p === 0)) return { mode: 'VALID', pads, out };
    if (same[0]![0] === pads[0] && same[1]![0] === pads[1] && same[0]![1] === pads[2] && same[1]![1] === pads[3] && out.every((o, i) => o === Math.ceil(inHW[i]! / s[i]!))) return { mode: 'SAME', pads, out };
    return { mode: 'VALID', pads, out };
  }

  #explicitPad(x: Act, pads: number[], value: number): Act {
    const paddings = [0, 0, pads[0]!, pads[2]!, pads[1]!, pads[3]!, 0, 0];
    const pt = this.b.tensor(`${this.out(0)}/paddings`, 'int32', [4, 2], new Uint8Array(Int32Array.from(paddings).buffer));
    const shape = [x.shape[0]!, x.shape[1]!, x.shape[2]! + pads[0]! + pads[2]!, x.shape[3]! + pads[1]! + pads[3]!];
    if (value === 0) return this.b.unary('PAD', [x.t, pt], `${this.out(0)}/pad`, shape, NHWC);
    const v = this.b.float([value], [], `${this.out(0)}/pad_value`);
    return this.b.unary('PADV2', [x.t, pt, v], `${this.out(0)}/pad`, shape, NHWC);
  }

  #spatial(x: Act, what: string): Act {
    if (x.shape.length !== 4) this.fail(`${what} on a ${x.shape.length}-D input (reef converts 2-D ${what}s, NCHW)`);
    return this.b.toPerm(x, NHWC);
  }

  #conv(): void {
    const n = this.node;
    let x = this.#spatial(this.act(0), 'convolution');
    let w = this.constIn(1, 'the weights');
    if (!w) this.fail('no weights');
    let bias = this.constIn(2, 'the bias');
    const [O, Ig, kh, kw] = w.shape as [number, number, number, number];
    const C = x.shape[1]!;
    const group = intAttr(n, 'group', 1);
    if (C !== Ig * group) this.fail(`weights [${w.shape}] with group ${group} do not fit ${C} input channels`);
    const s = intsAttr(n, 'strides') ?? [1, 1], d = intsAttr(n, 'dilations') ?? [1, 1];
    // BatchNormalization right after (and nothing else reading the conv output): fold it in.
    const outName = n.outputs[0]!;
    const cons = this.consumers.get(outName) ?? [];
    let outNames = [outName];
    if (cons.length === 1 && !this.outputNames.has(outName)) {
      const bn = this.g.nodes[cons[0]!]!;
      const params = bn.inputs.slice(1, 5).map((p) => this.values.get(p));
      if (bn.opType === 'BatchNormalization' && bn.inputs[0] === outName && params.every((p) => p?.kind === 'const') && !bn.outputs.slice(1).some((o) => o)) {
        const [g, be, m, v] = params.map((p) => (p as { c: Const }).c) as [Const, Const, Const, Const];
        const eps = floatAttr(bn, 'epsilon', 1e-5);
        const scale = g.data.map((gv, k) => gv / Math.sqrt(v.data[k]! + eps));
        const per = size(w.shape) / O;
        w = { ...w, data: w.data.map((wv, k) => wv * scale[Math.floor(k / per)]!) };
        bias = makeConst('float32', [O], Array.from({ length: O }, (_, k) => ((bias?.data[k] ?? 0) - m.data[k]!) * scale[k]! + be.data[k]!));
        this.skip.add(cons[0]!);
        this.bnFolded++;
        outNames = [outName, bn.outputs[0]!];
      }
    }
    const p = this.#padding([x.shape[2]!, x.shape[3]!], [kh, kw], s, d);
    if (p.mode === 'VALID' && p.pads.some((v) => v)) x = this.#explicitPad(x, p.pads, 0);
    const outShape = [x.shape[0]!, O, ...p.out];
    const b = bias ?? makeConst('float32', [O], new Float64Array(O));
    const conv = (xin: Act, wc: Const, bc: Const, groupName: string, cout: number): Act => {
      const depthwise = group > 1 && Ig === 1 && groupName === '';
      const wt = depthwise ? transposeConst(wc, [1, 2, 3, 0]) : transposeConst(wc, [0, 2, 3, 1]);
      const wi = this.b.constant(wt, `${this.out(0)}${groupName}/weights`);
      const bi = this.b.constant(bc, `${this.out(0)}${groupName}/bias`);
      const shape = [outShape[0]!, cout, outShape[2]!, outShape[3]!];
      const common = { padding: p.mode === 'SAME' ? 0 : 1, strideH: s[0]!, strideW: s[1]!, dilationHFactor: d[0]!, dilationWFactor: d[1]! };
      if (depthwise) return this.b.unary('DEPTHWISE_CONV_2D', [xin.t, wi, bi], this.out(0) + groupName, shape, NHWC, { type: 'DepthwiseConv2DOptions', value: { ...common, depthMultiplier: O / group } });
      return this.b.unary('CONV_2D', [xin.t, wi, bi], this.out(0) + groupName, shape, NHWC, { type: 'Conv2DOptions', value: common });
    };
    let y: Act;
    if (group === 1 || Ig === 1) y = conv(x, w, b, '', O);
    else {
      // Grouped convolution: split the channels, one CONV_2D per group, concatenate.
      const og = O / group;
      const parts = Array.from({ length: group }, (_, k) => this.b.act(`${this.out(0)}/in${k}`, [x.shape[0]!, Ig, x.shape[2]!, x.shape[3]!], NHWC));
      const axisScalar = this.b.tensor(`${this.out(0)}/split_dim`, 'int32', [], new Uint8Array(Int32Array.from([3]).buffer));
      this.b.op('SPLIT', [axisScalar, x.t], parts.map((q) => q.t), { type: 'SplitOptions', value: { numSplits: group } });
      const per = size(w.shape) / O;
      const ys = parts.map((part, k) => conv(part, { ...w, shape: [og, Ig, kh, kw], data: w.data.slice(k * og * per, (k + 1) * og * per) }, { ...b, shape: [og], data: b.data.slice(k * og, (k + 1) * og) }, `/g${k}`, og));
      y = this.b.unary('CONCATENATION', ys.map((q) => q.t), this.out(0), outShape, NHWC, { type: 'ConcatenationOptions', value: { axis: 3 } });
    }
    for (const o of outNames) this.values.set(o, y);
  }

  #convTranspose(): void {
    const n = this.node;
    const x = this.#spatial(this.act(0), 'transposed convolution');
    const w = this.constIn(1, 'the weights')!;
    const bias = this.constIn(2, 'the bias');
    const group = intAttr(n, 'group', 1);
    if (group !== 1) this.fail(`group ${group} (TFLite TRANSPOSE_CONV has no groups)`);
    const d = intsAttr(n, 'dilations') ?? [1, 1];
    if (d.some((v) => v !== 1)) this.fail(`dilations [${d}]`);
    const s = intsAttr(n, 'strides') ?? [1, 1];
    const [, O, kh, kw] = w.shape as [number, number, number, number];
    const inHW = [x.shape[2]!, x.shape[3]!];
    const full = inHW.map((v, i) => (v - 1) * s[i]! + [kh, kw][i]!);
    const outPad = intsAttr(n, 'output_padding') ?? [0, 0];
    let pads = intsAttr(n, 'pads') ?? [0, 0, 0, 0];
    const autoPad = stringAttr(n, 'auto_pad', 'NOTSET');
    const outputShape = intsAttr(n, 'output_shape');
    let outHW: number[];
    if (outputShape || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      outHW = outputShape ? outputShape.slice(-2) : inHW.map((v, i) => v * s[i]!);
      const total = outHW.map((o, i) => full[i]! + outPad[i]! - o);
      // ONNX: SAME_UPPER puts the smaller half first, otherwise the larger half (floor division).
      const small = total.map((t) => Math.floor(t / 2)), big = total.map((t, i) => t - small[i]!);
      pads = autoPad === 'SAME_UPPER' ? [small[0]!, small[1]!, big[0]!, big[1]!] : [big[0]!, big[1]!, small[0]!, small[1]!];
    } else outHW = full.map((f, i) => f + outPad[i]! - pads[i]! - pads[i + 2]!);
    if (pads[0]! < 0 || pads[1]! < 0) this.fail(`output_shape [${outHW}] needs negative leading pads`);
    // A negative end pad extends the output beyond the kernels' reach (bias only there).
    const extra = [Math.max(0, -pads[2]!), Math.max(0, -pads[3]!)];
    // Full-size VALID transposed convolution, then crop the pads (output_padding extends at the end).
    const wt = transposeConst(w, [1, 2, 3, 0]);
    const fullShape = [x.shape[0]!, O, full[0]! + outPad[0]! + extra[0]!, full[1]! + outPad[1]! + extra[1]!];
    const os = this.b.int32(physShape({ shape: fullShape, perm: NHWC }), `${this.out(0)}/output_shape`);
    const wi = this.b.constant(wt, `${this.out(0)}/weights`);
    let y = this.b.unary('TRANSPOSE_CONV', [os, wi, x.t], `${this.out(0)}/full`, fullShape, NHWC, { type: 'TransposeConvOptions', value: { padding: 1, strideH: s[0]!, strideW: s[1]! } });
    if (pads.some((v) => v) || fullShape[2] !== outHW[0] || fullShape[3] !== outHW[1]) {
      const begin = [0, pads[0]!, pads[1]!, 0];
      const size4 = [fullShape[0]!, outHW[0]!, outHW[1]!, O];
      const bt = this.b.int32(begin, `${this.out(0)}/begin`), st = this.b.int32(size4, `${this.out(0)}/size`);
      y = this.b.unary('SLICE', [y.t, bt, st], `${this.out(0)}/crop`, [fullShape[0]!, O, outHW[0]!, outHW[1]!], NHWC);
    }
    if (bias) y = this.b.unary('ADD', [y.t, this.b.constant(bias, `${this.out(0)}/bias`)], this.out(0), y.shape, NHWC, { type: 'AddOptions', value: {} });
    this.set(0, y);
  }

  /** Is this ONNX value the output of an op whose outputs are never negative (Relu, Clip(min >= 0), Sigmoid)? */
  #nonNegative(name: string): boolean {
    const p = this.g.nodes.find((m) => m.outputs.includes(name));
    if (!p) return false;
    if (p.opType === 'Relu' || p.opType === 'Sigmoid' || p.opType === 'Softmax') return true;
    if (p.opType !== 'Clip') return false;
    const lo = this.opset < 11 ? floatAttr(p, 'min', -Infinity) : (() => { const v = this.values.get(p.inputs[1] ?? ''); return v?.kind === 'const' ? v.c.data[0]! : -Infinity; })();
    return lo >= 0;
  }

  #used(name: string | undefined): boolean {
    return !!name && (!!this.consumers.get(name)?.length || this.outputNames.has(name));
  }

  #batchNorm(): void {
    if (this.node.outputs.slice(1).some((o) => this.#used(o))) this.fail('training mode (the running mean/variance outputs are used)');
    const x = this.b.materialize(this.act(0));
    const [g, be, m, v] = [1, 2, 3, 4].map((k) => this.constIn(k, 'the BatchNormalization parameters')!) as [Const, Const, Const, Const];
    const eps = floatAttr(this.node, 'epsilon', 1e-5);
    const C = g.shape[0] ?? 1;
    const scale = makeConst('float32', [C], g.data.map((gv, k) => gv / Math.sqrt(v.data[k]! + eps)));
    const shift = makeConst('float32', [C], be.data.map((bv, k) => bv - m.data[k]! * scale.data[k]!));
    const shapeC = [C, ...Array<number>(Math.max(0, x.shape.length - 2)).fill(1)];
    const y = this.binary('MUL', x, { kind: 'const', c: { ...scale, shape: shapeC } });
    this.set(0, this.binary('ADD', y, { kind: 'const', c: { ...shift, shape: shapeC } }));
  }

  #pool(): void {
    const n = this.node;
    let x = this.#spatial(this.act(0), n.opType);
    const k = intsAttr(n, 'kernel_shape')!;
    const s = intsAttr(n, 'strides') ?? [1, 1];
    const d = intsAttr(n, 'dilations') ?? [1, 1];
    if (d.some((v) => v !== 1)) this.fail(`dilations [${d}]`);
    if (this.#used(n.outputs[1])) this.fail('the Indices output of MaxPool');
    const avg = n.opType === 'AveragePool';
    const ceil = intAttr(n, 'ceil_mode', 0) === 1;
    const p = this.#padding([x.shape[2]!, x.shape[3]!], k, s, d, ceil);
    if (p.mode === 'VALID' && p.pads.some((v) => v)) {
      const include = intAttr(n, 'count_include_pad', 0) === 1;
      if (avg && !include) this.fail(`padding [${p.pads}] that is not SAME with count_include_pad=0${ceil ? ' (ceil_mode)' : ''}`);
      if (avg && ceil) this.fail('ceil_mode with padding');
      // Max pooling pads with -FLT_MAX, except after a ReLU-like op (values >= 0), where 0 gives the same
      // maxima and keeps the padded tensor's range quantizable.
      x = this.#explicitPad(x, p.pads, avg || this.#nonNegative(n.inputs[0]!) ? 0 : -3.4028234663852886e38);
    }
    if (avg && p.mode === 'SAME' && intAttr(n, 'count_include_pad', 0) === 1) this.fail('count_include_pad=1 with SAME padding');
    this.set(0, this.b.unary(avg ? 'AVERAGE_POOL_2D' : 'MAX_POOL_2D', [x.t], this.out(0), [x.shape[0]!, x.shape[1]!, ...p.out], NHWC, {
      type: 'Pool2DOptions', value: { padding: p.mode === 'SAME' ? 0 : 1, strideH: s[0]!, strideW: s[1]!, filterHeight: k[0]!, filterWidth: k[1]! },
    }));
  }

  #matmul(): void {
    const n = this.node;
    const gemm = n.opType === 'Gemm';
    const av = this.input(0)!;
    const bv = this.input(1)!;
    if (av.kind === 'const') this.fail('a constant first operand');
    const transA = gemm && intAttr(n, 'transA', 0) === 1, transB = gemm && intAttr(n, 'transB', 0) === 1;
    const alpha = gemm ? floatAttr(n, 'alpha', 1) : 1, beta = gemm ? floatAttr(n, 'beta', 1) : 1;
    let a: Act = av;
    if (transA) {
      a = this.b.materialize(a);
      a = { ...a, shape: [a.shape[1]!, a.shape[0]!], perm: a.perm.map((p) => 1 - p) };
    }
    const K = a.shape[a.shape.length - 1]!;
    let y: Act;
    if (bv.kind === 'const' && bv.c.shape.length === 2) {
      // FULLY_CONNECTED: weights [N, K].
      let w = transB ? bv.c : transposeConst(bv.c, [1, 0]);
      if (w.shape[1] !== K) this.fail(`weights [${bv.c.shape}] do not fit an input of ${K} features`);
      const N = w.shape[0]!;
      if (alpha !== 1) w = { ...w, data: w.data.map((x) => x * alpha) };
      let input = a;
      if (a.flat && a.shape.length === 2) {
        // Flatten of an NHWC feature map: permute the weight columns instead of the activations.
        const order = a.flat.order;
        const src = w;
        const data = new Float64Array(src.data.length);
        for (let r = 0; r < N; r++) for (let k = 0; k < K; k++) data[r * K + k] = src.data[r * K + order[k]!]!;
        w = { ...w, data };
        input = { ...a, flat: undefined };
      } else input = this.b.toPerm(a, ident(a.shape.length));
      const c = gemm ? this.constIn(2, 'C') : undefined;
      let bias: Const | undefined;
      let addLater: Const | undefined;
      if (c && beta !== 0) {
        const cs = size(c.shape);
        if (cs === N && (c.shape.length === 1 || c.shape[0] === 1) || cs === 1) bias = makeConst('float32', [N], cs === 1 ? new Array(N).fill(c.data[0]! * beta) : c.data.map((v) => v * beta));
        else addLater = { ...c, data: c.data.map((v) => v * beta) };
      }
      const wi = this.b.constant(w, `${this.out(0)}/weights`);
      const bi = this.b.constant(bias ?? makeConst('float32', [N], new Float64Array(N)), `${this.out(0)}/bias`);
      const shape = [...input.shape.slice(0, -1), N];
      const keep = input.shape.length > 2;
      y = this.b.unary('FULLY_CONNECTED', [input.t, wi, bi], addLater ? `${this.out(0)}/mm` : this.out(0), shape, ident(shape.length), { type: 'FullyConnectedOptions', value: { keepNumDims: keep } });
      if (addLater) y = this.binary('ADD', y, { kind: 'const', c: addLater });
    } else {
      const x = this.b.toPerm(a, ident(a.shape.length));
      const bb = bv.kind === 'const' ? this.constAct(bv.c) : this.b.toPerm(this.b.materialize(bv), ident(bv.shape.length));
      if (x.shape.length < 2 || bb.shape.length < 2) this.fail('1-D MatMul operands');
      const batch = broadcastShapes(x.shape.slice(0, -2), bb.shape.slice(0, -2));
      if (!batch) this.fail('batch dimensions that do not broadcast');
      const shape = [...batch, x.shape[x.shape.length - 2]!, bb.shape[bb.shape.length - (transB ? 2 : 1)]!];
      y = this.b.unary('BATCH_MATMUL', [x.t, bb.t], this.out(0), shape, ident(shape.length), { type: 'BatchMatMulOptions', value: { adjY: transB } });
      if (alpha !== 1) y = this.binary('MUL', y, { kind: 'const', c: makeConst('float32', [], [alpha]) });
      const c = gemm ? this.input(2) : undefined;
      if (c && beta !== 0) y = this.binary('ADD', y, c.kind === 'const' ? { kind: 'const', c: { ...c.c, data: c.c.data.map((v) => v * beta) } } : c);
    }
    this.set(0, y);
  }

  #clip(): void {
    const n = this.node;
    const x = this.b.materialize(this.act(0));
    let lo = -Infinity, hi = Infinity;
    if (this.opset < 11) { lo = floatAttr(n, 'min', -3.4028234663852886e38); hi = floatAttr(n, 'max', 3.4028234663852886e38); }
    else {
      const a = this.constIn(1, 'min'), b = this.constIn(2, 'max');
      if (a) lo = a.data[0]!;
      if (b) hi = b.data[0]!;
    }
    if (lo <= -3.4e38) lo = -Infinity;
    if (hi >= 3.4e38) hi = Infinity;
    if (lo === 0 && hi === 6) this.set(0, this.unary('RELU6', x));
    else if (lo === -1 && hi === 1) this.set(0, this.unary('RELU_N1_TO_1', x));
    else if (lo === 0 && hi === Infinity) this.set(0, this.unary('RELU', x));
    else {
      let y: Act = x;
      if (lo !== -Infinity) y = this.binary('MAXIMUM', y, { kind: 'const', c: makeConst('float32', [], [lo]) });
      if (hi !== Infinity) y = this.binary('MINIMUM', y, { kind: 'const', c: makeConst('float32', [], [hi]) });
      if (y === x) y = this.b.unary('RESHAPE', [x.t, this.b.int32(physShape(x), `${this.out(0)}/shape`)], this.out(0), x.shape, x.perm, { type: 'ReshapeOptions', value: { newShape: physShape(x) } });
      this.set(0, y);
    }
  }

  #softmax(code: string): void {
    const x = this.b.materialize(this.act(0));
    const r = x.shape.length;
    const axis = normAxis(intAttr(this.node, 'axis', this.opset >= 13 ? -1 : 1), r);
    if (this.opset < 13 && axis !== r - 1) {
      // Before opset 13 Softmax coerces the input to 2-D at `axis`.
      const flat = this.b.reshape(x, [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))], `${this.out(0)}/2d`);
      const y = this.b.unary(code, [flat.t], `${this.out(0)}/sm`, flat.shape, [0, 1], code === 'SOFTMAX' ? { type: 'SoftmaxOptions', value: { beta: 1 } } : undefined);
      this.set(0, this.b.reshape(y, x.shape, this.out(0)));
      return;
    }
    const target = [...x.perm.filter((p) => p !== axis), axis];
    const src = this.b.toPerm(x, target);
    this.set(0, this.b.unary(code, [src.t], this.out(0), x.shape, target, code === 'SOFTMAX' ? { type: 'SoftmaxOptions', value: { beta: 1 } } : undefined));
  }

  #reshape(): void {
    const n = this.node;
    const x = this.b.materialize(this.act(0));
    let shape: number[];
    if (n.opType === 'Flatten') {
      const axis = normAxis(intAttr(n, 'axis', 1), x.shape.length);
      shape = [size(x.shape.slice(0, axis)), size(x.shape.slice(axis))];
    } else {
      const spec = this.opset >= 5 ? Array.from(this.constIn(1, 'the target shape')!.data) : intsAttr(n, 'shape') ?? [];
      shape = reshapeTarget(x.shape, spec, intAttr(n, 'allowzero', 0) === 1);
    }
    if (size(shape) !== size(x.shape)) this.fail(`cannot reshape [${x.shape}] to [${shape}]`);
    if (this.#channelShuffle(x, shape)) return;
    if (!isIdentity(x.perm) && !transposeIsReshape(physShape(x), invertPerm(x.perm)) && shape.length === 2 && shape[0] === x.shape[0] && x.shape.length === 4 && this.#onlyDenseConsumers(n.outputs[0]!)) {
      // Flatten of an NHWC feature map: keep the physical order, let the Gemm permute its weights.
      const [N, C, H, W] = x.shape as [number, number, number, number];
      const order = new Int32Array(C * H * W);
      let k = 0;
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) order[k++] = c * H * W + h * W + w;
      const sh = this.b.int32([N, C * H * W], `${this.out(0)}/shape`);
      const y = this.b.unary('RESHAPE', [x.t, sh], this.out(0), shape, [0, 1], { type: 'ReshapeOptions', value: { newShape: [N, C * H * W] } });
      this.set(0, { ...y, flat: { src: x, order } });
      return;
    }
    this.set(0, this.b.reshape(x, shape, this.out(0)));
  }

  #onlyDenseConsumers(name: string): boolean {
    const c = this.consumers.get(name) ?? [];
    return c.length > 0 && !this.outputNames.has(name) && c.every((i) => {
      const m = this.g.nodes[i]!;
      return (m.opType === 'Gemm' && intAttr(m, 'transA', 0) === 0 || m.opType === 'MatMul') && m.inputs[0] === name && this.values.get(m.inputs[1]!)?.kind === 'const';
    });
  }

  /**
   * ShuffleNet's channel shuffle: Reshape [N*C/g, g, H*W] -> Transpose(1,0,2) -> Reshape
   * [g, N, C/g, H, W] -> Gather(axis 0, k): output k holds channels k, k+g, k+2g... of the
   * input. Written as one channel-selecting 1x1 convolution per output on the NHWC tensor (no 5-D
   * tensors, no TRANSPOSE, Edge TPU friendly).
   */
  #channelShuffle(x: Act, shape: number[]): boolean {
    if (x.shape.length !== 4 || x.shape[0] !== 1 || shape.length !== 3) return false;
    const [, C, H, W] = x.shape as [number, number, number, number];
    const g = shape[1]!;
    if (shape[0] !== C / g || shape[2] !== H * W) return false;
    const one = (name: string, op: string): number | undefined => {
      const c = this.consumers.get(name) ?? [];
      return c.length === 1 && this.g.nodes[c[0]!]!.opType === op && !this.outputNames.has(name) ? c[0] : undefined;
    };
    const ti = one(this.node.outputs[0]!, 'Transpose');
    if (ti === undefined) return false;
    const tr = this.g.nodes[ti]!;
    if ((intsAttr(tr, 'perm') ?? []).join(',') !== '1,0,2') return false;
    const ri = one(tr.outputs[0]!, 'Reshape');
    if (ri === undefined) return false;
    const r2 = this.g.nodes[ri]!;
    const spec = this.values.get(r2.inputs[1] ?? '');
    if (spec?.kind !== 'const' || reshapeTarget([g, C / g, H * W], Array.from(spec.c.data)).join(',') !== [g, 1, C / g, H, W].join(',')) return false;
    const gathers = this.consumers.get(r2.outputs[0]!) ?? [];
    if (this.outputNames.has(r2.outputs[0]!) || !gathers.every((i) => {
      const m = this.g.nodes[i]!;
      const idx = this.values.get(m.inputs[1] ?? '');
      return m.opType === 'Gather' && intAttr(m, 'axis', 0) === 0 && idx?.kind === 'const' && idx.c.shape.length === 0;
    })) return false;
    const src = this.b.toPerm(x, NHWC);
    for (const i of gathers) {
      const m = this.g.nodes[i]!;
      const kv = (this.values.get(m.inputs[1]!) as { c: Const }).c.data[0]!;
      const k = kv < 0 ? kv + g : kv;
      const name = m.outputs[0]!;
      // A 1x1 convolution selecting channels k, k+g, ...: exact in float and in int8 (weights 0/1), and
      // it maps to the Edge TPU, where a strided slice with a non-unit stride does not.
      const sel = new Float64Array((C / g) * C);
      for (let i = 0; i < C / g; i++) sel[i * C + g * i + k] = 1;
      const wt = this.b.constant({ dtype: 'float32', shape: [C / g, 1, 1, C], data: sel }, `${name}/select`);
      const bt = this.b.constant(makeConst('float32', [C / g], new Float64Array(C / g)), `${name}/bias`);
      this.values.set(name, this.b.unary('CONV_2D', [src.t, wt, bt], name, [1, C / g, H, W], NHWC, { type: 'Conv2DOptions', value: { padding: 1, strideH: 1, strideW: 1 } }));
      this.skip.add(i);
    }
    this.skip.add(ti).add(ri);
    return true;
  }

  #squeeze(squeeze: boolean): void {
    const n = this.node;
    const x = this.b.materialize(this.act(0));
    const axesIn = this.opset >= 13 ? (this.constIn(1, 'axes') ? Array.from(this.constIn(1, 'axes')!.data) : undefined) : intsAttr(n, 'axes');
    let shape: number[], perm: number[];
    if (squeeze) {
      const axes = (axesIn ?? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => normAxis(a, x.shape.length));
      if (axes.some((a) => x.shape[a] !== 1)) this.fail(`squeezing axes [${axes}] of shape [${x.shape}] that are not 1`);
      shape = x.shape.filter((_, i) => !axes.includes(i));
      perm = dropAxes(x.perm, axes);
    } else {
      if (!axesIn) this.fail('no axes');
      const rank = x.shape.length + axesIn.length;
      const axes = axesIn.map((a) => normAxis(a, rank));
      const map: number[] = [];
      shape = [];
      for (let i = 0, j = 0; i < rank; i++) {
        if (axes.includes(i)) shape.push(1);
        else { map[j++] = i; shape.push(x.shape[j - 1]!); }
      }
      // New size-1 axes go last physically (free: same bytes).
      perm = [...x.perm.map((p) => map[p]!), ...axes.sort((p, q) => p - q)];
    }
    const phys = perm.map((p) => shape[p]!);
    const sh = this.b.int32(phys, `${this.out(0)}/shape`);
    this.set(0, this.b.unary('RESHAPE', [x.t, sh], this.out(0), shape, perm, { type: 'ReshapeOptions', value: { newShape: phys } }, x.dtype));
  }

  #concat(): void {
    const n = this.node;
    const vals = n.inputs.map((_, k) => this.input(k)!).filter((v) => v.kind === 'act' || size(v.c.shape) > 0);
    const acts = vals.filter((v): v is Act => v.kind === 'act').map((a) => this.b.materialize(a));
    const r = acts[0]!.shape.length;
    const axis = normAxis(intAttr(n, 'axis', 1), r);
    const perm = acts[0]!.perm;
    let ai = 0;
    const ins = vals.map((v) => (v.kind === 'const' ? this.b.constant(transposeConst(v.c, perm), `${this.out(0)}/c`) : this.b.toPerm(acts[ai++]!, perm).t));
    const shape = [...acts[0]!.shape];
    shape[axis] = vals.reduce((s, v) => s + (v.kind === 'act' ? v.shape[axis]! : v.c.shape[axis]!), 0);
    this.set(0, this.b.unary('CONCATENATION', ins, this.out(0), shape, perm, { type: 'ConcatenationOptions', value: { axis: invertPerm(perm)[axis]! } }));
  }

  #split(): void {
    const n = this.node;
    const x = this.b.materialize(this.act(0));
    const axis = normAxis(intAttr(n, 'axis', 0), x.shape.length);
    const dim = x.shape[axis]!;
    let sizes = this.opset >= 13 ? (this.constIn(1, 'split') ? Array.from(this.constIn(1, 'split')!.data) : undefined) : intsAttr(n, 'split');
    if (!sizes) {
      const k = this.opset >= 18 && attr(n, 'num_outputs') ? intAttr(n, 'num_outputs', 1) : n.outputs.length;
      const each = Math.ceil(dim / k);
      sizes = Array.from({ length: k }, (_, i) => Math.min(each, dim - i * each));
    }
    const pax = invertPerm(x.perm)[axis]!;
    const outs = sizes.map((s, k) => {
      const shape = [...x.shape];
      shape[axis] = s;
      return this.b.act(this.out(k), shape, x.perm);
    });
    const st = this.b.int32(sizes, `${this.out(0)}/sizes`);
    const at = this.b.tensor(`${this.out(0)}/axis`, 'int32', [], new Uint8Array(Int32Array.from([pax]).buffer));
    this.b.op('SPLIT_V', [x.t, st, at], outs.map((o) => o.t), { type: 'SplitVOptions', value: { numSplits: sizes.length } });
    outs.forEach((o, k) => this.set(k, o));
  }

  #slice(): void {
    const n = this.node;
    const x = this.b.materialize(this.act(0));
    const r = x.shape.length;
    const ints = (k: number, what: string): number[] | undefined => { const c = this.constIn(k, what); return c ? Array.from(c.data) : undefined; };
    const starts = this.opset >= 10 ? ints(1, 'starts')! : intsAttr(n, 'starts')!;
    const ends = this.opset >= 10 ? ints(2, 'ends')! : intsAttr(n, 'ends')!;
    const axes = (this.opset >= 10 ? ints(3, 'axes') : intsAttr(n, 'axes')) ?? starts.map((_, i) => i);
    const steps = (this.opset >= 10 ? ints(4, 'steps') : undefined) ?? axes.map(() => 1);
    const spec = x.shape.map((d) => ({ start: 0, step: 1, count: d }));
    axes.forEach((a, i) => {
      const ax = normAxis(a, r);
      if (steps[i] === 0) this.fail('a step of 0');
      spec[ax] = sliceAxis(x.shape[ax]!, starts[i]!, ends[i]!, steps[i]!);
    });
    const shape = spec.map((s) => s.count);
    const ps = x.perm.map((l) => spec[l]!);
    let endMask = 0;
    const end = ps.map((s, j) => {
      const e = s.start + s.count * s.step;
      if (e < 0) { endMask |= 1 << j; return 0; }
      return e;
    });
    const bt = this.b.int32(ps.map((s) => s.start), `${this.out(0)}/begin`);
    const et = this.b.int32(end, `${this.out(0)}/end`);
    const stt = this.b.int32(ps.map((s) => s.step), `${this.out(0)}/strides`);
    this.set(0, this.b.unary('STRIDED_SLICE', [x.t, bt, et, stt], this.out(0), shape, x.perm, { type: 'StridedSliceOptions', value: { endMask } }, x.dtype));
  }

  #gather(): void {
    const n = this.node;
    let x = this.b.materialize(this.act(0));
    const idx = this.constIn(1, 'the indices')!;
    const axis = normAxis(intAttr(n, 'axis', 0), x.shape.length);
    const dim = x.shape[axis]!;
    const ic = { ...idx, data: idx.data.map((v) => (v < 0 ? v + dim : v)) };
    if (ic.data.some((v) => v < 0 || v >= dim)) this.fail(`indices out of range for dimension ${dim}`);
    if (idx.shape.length > 1) x = this.b.toPerm(x, ident(x.shape.length));
    const pax = invertPerm(x.perm)[axis]!;
    const it = this.b.constant(ic, `${this.out(0)}/indices`, 'int32');
    const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
    const perm = idx.shape.length === 0 ? dropAxes(x.perm, [axis]) : idx.shape.length === 1 ? x.perm : ident(shape.length);
    this.set(0, this.b.unary('GATHER', [x.t, it], this.out(0), shape, perm, { type: 'GatherOptions', value: { axis: pax } }, x.dtype));
  }

  #pad(): void {
    const n = this.node;
    const x = this.b.materialize(this.act(0));
    const r = x.shape.length;
    const mode = stringAttr(n, 'mode', 'constant');
    let pads: number[];
    let value = 0;
    if (this.opset < 11) { pads = intsAttr(n, 'pads') ?? intsAttr(n, 'paddings')!; value = floatAttr(n, 'value', 0); }
    else {
      pads = Array.from(this.constIn(1, 'pads')!.data);
      const v = this.constIn(2, 'constant_value');
      if (v) value = v.data[0] ?? 0;
      const axesC = this.constIn(3, 'axes');
      if (axesC) {
        const axes = Array.from(axesC.data).map((a) => normAxis(a, r));
        const full = new Array<number>(2 * r).fill(0);
        axes.forEach((a, i) => { full[a] = pads[i]!; full[a + r] = pads[i + axes.length]!; });
        pads = full;
      }
    }
    if (pads.some((p) => p < 0)) this.fail(`negative pads [${pads}]`);
    const paddings = x.perm.flatMap((l) => [pads[l]!, pads[l + r]!]);
    const pt = this.b.tensor(`${this.out(0)}/paddings`, 'int32', [r, 2], new Uint8Array(Int32Array.from(paddings).buffer));
    const shape = x.shape.map((d, i) => d + pads[i]! + pads[i + r]!);
    if (mode === 'constant') {
      if (value === 0) this.set(0, this.b.unary('PAD', [x.t, pt], this.out(0), shape, x.perm));
      else this.set(0, this.b.unary('PADV2', [x.t, pt, this.b.float([value], [], `${this.out(0)}/value`)], this.out(0), shape, x.perm));
    } else if (mode === 'reflect') {
      this.set(0, this.b.unary('MIRROR_PAD', [x.t, pt], this.out(0), shape, x.perm, { type: 'MirrorPadOptions', value: { mode: 0 } }));
    } else this.fail(`mode '${mode}'`);
  }

  #resize(): void {
    const n = this.node;
    const x = this.#spatial(this.act(0), n.opType);
    const upsample = n.opType === 'Upsample';
    let scales: number[] | undefined, sizes: number[] | undefined;
    if (upsample) scales = this.opset >= 9 ? Array.from(this.constIn(1, 'scales')!.data) : attr(n, 'scales')?.value as number[] | undefined;
    else if (this.opset < 11) scales = Array.from(this.constIn(1, 'scales')!.data);
    else {
      const sc = this.constIn(2, 'scales'), sz = this.constIn(3, 'sizes');
      if (sz && size(sz.shape) > 0) sizes = Array.from(sz.data);
      else if (sc && size(sc.shape) > 0) scales = Array.from(sc.data);
    }
    if (sizes && sizes.length !== 4 || scales && scales.length !== 4 || !sizes && !scales) this.fail('scales/sizes that are not given for all 4 dimensions (axes is not supported)');
    const out = sizes ?? x.shape.map((d, i) => Math.floor(d * scales![i]!));
    // With scales, ONNX maps coordinates by the scale itself; TFLite by in/out sizes: equal only when in*scale is whole.
    if (scales && x.shape.some((d, i) => Math.abs(d * scales![i]! - out[i]!) > 1e-6)) this.fail(`scales [${scales}] give a fractional output size from [${x.shape}] (TFLite maps coordinates by the size ratio)`);
    if (out[0] !== x.shape[0] || out[1] !== x.shape[1]) this.fail('resizing the batch or channel dimension');
    let mode = stringAttr(n, 'mode', 'nearest');
    if (mode === 'bilinear') mode = 'linear';
    const coord = upsample || this.opset < 11 ? 'asymmetric' : stringAttr(n, 'coordinate_transformation_mode', 'half_pixel');
    const nearestMode = upsample || this.opset < 11 ? 'floor' : stringAttr(n, 'nearest_mode', 'round_prefer_floor');
    const integer = out.slice(2).every((o, i) => o % x.shape[2 + i]! === 0);
    let alignCorners = false, halfPixelCenters = false;
    if (mode === 'nearest') {
      // At integer upscales <= 2, asymmetric coordinates are k/2: round_prefer_floor == floor. At integer upscales, half_pixel never ties.
      if (coord === 'asymmetric' && (nearestMode === 'floor' || nearestMode === 'round_prefer_floor' && integer && out.slice(2).every((o, i) => o / x.shape[2 + i]! <= 2))) { /* plain */ }
      else if ((coord === 'half_pixel' || coord === 'pytorch_half_pixel' && out.slice(2).every((o) => o > 1)) && (nearestMode === 'round_prefer_ceil' || nearestMode === 'round_prefer_floor' && integer)) halfPixelCenters = true;
      else if (coord === 'align_corners' && nearestMode === 'round_prefer_ceil') alignCorners = true;
      else this.fail(`nearest resize with coordinate_transformation_mode '${coord}' and nearest_mode '${nearestMode}' (TFLite rounds half_pixel up, asymmetric down)`);
    } else if (mode === 'linear') {
      if (coord === 'align_corners') alignCorners = true;
      else if (coord === 'half_pixel' || coord === 'pytorch_half_pixel' && out.slice(2).every((o) => o > 1)) halfPixelCenters = true;
      else if (coord !== 'asymmetric') this.fail(`linear resize with coordinate_transformation_mode '${coord}'`);
    } else this.fail(`mode '${mode}'`);
    if (!upsample && this.opset >= 11 && !(stringAttr(n, 'keep_aspect_ratio_policy', 'stretch') === 'stretch')) this.fail('keep_aspect_ratio_policy');
    const st = this.b.int32([out[2]!, out[3]!], `${this.out(0)}/size`);
    const code = mode === 'nearest' ? 'RESIZE_NEAREST_NEIGHBOR' : 'RESIZE_BILINEAR';
    this.set(0, this.b.unary(code, [x.t, st], this.out(0), out, NHWC, { type: mode === 'nearest' ? 'ResizeNearestNeighborOptions' : 'ResizeBilinearOptions', value: { alignCorners, halfPixelCenters } }));
  }
}

/**
 * Zero rows/columns to add before and after a kernel so that TensorFlow's SAME padding reads exactly
 * the input rows the explicit ONNX pads [top, left, bottom, right] read (stride s, no dilation):
 * e.g. PyTorch's 3x3 stride-2 pad-1 window on an even input starts one row above SAME's, and a 4x4
 * kernel with a zero last row/column under SAME reads rows 2i-1..2i+2, the zero row at 2i+2.
 * The output size must be SAME's (ceil(in / s)). Null when no enlargement up to 2x the taps works.
 */
export function zeroTapsForSame(inHW: number[], k: number[], s: number[], pads: number[]): { before: number[]; after: number[] } | null {
  const before: number[] = [], after: number[] = [];
  for (let i = 0; i < 2; i++) {
    const x = inHW[i]!, kk = k[i]!, st = s[i]!, pt = pads[i]!, pb = pads[i + 2]!;
    const o = Math.floor((x + pt + pb - kk) / st) + 1;
    if (o !== Math.ceil(x / st)) return null;
    let best: [number, number] | null = null;
    for (let es = 0; es <= kk; es++) {
      for (let ee = 0; ee <= kk; ee++) {
        const total = Math.max((o - 1) * st + kk + es + ee - x, 0);
        if (Math.floor(total / 2) - es === pt && (!best || es + ee < best[0] + best[1])) best = [es, ee];
      }
    }
    if (!best) return null;
    before.push(best[0]);
    after.push(best[1]);
  }
  const taps = (k[0]! + before[0]! + after[0]!) * (k[1]! + before[1]! + after[1]!);
  return taps <= 2 * k[0]! * k[1]! ? { before, after } : null;
}

/** A TFLite kernel [O, kh, kw, I] (depthwise: [1, kh, kw, C]) with zero rows/columns added before and after. */
function padKernel(w: Float32Array, shape: number[], z: { before: number[]; after: number[] }): { data: Float32Array; shape: number[] } {
  const [O, kh, kw, I] = shape as [number, number, number, number];
  const KH = kh + z.before[0]! + z.after[0]!, KW = kw + z.before[1]! + z.after[1]!;
  const out = new Float32Array(O * KH * KW * I);
  for (let o = 0; o < O; o++) {
    for (let r = 0; r < kh; r++) {
      for (let c = 0; c < kw; c++) out.set(w.subarray(((o * kh + r) * kw + c) * I, ((o * kh + r) * kw + c + 1) * I), ((o * KH + r + z.before[0]!) * KW + c + z.before[1]!) * I);
    }
  }
  return { data: out, shape: [O, KH, KW, I] };
}

/** Float32 contents of a constant tensor (a copy). */
function constFloats(m: TfliteModel, t: number): Float32Array {
  const b = m.buffers[m.subgraphs[0]!.tensors[t]!.buffer]!;
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * A zero PAD of height/width whose only reader is a VALID CONV_2D (no dilation) becomes zero kernel
 * taps + SAME padding (zeroTapsForSame). XNNPACK (TFLite 2.9) fuses a float PAD into the convolution
 * but runs an int8 PAD as its own copy, element by element when the channels are few: fastestdet's
 * 352x352x3 input PAD cost its int8 model 0.6 ms of 6. Not done for DEPTHWISE_CONV_2D: a 4x4
 * depthwise kernel runs XNNPACK's 25-tap kernel, measured slower than the PAD (+1.4 ms float,
 * +3 ms int8 on fastestdet's six); nor AVERAGE_POOL_2D (as a depthwise convolution: not faster).
 */
export function foldPads(m: TfliteModel): number {
  const sg = m.subgraphs[0]!;
  const { uses, producer } = readersAndProducers(sg);
  const isConst = (t: number): boolean => t >= 0 && (m.buffers[sg.tensors[t]!.buffer]?.length ?? 0) > 0;
  const drop = new Set<number>();
  sg.operators.forEach((op) => {
    if (op.opcode !== 'CONV_2D') return;
    const o = (op.builtinOptions?.value ?? {}) as { padding?: number; strideH?: number; strideW?: number; dilationHFactor?: number; dilationWFactor?: number };
    if (o.padding !== 1 || (o.dilationHFactor ?? 1) !== 1 || (o.dilationWFactor ?? 1) !== 1) return;
    const pi = producer.get(op.inputs[0]!);
    if (pi === undefined || drop.has(pi) || uses.get(op.inputs[0]!) !== 1) return;
    const pad = sg.operators[pi]!;
    if (pad.opcode !== 'PAD' || !isConst(pad.inputs[1]!) || sg.tensors[pad.inputs[0]!]!.dtype !== 'float32') return;
    const pb = m.buffers[sg.tensors[pad.inputs[1]!]!.buffer]!;
    const pv = new Int32Array(pb.buffer.slice(pb.byteOffset, pb.byteOffset + pb.byteLength));
    const inShape = sg.tensors[pad.inputs[0]!]!.shape;
    if (pv.length !== 8 || pv[0] || pv[1] || pv[6] || pv[7]) return;
    const s = [o.strideH ?? 1, o.strideW ?? 1];
    if (!isConst(op.inputs[1]!) || sg.tensors[op.inputs[1]!]!.dtype !== 'float32') return;
    const w = constFloats(m, op.inputs[1]!);
    const wShape = sg.tensors[op.inputs[1]!]!.shape;
    const z = zeroTapsForSame([inShape[1]!, inShape[2]!], [wShape[1]!, wShape[2]!], s, [pv[2]!, pv[4]!, pv[3]!, pv[5]!]);
    if (!z) return;
    const k = padKernel(w, wShape, z);
    const wt = sg.tensors.length;
    sg.tensors.push({ name: `${sg.tensors[op.outputs[0]!]!.name}/weights_same`, dtype: 'float32', shape: k.shape, buffer: m.buffers.push(new Uint8Array(k.data.buffer)) - 1, isVariable: false, hasRank: true });
    op.inputs = [pad.inputs[0]!, wt, ...op.inputs.slice(2)];
    o.padding = 0;
    drop.add(pi);
  });
  sg.operators = sg.operators.filter((_, i) => !drop.has(i));
  return drop.size;
}

/**
 * A 1x1 CONV_2D without activation (stride 1) whose output only a 1x1 CONV_2D reads is merged into
 * that one: W = W2 * W1, b = W2 * b1 + b2 (exact up to float rounding). Done where it costs fewer
 * multiply-adds, which is what channel-shuffle selections (0/1 weights) before a pointwise
 * convolution are. Only with ConvertOptions.mergePointwise: in int8 the separate selection layer,
 * refitted by the quantizer on its real int8 input with its own finer output grid, was worth more
 * SQNR (fastestdet 15.3 vs 14.5 dB) than its multiply-adds cost (0.3 ms of 5.8).
 */
export function composePointwise(m: TfliteModel): number {
  const sg = m.subgraphs[0]!;
  const { uses, producer } = readersAndProducers(sg);
  const isConst = (t: number): boolean => t >= 0 && (m.buffers[sg.tensors[t]!.buffer]?.length ?? 0) > 0;
  const floats = (t: number): Float32Array => constFloats(m, t);
  type ConvOpts = { padding?: number; strideH?: number; strideW?: number; fusedActivationFunction?: number; dilationHFactor?: number; dilationWFactor?: number };
  const pointwise = (op: TfliteOperator): boolean => op.opcode === 'CONV_2D' && isConst(op.inputs[1]!) && (op.inputs[2] ?? -1) >= 0 && isConst(op.inputs[2]!)
    && sg.tensors[op.inputs[1]!]!.dtype === 'float32' && sg.tensors[op.inputs[1]!]!.shape[1] === 1 && sg.tensors[op.inputs[1]!]!.shape[2] === 1;
  const drop = new Set<number>();
  let n = 0;
  sg.operators.forEach((b, bi) => {
    if (!pointwise(b)) return;
    const ai = producer.get(b.inputs[0]!);
    if (ai === undefined || drop.has(ai) || uses.get(b.inputs[0]!) !== 1) return;
    const a = sg.operators[ai]!;
    if (!pointwise(a)) return;
    const ao = (a.builtinOptions?.value ?? {}) as ConvOpts;
    if (ao.fusedActivationFunction || (ao.strideH ?? 1) !== 1 || (ao.strideW ?? 1) !== 1) return;
    const [O1, , , I1] = sg.tensors[a.inputs[1]!]!.shape as [number, number, number, number];
    const [O2] = sg.tensors[b.inputs[1]!]!.shape as [number];
    if (I1 * O2 > I1 * O1 + O1 * O2) return;
    const w1 = floats(a.inputs[1]!), b1 = floats(a.inputs[2]!), w2 = floats(b.inputs[1]!), b2 = floats(b.inputs[2]!);
    const w = new Float32Array(O2 * I1), bias = new Float32Array(O2);
    for (let o = 0; o < O2; o++) {
      let acc = b2[o]!;
      for (let j = 0; j < O1; j++) {
        const c = w2[o * O1 + j]!;
        if (c === 0) continue;
        acc += c * b1[j]!;
        for (let i = 0; i < I1; i++) w[o * I1 + i] += c * w1[j * I1 + i]!;
      }
      bias[o] = acc;
    }
    const wt = sg.tensors.length;
    sg.tensors.push({ ...sg.tensors[b.inputs[1]!]!, name: `${sg.tensors[b.inputs[1]!]!.name}/composed`, shape: [O2, 1, 1, I1], buffer: m.buffers.push(new Uint8Array(w.buffer)) - 1 });
    const bt = sg.tensors.length;
    sg.tensors.push({ ...sg.tensors[b.inputs[2]!]!, name: `${sg.tensors[b.inputs[2]!]!.name}/composed`, shape: [O2], buffer: m.buffers.push(new Uint8Array(bias.buffer)) - 1 });
    b.inputs = [a.inputs[0]!, wt, bt];
    drop.add(ai);
    n++;
  });
  sg.operators = sg.operators.filter((_, i) => !drop.has(i));
  return n;
}

/** Per tensor: how many operators read it (a graph output counts 100) and which operator writes it. */
function readersAndProducers(sg: Builder['sg']): { uses: Map<number, number>; producer: Map<number, number> } {
  const uses = new Map<number, number>();
  for (const op of sg.operators) for (const t of op.inputs) uses.set(t, (uses.get(t) ?? 0) + 1);
  for (const t of sg.outputs) uses.set(t, (uses.get(t) ?? 0) + 100);
  const producer = new Map<number, number>();
  sg.operators.forEach((op, i) => op.outputs.forEach((t) => producer.set(t, i)));
  return { uses, producer };
}

/**
 * MatMul (or Gemm) + Add of a constant vector -> one FULLY_CONNECTED with that vector as its bias:
 * an ADD of a constant with N (or 1) values to the only reader of a FULLY_CONNECTED's N outputs is
 * folded into the FC's bias (PyTorch exports nn.Linear on 3-D inputs as MatMul + Add).
 */
function fuseBiasAdds(b: Builder): number {
  const sg = b.sg;
  const m = b.model;
  const { uses, producer } = readersAndProducers(sg);
  const isConst = (t: number): boolean => (m.buffers[sg.tensors[t]!.buffer]?.length ?? 0) > 0;
  const drop = new Set<number>();
  sg.operators.forEach((op, i) => {
    if (op.opcode !== 'ADD' || op.inputs.length !== 2) return;
    if ((op.builtinOptions?.value as { fusedActivationFunction?: number } | undefined)?.fusedActivationFunction) return;
    const k = op.inputs.findIndex((t) => isConst(t));
    if (k < 0 || isConst(op.inputs[1 - k]!)) return;
    const x = op.inputs[1 - k]!, c = op.inputs[k]!;
    const pi = producer.get(x);
    if (pi === undefined || uses.get(x) !== 1 || drop.has(pi)) return;
    const fc = sg.operators[pi]!;
    if (fc.opcode !== 'FULLY_CONNECTED' || (fc.inputs[2] ?? -1) < 0 || !isConst(fc.inputs[2]!) || (uses.get(fc.inputs[2]!) ?? 0) !== 1) return;
    if ((fc.builtinOptions?.value as { fusedActivationFunction?: number } | undefined)?.fusedActivationFunction) return;
    const ct = sg.tensors[c]!, bt = sg.tensors[fc.inputs[2]!]!;
    if (ct.dtype !== 'float32' || bt.dtype !== 'float32') return;
    const n = bt.shape[0]!;
    const cn = ct.shape.reduce((a, d) => a * d, 1);
    // The constant must broadcast along the last axis only: [N], [1, N], [1, 1, N], or one value.
    if (!(cn === 1 || (ct.shape.at(-1) === n && cn === n))) return;
    const out = sg.tensors[op.outputs[0]!]!.shape;
    if (out.join() !== sg.tensors[x]!.shape.join()) return;
    const cv = new Float32Array(cn), bv = new Float32Array(n);
    new Uint8Array(cv.buffer).set(m.buffers[ct.buffer]!.subarray(0, cn * 4));
    new Uint8Array(bv.buffer).set(m.buffers[bt.buffer]!.subarray(0, n * 4));
    for (let j = 0; j < n; j++) bv[j] = bv[j]! + cv[cn === 1 ? 0 : j]!;
    m.buffers.push(new Uint8Array(bv.buffer));
    bt.buffer = m.buffers.length - 1;
    fc.outputs = [op.outputs[0]!];
    drop.add(i);
  });
  sg.operators = sg.operators.filter((_, i) => !drop.has(i));
  return drop.size;
}

/** Fuse RELU/RELU6/RELU_N1_TO_1 into the op that produces their only input. */
function fuseActivations(b: Builder): number {
  const sg = b.sg;
  const { uses, producer } = readersAndProducers(sg);
  let fused = 0;
  const drop = new Set<number>();
  sg.operators.forEach((op, i) => {
    const code = ACT_CODE[op.opcode];
    if (!code) return;
    const src = op.inputs[0]!;
    const pi = producer.get(src);
    if (pi === undefined || uses.get(src) !== 1) return;
    const p = sg.operators[pi]!;
    if (!FUSABLE.has(p.opcode) || drop.has(pi)) return;
    const opts = (p.builtinOptions?.value ?? {}) as { fusedActivationFunction?: number };
    if (opts.fusedActivationFunction) return;
    if (!p.builtinOptions) {
      const type = { ADD: 'AddOptions', SUB: 'SubOptions', MUL: 'MulOptions', DIV: 'DivOptions' }[p.opcode];
      if (!type) return;
      p.builtinOptions = { type, value: {} } as unknown as typeof p.builtinOptions;
    }
    (p.builtinOptions!.value as { fusedActivationFunction?: number }).fusedActivationFunction = code;
    p.outputs = [op.outputs[0]!];
    const name = sg.tensors[op.outputs[0]!]!.name;
    sg.tensors[op.outputs[0]!]!.name = name;
    drop.add(i);
    fused++;
  });
  sg.operators = sg.operators.filter((_, i) => !drop.has(i));
  return fused;
}

/** Drop operators whose outputs nothing reads (e.g. a layout change that was not needed after all). */
function pruneDead(b: Builder): void {
  const sg = b.sg;
  for (;;) {
    const read = new Set<number>(sg.outputs);
    for (const op of sg.operators) for (const t of op.inputs) read.add(t);
    const keep = sg.operators.filter((op) => op.outputs.some((t) => read.has(t)));
    if (keep.length === sg.operators.length) return;
    sg.operators = keep;
  }
}
