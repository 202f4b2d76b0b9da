/**
 * The TFLite side of the converter: a one-subgraph model being built, and the activations in it.
 *
 * Every activation remembers its ONNX (logical) shape and the permutation that maps it to the
 * layout it has in TFLite: `physical.shape[i] = logical.shape[perm[i]]`. A 4-D feature map
 * produced by a convolution has perm [0,2,3,1] (NHWC). ONNX Transposes only compose perms, and
 * a real TRANSPOSE op is written only where an op needs a layout the data is not in; a
 * transpose that moves only size-1 dimensions is written as a RESHAPE (same bytes).
 */
import type { DType } from '../types.js';
import type { BuiltinOptions, TfliteModel, TfliteOperator, TfliteSubgraph } from '../model/tflite/ir.js';
import { constBytes, invertPerm, isIdentity, transposeIsReshape, type Const } from './array.js';

export interface Act {
  kind: 'act';
  /** Tensor index in the subgraph. */
  t: number;
  /** ONNX (logical) shape. */
  shape: number[];
  /** physical.shape[i] = shape[perm[i]]. */
  perm: number[];
  dtype: DType;
  /**
   * Set on a 2-D [N, K] value that is a Flatten of a feature map kept in its physical order:
   * `order[k]` is the logical column of physical column k. A Gemm/MatMul with constant weights
   * reads it by permuting its weight rows; anything else materialises it (`src`).
   */
  flat?: { src: Act; order: Int32Array };
}

/** Ops whose first version TFLite 2.9 does not register. */
const OP_VERSION: Record<string, number> = { BROADCAST_TO: 2 };

export type Value = { kind: 'const'; c: Const } | Act;

export const NHWC = [0, 2, 3, 1];
export const physShape = (a: { shape: number[]; perm: number[] }): number[] => a.perm.map((i) => a.shape[i]!);

export interface TransposeRecord {
  /** The ONNX node whose input needed it. */
  node: string;
  /** True when it sits at the graph's edge (reads a graph input or writes a graph output). */
  edge: boolean;
  /** Its output tensor (while building). */
  t?: number;
}

export class Builder {
  readonly model: TfliteModel;
  readonly sg: TfliteSubgraph;
  readonly transposes: TransposeRecord[] = [];
  readonly graphInputs = new Set<number>();
  /** The ONNX node being converted (named in the transpose records). */
  current = '';
  #constCache = new Map<Const, Map<string, number>>();
  #permCache = new Map<string, Act>();

  constructor() {
    this.sg = { tensors: [], inputs: [], outputs: [], operators: [] };
    this.model = { version: 3, description: 'reef convert (ONNX -> TFLite)', subgraphs: [this.sg], buffers: [new Uint8Array(0)], metadata: [], signatureDefs: [] };
  }

  tensor(name: string, dtype: DType, shape: number[], data?: Uint8Array): number {
    let buffer = 0;
    if (data) { this.model.buffers.push(data); buffer = this.model.buffers.length - 1; }
    this.sg.tensors.push({ name: this.#unique(name), dtype, shape: [...shape], buffer, isVariable: false, hasRank: true });
    return this.sg.tensors.length - 1;
  }

  #names = new Set<string>();
  #unique(name: string): string {
    let n = name || 't', k = 1;
    while (this.#names.has(n)) n = `${name}_${k++}`;
    this.#names.add(n);
    return n;
  }

  /** A constant tensor (in the layout given; cached per Const and dtype). */
  constant(c: Const, name: string, dtype: DType = c.dtype === 'float32' || c.dtype === 'float64' ? 'float32' : c.dtype === 'bool' ? 'bool' : 'int32'): number {
    let byType = this.#constCache.get(c);
    if (!byType) { byType = new Map(); this.#constCache.set(c, byType); }
    const hit = byType.get(dtype);
    if (hit !== undefined) return hit;
    const t = this.tensor(name, dtype, c.shape, constBytes(c, dtype));
    byType.set(dtype, t);
    return t;
  }

  int32(values: number[], name: string): number {
    return this.tensor(name, 'int32', [values.length], new Uint8Array(Int32Array.from(values).buffer));
  }

  float(values: number[], shape: number[], name: string): number {
    return this.tensor(name, 'float32', shape, new Uint8Array(Float32Array.from(values).buffer));
  }

  op(opcode: string, inputs: number[], outputs: number[], options?: { type: string; value: object }): TfliteOperator {
    const op: TfliteOperator = { opcode, version: OP_VERSION[opcode] ?? 1, inputs, outputs, customOptionsFormat: 0 };
    if (options) op.builtinOptions = options as unknown as BuiltinOptions;
    this.sg.operators.push(op);
    return op;
  }

  /** A new activation tensor with the given logical shape and perm. */
  act(name: string, shape: number[], perm: number[], dtype: DType = 'float32'): Act {
    return { kind: 'act', t: this.tensor(name, dtype, perm.map((i) => shape[i]!)), shape: [...shape], perm: [...perm], dtype };
  }

  /** One op with one new output activation. */
  unary(opcode: string, inputs: number[], name: string, shape: number[], perm: number[], options?: { type: string; value: object }, dtype: DType = 'float32'): Act {
    const out = this.act(name, shape, perm, dtype);
    this.op(opcode, inputs, [out.t], options);
    return out;
  }

  /** Make a Flatten-in-physical-order value ordinary (a TRANSPOSE of its source, then RESHAPE). */
  materialize(a: Act): Act {
    if (!a.flat) return a;
    const src = this.toPerm(a.flat.src, a.flat.src.shape.map((_, i) => i));
    return this.reshape(src, a.shape, `${this.sg.tensors[a.t]!.name}/nchw`);
  }

  /** RESHAPE an activation with identity perm (the caller made it so) to a new logical shape. */
  reshape(a: Act, shape: number[], name: string): Act {
    const src = this.toPerm(a, a.shape.map((_, i) => i));
    const sh = this.int32(shape, `${name}/shape`);
    return this.unary('RESHAPE', [src.t, sh], name, shape, shape.map((_, i) => i), { type: 'ReshapeOptions', value: { newShape: shape } }, a.dtype);
  }

  /** The same activation in another physical layout (a TRANSPOSE, or a RESHAPE when only size-1 dims move). */
  toPerm(a: Act, target: number[]): Act {
    if (a.flat) a = this.materialize(a);
    if (a.perm.length === target.length && a.perm.every((p, i) => p === target[i])) return a;
    const key = `${a.t}:${target.join(',')}`;
    const hit = this.#permCache.get(key);
    if (hit) return hit;
    const pinv = invertPerm(a.perm);
    const t = target.map((l) => pinv[l]!);
    const phys = physShape(a);
    const name = `${this.sg.tensors[a.t]!.name}/${isIdentity(target) ? 'nchw' : 'perm'}`;
    let out: Act;
    if (transposeIsReshape(phys, t)) {
      const newPhys = target.map((i) => a.shape[i]!);
      const sh = this.int32(newPhys, `${name}/shape`);
      out = this.unary('RESHAPE', [a.t, sh], name, a.shape, target, { type: 'ReshapeOptions', value: { newShape: newPhys } }, a.dtype);
    } else {
      const p = this.int32(t, `${name}/perm`);
      out = this.unary('TRANSPOSE', [a.t, p], name, a.shape, target, undefined, a.dtype);
      this.transposes.push({ node: this.current, edge: this.graphInputs.has(a.t), t: out.t });
    }
    this.#permCache.set(key, out);
    return out;
  }
}
