/**
 * Writing ONNX protobuf: a small encoder for the subset reef builds (hand-made test graphs,
 * tensors), and a byte-level edit that adds graph outputs to an existing model (to read
 * intermediate values from onnxruntime) without decoding and re-encoding the rest.
 */
import { WIRE_LEN, WIRE_VARINT, WireReader } from './wire.js';

class Out {
  parts: number[] = [];
  varint(v: number): this {
    let n = BigInt.asUintN(64, BigInt(Math.trunc(v)));
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n) b |= 0x80;
      this.parts.push(b);
    } while (n);
    return this;
  }
  tag(field: number, wire: number): this { return this.varint(field * 8 + wire); }
  int(field: number, v: number): this { return this.tag(field, WIRE_VARINT).varint(v); }
  bytes(field: number, b: Uint8Array): this { this.tag(field, WIRE_LEN).varint(b.length); for (const x of b) this.parts.push(x); return this; }
  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }
  float(field: number, v: number): this { this.tag(field, 5); const a = new Uint8Array(new Float32Array([v]).buffer); for (const x of a) this.parts.push(x); return this; }
  done(): Uint8Array { return Uint8Array.from(this.parts); }
}

export interface TensorSpec {
  name?: string;
  /** ONNX data type (1 float, 6 int32, 7 int64, 9 bool). */
  dataType: number;
  dims: number[];
  values: ArrayLike<number>;
}

/** Encode a TensorProto (raw_data, little-endian). */
export function encodeTensor(t: TensorSpec): Uint8Array {
  const o = new Out();
  for (const d of t.dims) o.int(1, d);
  o.int(2, t.dataType);
  if (t.name) o.string(8, t.name);
  const n = t.values.length;
  let raw: Uint8Array;
  if (t.dataType === 1) raw = new Uint8Array(Float32Array.from(t.values).buffer);
  else if (t.dataType === 6) raw = new Uint8Array(Int32Array.from(t.values).buffer);
  else if (t.dataType === 7) { const a = new BigInt64Array(n); for (let i = 0; i < n; i++) a[i] = BigInt(t.values[i]!); raw = new Uint8Array(a.buffer); }
  else raw = Uint8Array.from(t.values);
  o.bytes(9, raw);
  return o.done();
}

export type AttrSpec = number | string | number[] | { floats: number[] } | { float: number } | TensorSpec;

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrSpec>;
}

export interface GraphSpec {
  nodes: NodeSpec[];
  /** Dimensions: numbers, or names for dynamic ones ('batch'). */
  inputs: { name: string; shape: (number | string)[]; dataType?: number }[];
  outputs: { name: string; shape?: number[]; dataType?: number }[];
  initializers?: TensorSpec[];
  opset?: number;
}

function encodeAttr(name: string, v: AttrSpec): Uint8Array {
  const o = new Out().string(1, name);
  if (typeof v === 'number') {
    if (Number.isInteger(v)) o.int(3, v).int(20, 2);
    else o.float(2, v).int(20, 1);
  } else if (typeof v === 'string') o.string(4, v).int(20, 3);
  else if (Array.isArray(v)) { for (const x of v) o.int(8, x); o.int(20, 7); }
  else if ('floats' in v) { for (const x of v.floats) o.float(7, x); o.int(20, 6); }
  else if ('float' in v) o.float(2, v.float).int(20, 1);
  else o.bytes(5, encodeTensor(v)).int(20, 4);
  return o.done();
}

function encodeValueInfo(name: string, dataType: number, shape?: (number | string)[]): Uint8Array {
  const tt = new Out().int(1, dataType);
  if (shape) {
    const sh = new Out();
    for (const d of shape) sh.bytes(1, typeof d === 'number' ? new Out().int(1, d).done() : new Out().string(2, d).done());
    tt.bytes(2, sh.done());
  }
  return new Out().string(1, name).bytes(2, new Out().bytes(1, tt.done()).done()).done();
}

/**
 * Encode a ModelProto from a small spec (for hand-built graphs).
 * @example
 * const bytes = encodeOnnxModel({ inputs: [{ name: 'x', shape: [1, 3] }], outputs: [{ name: 'y' }],
 *   nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
 */
export function encodeOnnxModel(g: GraphSpec): Uint8Array {
  const graph = new Out();
  g.nodes.forEach((n, i) => {
    const node = new Out();
    for (const x of n.inputs) node.string(1, x);
    for (const x of n.outputs) node.string(2, x);
    node.string(3, n.name ?? `${n.op}_${i}`).string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.bytes(5, encodeAttr(k, v));
    graph.bytes(1, node.done());
  });
  graph.string(2, 'reef');
  for (const t of g.initializers ?? []) graph.bytes(5, encodeTensor(t));
  for (const v of g.inputs) graph.bytes(11, encodeValueInfo(v.name, v.dataType ?? 1, v.shape));
  for (const v of g.outputs) graph.bytes(12, encodeValueInfo(v.name, v.dataType ?? 1, v.shape));
  return new Out().int(1, 8).string(2, 'reef').bytes(7, graph.done()).bytes(8, new Out().string(1, '').int(2, g.opset ?? 13).done()).done();
}

/**
 * The same model bytes with more graph outputs (float tensors, shape left to inference):
 * only the GraphProto's length prefix changes; everything else is copied.
 */
export function withGraphOutputs(model: Uint8Array, names: string[]): Uint8Array {
  const r = new WireReader(model, 0, model.length, 'ModelProto');
  while (!r.done()) {
    const start = r.pos;
    const [f, w] = r.tag();
    if (f === 7 && w === WIRE_LEN) {
      const len = r.varint('graph');
      const body = r.pos;
      const extra = new Out();
      for (const n of names) extra.bytes(12, encodeValueInfo(n, 1));
      const add = extra.done();
      const head = new Out().tag(7, WIRE_LEN).varint(len + add.length).done();
      const out = new Uint8Array(start + head.length + len + add.length + (model.length - body - len));
      out.set(model.subarray(0, start), 0);
      out.set(head, start);
      out.set(model.subarray(body, body + len), start + head.length);
      out.set(add, start + head.length + len);
      out.set(model.subarray(body + len), start + head.length + len + add.length);
      return out;
    }
    r.skip(w, `field ${f}`);
  }
  return model;
}
