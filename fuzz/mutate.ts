/**
 * Model mutations for the runtime fuzzer: byte-level (bit flips, truncation) and structural,
 * through the IR's edit points (shapes, tensor indices, quantization, dtypes, buffers, operator
 * options and versions), written back with writeTflite so they get past the flatbuffer parser
 * and test what the validator and TFLite do with a well-formed but wrong model.
 * Every mutation is a pure function of (model, rng): a case reproduces from its seed.
 */
import type { Rng } from '../src/bench/inputs.js';
import type { DType } from '../src/types.js';
import { DTYPE_SIZE, type TfliteModel, type TfliteOperator, type TfliteSubgraph, type TfliteTensor } from '../src/model/tflite/ir.js';
import { readTflite } from '../src/model/tflite/reader.js';
import { writeTflite } from '../src/model/tflite/writer.js';

export const MUTATION_KINDS = ['bitflip', 'truncate', 'shape', 'rank', 'index', 'io', 'quant', 'dtype', 'buffer', 'option', 'opcode'] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

export interface Mutation {
  kind: MutationKind;
  /** What was changed, precise enough to redo by hand. */
  what: string;
  bytes: Uint8Array;
}

const DTYPES: DType[] = ['float32', 'float16', 'int32', 'uint8', 'int64', 'bool', 'int16', 'int8', 'float64', 'uint32', 'uint64', 'string', 'complex64'];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
/** The largest tensor a shape edit may make (bytes). */
const MAX_TENSOR_BYTES = 64 << 20;

/** A subgraph and one of its tensors, chosen at random (undefined when there are none). */
function someTensor(m: TfliteModel, rng: Rng): { sg: TfliteSubgraph; si: number; t: TfliteTensor; ti: number } | undefined {
  const si = int(rng, m.subgraphs.length);
  const sg = m.subgraphs[si]!;
  if (sg.tensors.length === 0) return undefined;
  const ti = int(rng, sg.tensors.length);
  return { sg, si, t: sg.tensors[ti]!, ti };
}

/** A subgraph and one of its operators, chosen at random (undefined when there are none). */
function someOperator(m: TfliteModel, rng: Rng): { sg: TfliteSubgraph; si: number; op: TfliteOperator; oi: number } | undefined {
  const si = int(rng, m.subgraphs.length);
  const sg = m.subgraphs[si]!;
  if (sg.operators.length === 0) return undefined;
  const oi = int(rng, sg.operators.length);
  return { sg, si, op: sg.operators[oi]!, oi };
}

/** Edit the IR in place; returns a description, or undefined when this kind does not apply. */
function editIr(m: TfliteModel, kind: MutationKind, rng: Rng): string | undefined {
  switch (kind) {
    case 'shape': {
      const x = someTensor(m, rng);
      if (!x || x.t.shape.length === 0) return undefined;
      const d = int(rng, x.t.shape.length);
      const old = x.t.shape[d]!;
      const v = pick(rng, [0, 1, old + 1, old - 1, old * 2, Math.max(1, old >> 1), 3, 1000]);
      if (v < 0 || v === old) return undefined;
      // A valid model with a 1 GB tensor is slow, not broken: keep every edited tensor under 64 MB.
      if ((x.t.shape.reduce((a, b) => a * b, 1) / Math.max(old, 1)) * v * (DTYPE_SIZE[x.t.dtype] ?? 1) > MAX_TENSOR_BYTES) return undefined;
      x.t.shape = x.t.shape.slice();
      x.t.shape[d] = v;
      return `subgraph ${x.si} tensor ${x.ti} dim ${d}: ${old} -> ${v}`;
    }
    case 'rank': {
      const x = someTensor(m, rng);
      if (!x) return undefined;
      const old = x.t.shape.join(',');
      x.t.shape = rng() < 0.5 && x.t.shape.length > 0 ? x.t.shape.slice(1) : [1, ...x.t.shape];
      return `subgraph ${x.si} tensor ${x.ti} shape [${old}] -> [${x.t.shape.join(',')}]`;
    }
    case 'index': {
      const x = someOperator(m, rng);
      if (!x) return undefined;
      const { sg, si, op, oi } = x;
      const side = rng() < 0.7 ? 'inputs' : 'outputs';
      const list = op[side];
      if (list.length === 0) return undefined;
      const k = int(rng, list.length);
      const v = pick(rng, [-1, 0, int(rng, sg.tensors.length), sg.tensors.length - 1, list[k]! + 1]);
      if (v === list[k] || v >= sg.tensors.length) return undefined;
      const old = list[k];
      op[side] = list.slice();
      op[side][k] = v;
      return `subgraph ${si} operator ${oi} (${op.opcode}) ${side}[${k}]: ${old} -> ${v}`;
    }
    case 'io': {
      const si = int(rng, m.subgraphs.length);
      const sg = m.subgraphs[si]!;
      const side = rng() < 0.5 ? 'inputs' : 'outputs';
      if (sg[side].length === 0 || sg.tensors.length === 0) return undefined;
      const k = int(rng, sg[side].length);
      const v = int(rng, sg.tensors.length);
      if (v === sg[side][k]) return undefined;
      const old = sg[side][k];
      sg[side] = sg[side].slice();
      sg[side][k] = v;
      return `subgraph ${si} ${side}[${k}]: ${old} -> ${v}`;
    }
    case 'quant': {
      const x = someTensor(m, rng);
      const q = x?.t.quantization;
      if (!x || !q || q.scale.length === 0) return undefined;
      const field = pick(rng, ['scale', 'zeroPoint', 'quantizedDimension', 'count'] as const);
      const i = int(rng, q.scale.length);
      if (field === 'scale') {
        const v = pick(rng, [0, -1, Number.NaN, Infinity, 1e-30, 1e30, 1e-10]);
        q.scale = q.scale.slice();
        q.scale[i] = v;
        return `subgraph ${x.si} tensor ${x.ti} scale[${i}] -> ${v}`;
      }
      if (field === 'zeroPoint') {
        const v = pick(rng, [-129, 128, 255, 256, -1, 300, -32769, 2 ** 31 - 1, -(2 ** 31)]);
        q.zeroPoint = q.zeroPoint.slice();
        q.zeroPoint[i] = v;
        return `subgraph ${x.si} tensor ${x.ti} (${x.t.dtype}) zero_point[${i}] -> ${v}`;
      }
      if (field === 'quantizedDimension') {
        const v = pick(rng, [-1, 1, 2, 3, 4, 7]);
        if (v === q.quantizedDimension) return undefined;
        q.quantizedDimension = v;
        return `subgraph ${x.si} tensor ${x.ti} quantized_dimension -> ${v}`;
      }
      const n = pick(rng, [1, 2, q.scale.length + 1, Math.max(1, q.scale.length - 1)]);
      q.scale = Array.from({ length: n }, (_, j) => q.scale[j % q.scale.length]!);
      q.zeroPoint = Array.from({ length: n }, (_, j) => q.zeroPoint[j % Math.max(1, q.zeroPoint.length)] ?? 0);
      return `subgraph ${x.si} tensor ${x.ti} ${n} scales and zero points`;
    }
    case 'dtype': {
      const x = someTensor(m, rng);
      if (!x) return undefined;
      const v = pick(rng, DTYPES);
      if (v === x.t.dtype) return undefined;
      const old = x.t.dtype;
      x.t.dtype = v;
      return `subgraph ${x.si} tensor ${x.ti} dtype ${old} -> ${v}`;
    }
    case 'buffer': {
      const x = someTensor(m, rng);
      if (!x || m.buffers.length < 2) return undefined;
      const v = rng() < 0.3 ? 0 : int(rng, m.buffers.length);
      if (v === x.t.buffer) return undefined;
      const old = x.t.buffer;
      x.t.buffer = v;
      return `subgraph ${x.si} tensor ${x.ti} buffer ${old} -> ${v}`;
    }
    case 'option': {
      const si = int(rng, m.subgraphs.length);
      const sg = m.subgraphs[si]!;
      const ops = sg.operators.map((o, i) => [o, i] as const).filter(([o]) => o.builtinOptions && Object.values(o.builtinOptions.value as object).some((v) => typeof v === 'number'));
      if (ops.length === 0) return undefined;
      const [op, oi] = pick(rng, ops);
      const value = { ...(op.builtinOptions!.value as unknown as Record<string, unknown>) };
      const keys = Object.keys(value).filter((k) => typeof value[k] === 'number');
      const key = pick(rng, keys);
      const v = pick(rng, [0, -1, 2, 3, 7, 100, 2 ** 31 - 1, -(2 ** 31)]);
      const old = value[key];
      value[key] = v;
      op.builtinOptions = { type: op.builtinOptions!.type, value } as typeof op.builtinOptions;
      return `subgraph ${si} operator ${oi} (${op.opcode}) ${op.builtinOptions!.type}.${key}: ${String(old)} -> ${v}`;
    }
    case 'opcode': {
      const x = someOperator(m, rng);
      if (!x) return undefined;
      const { sg, si, op, oi } = x;
      if (rng() < 0.5) {
        const v = pick(rng, [1, 2, 3, 4, 5, 7, 12]);
        if (v === op.version) return undefined;
        const old = op.version;
        op.version = v;
        return `subgraph ${si} operator ${oi} (${op.opcode}) version ${old} -> ${v}`;
      }
      const others = [...new Set(m.subgraphs.flatMap((s) => s.operators.map((o) => o.opcode)))].filter((o) => o !== op.opcode && o !== 'CUSTOM');
      if (others.length === 0) return undefined;
      const v = pick(rng, others);
      const old = op.opcode;
      op.opcode = v;
      delete op.builtinOptions;
      return `subgraph ${si} operator ${oi} opcode ${old} -> ${v}`;
    }
    default:
      return undefined;
  }
}

function flipBits(src: Uint8Array, rng: Rng): Mutation {
  const bytes = new Uint8Array(src);
  const flips = 1 + int(rng, 8);
  // Most flips land in the first 64 KB, where the structure (not the weights) lives.
  const span = rng() < 0.8 ? Math.min(src.length, 65536) : src.length;
  const at: string[] = [];
  for (let f = 0; f < flips; f++) {
    const p = int(rng, span);
    const b = int(rng, 8);
    bytes[p] = bytes[p]! ^ (1 << b);
    at.push(`${p}.${b}`);
  }
  return { kind: 'bitflip', what: `bits flipped at ${at.join(' ')}`, bytes };
}

/**
 * One mutation of `original` (bytes of a valid model). Structural kinds that do not apply to the
 * model, or whose IR the writer cannot encode, are retried with another kind.
 */
export function mutate(original: Uint8Array, rng: Rng): Mutation {
  for (let attempt = 0; attempt < 20; attempt++) {
    const kind = pick(rng, MUTATION_KINDS);
    if (kind === 'bitflip') return flipBits(original, rng);
    if (kind === 'truncate') {
      const len = int(rng, original.length);
      return { kind, what: `truncated to ${len} of ${original.length} bytes`, bytes: new Uint8Array(original.subarray(0, len)) };
    }
    const m = readTflite(original);
    const what = editIr(m, kind, rng);
    if (what === undefined) continue;
    try {
      return { kind, what, bytes: writeTflite(m) };
    } catch {
      continue;
    }
  }
  return flipBits(original, rng);
}
