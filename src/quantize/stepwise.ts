/**
 * Running a model one operator at a time. Each operator becomes a model of its own (constant
 * operands kept, its other inputs made graph inputs), loaded once and run over every sample; the
 * values of each tensor are kept per sample until its last reader has run. Bias correction walks
 * the int8 graph this way, so each layer is measured with the layers before it already corrected
 * without loading (and running) the whole model again per layer.
 *
 * An operator whose samples are independent along the batch axis (convolutions, pools,
 * element-wise ops, ...: {@link batchable}) runs on a batch of samples at once: the per-run cost of
 * a hand-off to the runtime (about 1 ms on a loaded 2-core machine, against 0.02 ms for the invoke
 * of a small MobileNet layer) is paid once per batch instead of once per sample. Integer kernels
 * give the same values batched or not.
 */
import type { TfliteModel, TfliteTensor } from '../model/tflite/ir.js';
import { writeTflite } from '../model/tflite/writer.js';
import { load } from '../runtime/session.js';
import { TYPED_ARRAY_FOR, type TypedArray } from '../types.js';
import type { Sample } from './calibrate.js';
import { consumersOf, isConstantTensor } from './graph.js';

/** Operators whose output for one sample depends on that sample only, with batch-free options (axis checks in {@link batchable}). */
const BATCH_SAFE = new Set([
  'CONV_2D', 'DEPTHWISE_CONV_2D', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'L2_POOL_2D', 'ADD', 'SUB', 'MUL', 'MAXIMUM', 'MINIMUM',
  'RELU', 'RELU6', 'RELU_N1_TO_1', 'LEAKY_RELU', 'PRELU', 'LOGISTIC', 'TANH', 'HARD_SWISH', 'ELU', 'ABS', 'QUANTIZE', 'DEQUANTIZE',
  'SOFTMAX', 'LOG_SOFTMAX', 'RESIZE_BILINEAR', 'RESIZE_NEAREST_NEIGHBOR', 'CONCATENATION', 'PAD', 'PADV2', 'MEAN',
  'FULLY_CONNECTED', 'SPACE_TO_DEPTH', 'DEPTH_TO_SPACE',
]);
/** Bytes of activations (inputs + outputs) one batched run may take: large arenas cost more to fault in than the hand-offs saved. */
const BATCH_BYTES = 4 << 20;
/** Samples in one batched run, at most. */
const MAX_BATCH = 32;

/**
 * True when operator `oi` can run on a batch of samples stacked along axis 0: a {@link BATCH_SAFE}
 * op whose non-constant inputs and outputs all have batch 1 (rank >= 2), and whose axis
 * operands (concatenation axis, paddings, reduction axes) leave axis 0 alone.
 */
export function batchable(model: TfliteModel, oi: number): boolean {
  const sg = model.subgraphs[0]!;
  const op = sg.operators[oi]!;
  if (!BATCH_SAFE.has(op.opcode)) return false;
  const acts = [...op.inputs.filter((i) => i >= 0 && !isConstantTensor(model, sg, i)), ...op.outputs.filter((o) => o >= 0)];
  if (acts.some((i) => sg.tensors[i]!.shape.length < 2 || sg.tensors[i]!.shape[0] !== 1)) return false;
  const rank = sg.tensors[op.outputs[0]!]!.shape.length;
  const constInts = (i: number | undefined): Int32Array | null => {
    if (i === undefined || i < 0 || !isConstantTensor(model, sg, i) || sg.tensors[i]!.dtype !== 'int32') return null;
    const b = model.buffers[sg.tensors[i]!.buffer]!;
    return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  switch (op.opcode) {
    case 'CONCATENATION': {
      const axis = (op.builtinOptions?.value as { axis?: number } | undefined)?.axis ?? 0;
      return axis !== 0 && axis !== -rank;
    }
    case 'PAD': case 'PADV2': {
      const p = constInts(op.inputs[1]);
      return p !== null && p[0] === 0 && p[1] === 0;
    }
    case 'MEAN': {
      const axes = constInts(op.inputs[1]);
      const inRank = sg.tensors[op.inputs[0]!]!.shape.length;
      return axes !== null && ![...axes].some((a) => a === 0 || a === -inRank);
    }
    case 'FULLY_CONNECTED': {
      // Rows are (batch x leading dims) of the input; kept dims would need the batch in the output shape.
      const o = op.builtinOptions?.value as { keepNumDims?: boolean } | undefined;
      return !o?.keepNumDims && isConstantTensor(model, sg, op.inputs[1]!);
    }
    default:
      return true;
  }
}

/**
 * Operator `oi` of subgraph 0 as a model of its own; `inputs` are the tensors it is fed (original
 * indices). With `batch` > 1 its non-constant inputs and outputs take `batch` samples along axis 0
 * (only for {@link batchable} operators).
 */
export function opModel(model: TfliteModel, oi: number, batch = 1): { bytes: Uint8Array; inputs: number[] } {
  const m = opModels([model], oi, batch);
  return { bytes: m.bytes, inputs: m.inputs.map((x) => x.tensor) };
}

/**
 * Operator `oi` of each of `models` (the same graph quantized differently: {@link sameGraph}) side
 * by side in one model, so one load and one run per batch serve them all. Graph inputs and
 * outputs are listed model by model: `inputs[k]` / `outputs[k]` say which model's tensor each is.
 */
export function opModels(models: TfliteModel[], oi: number, batch = 1): {
  bytes: Uint8Array; inputs: Array<{ lane: number; tensor: number }>; outputs: Array<{ lane: number; tensor: number }>;
} {
  const tensors: TfliteTensor[] = [];
  const buffers: Uint8Array[] = [new Uint8Array(0)];
  const inputs: Array<{ lane: number; tensor: number }> = [];
  const outputs: Array<{ lane: number; tensor: number }> = [];
  const graphInputs: number[] = [];
  const graphOutputs: number[] = [];
  const operators = models.map((model, lane) => {
    const sg = model.subgraphs[0]!;
    const op = sg.operators[oi]!;
    const index = new Map<number, number>();
    const take = (i: number): number => {
      if (i < 0) return i;
      let j = index.get(i);
      if (j !== undefined) return j;
      const t = sg.tensors[i]!;
      const constant = isConstantTensor(model, sg, i);
      if (constant) buffers.push(model.buffers[t.buffer]!);
      const shape = !constant && batch > 1 ? [t.shape[0]! * batch, ...t.shape.slice(1)] : t.shape;
      const { shapeSignature: _sig, ...rest } = t;
      // Outputs come back by name: every tensor gets its own (two lanes, or two tensors of one model, may share one).
      tensors.push({ ...(batch > 1 ? rest : t), shape, buffer: constant ? buffers.length - 1 : 0, name: `${lane}/${i}/${t.name}` });
      j = tensors.length - 1;
      index.set(i, j);
      return j;
    };
    const opInputs = op.inputs.map(take);
    op.inputs.forEach((i) => {
      if (i >= 0 && !isConstantTensor(model, sg, i) && !sg.tensors[i]!.isVariable && !inputs.some((x) => x.lane === lane && x.tensor === i)) {
        inputs.push({ lane, tensor: i });
        graphInputs.push(index.get(i)!);
      }
    });
    const opOutputs = op.outputs.map(take);
    for (const o of op.outputs.filter((x) => x >= 0)) {
      outputs.push({ lane, tensor: o });
      graphOutputs.push(index.get(o)!);
    }
    const intermediates = op.intermediates?.map(take);
    return { ...op, inputs: opInputs, outputs: opOutputs, ...(intermediates ? { intermediates } : {}) };
  });
  const one: TfliteModel = {
    version: models[0]!.version,
    subgraphs: [{ tensors, inputs: graphInputs, outputs: graphOutputs, operators }],
    buffers, metadata: [], signatureDefs: [],
  };
  return { bytes: writeTflite(one), inputs, outputs };
}

/** True when `a` and `b` have the same operators reading and writing the same tensors (they may differ in constants and quantization). */
export function sameGraph(a: TfliteModel, b: TfliteModel): boolean {
  const x = a.subgraphs[0]!, y = b.subgraphs[0]!;
  const eq = (p: number[], q: number[]): boolean => p.length === q.length && p.every((v, i) => v === q[i]);
  return x.operators.length === y.operators.length && eq(x.inputs, y.inputs) && eq(x.outputs, y.outputs) && x.tensors.length === y.tensors.length &&
    x.operators.every((o, i) => {
      const p = y.operators[i]!;
      return o.opcode === p.opcode && eq(o.inputs, p.inputs) && eq(o.outputs, p.outputs) &&
        o.inputs.every((t) => t < 0 || (isConstantTensor(a, x, t) === isConstantTensor(b, y, t) && x.tensors[t]!.dtype === y.tensors[t]!.dtype && eq(x.tensors[t]!.shape, y.tensors[t]!.shape)));
    });
}

/**
 * Walks subgraph 0 of one or more models ("lanes": the same graph quantized differently, see
 * {@link sameGraph}) operator by operator over a fixed set of samples; each step runs the
 * operator of every lane in one model.
 */
export class OpStepper {
  /** Per lane, per tensor: its value for every sample (while some reader still needs it). */
  readonly lanes: Array<Map<number, TypedArray[]>>;
  private readonly readersLeft: number[][];
  /** Samples one batched run takes at most (1: every sample runs alone). */
  maxBatch = MAX_BATCH;
  readonly models: TfliteModel[];

  /** `feeds`: per lane (or for the one model), per sample, one array per graph input, in the model's input types. */
  constructor(model: TfliteModel | TfliteModel[], feeds: Sample[] | Sample[][], private readonly threads?: number) {
    this.models = Array.isArray(model) ? model : [model];
    const laneFeeds = (Array.isArray(model) ? feeds : [feeds]) as Sample[][];
    this.readersLeft = this.models.map((m) => consumersOf(m.subgraphs[0]!).map((c) => c.length));
    this.lanes = this.models.map((m, k) => new Map(m.subgraphs[0]!.inputs.map((ti, j) => [ti, laneFeeds[k]!.map((f) => f[j]!)])));
  }

  /** The first lane's tensor values (the only lane when walking one model). */
  get values(): Map<number, TypedArray[]> {
    return this.lanes[0]!;
  }

  get model(): TfliteModel {
    return this.models[0]!;
  }

  get samples(): number {
    return this.lanes[0]!.values().next().value?.length ?? 0;
  }

  /**
   * Runs operator `oi` (as it is in each model now) on every sample; returns, per lane, per
   * output position, the output for every sample (lanes not in `only` get an empty list). Nothing
   * is stored: see {@link commit}.
   */
  async run(oi: number, only?: number[]): Promise<TypedArray[][][]> {
    const laneIds = only ?? this.models.map((_, k) => k);
    const models = laneIds.map((k) => this.models[k]!);
    const m0 = models[0]!;
    const sg = m0.subgraphs[0]!;
    const op = sg.operators[oi]!;
    const outputs = op.outputs.filter((o) => o >= 0);
    const feedsOf = opModel(m0, oi, 1).inputs;
    const n = this.lanes[laneIds[0]!]!.get(feedsOf[0] ?? -1)?.length ?? this.samples;
    const bytesPerSample = models.length * [...feedsOf, ...outputs].reduce((a, t) => a + tensorBytes(sg.tensors[t]!), 0);
    const batch = batchable(m0, oi) ? Math.max(1, Math.min(this.maxBatch, n, Math.floor(BATCH_BYTES / Math.max(1, bytesPerSample)))) : 1;
    const { bytes, inputs, outputs: outs } = opModels(models, oi, batch);
    const session = await load(bytes, { threads: this.threads, xnnpack: true, spinMicros: 0 });
    const result: TypedArray[][][] = this.models.map((_, k) => (laneIds.includes(k) ? outputs.map(() => []) : []));
    const position = outs.map((o) => ({ lane: laneIds[o.lane]!, k: outputs.indexOf(o.tensor) }));
    const runs = Math.ceil(n / batch);
    // One array per output for every sample (the runs write into views of it), one input array per feed reused by every run.
    const dynamic = session.outputs.some((t) => t.dynamic);
    const whole = dynamic ? [] : session.outputs.map((t) => new (TYPED_ARRAY_FOR[t.dtype] as new (n: number) => Float32Array)((runs * t.byteLength) / TYPED_ARRAY_FOR[t.dtype]!.BYTES_PER_ELEMENT));
    const staged = inputs.map(() => null as TypedArray | null);
    try {
      for (let r = 0; r < runs; r++) {
        const s = r * batch;
        const take = Math.min(batch, n - s);
        const feeds = inputs.map((x, j) => (staged[j] = stack(this.lanes[laneIds[x.lane]!]!.get(x.tensor)!, s, take, batch, staged[j]!)));
        if (dynamic) {
          // Sizes known only after the invoke: fresh arrays per run.
          const out = await session.run(feeds);
          session.outputs.forEach((t, j) => {
            const d = out[t.name]!.data, per = d.length / batch;
            for (let i = 0; i < take; i++) result[position[j]!.lane]![position[j]!.k]!.push(d.subarray(i * per, (i + 1) * per));
          });
        } else {
          await session.run(feeds, { outputs: whole.map((w) => w.subarray((r * w.length) / runs, ((r + 1) * w.length) / runs)) });
        }
      }
    } finally {
      await session.dispose();
    }
    whole.forEach((w, j) => {
      const per = w.length / (runs * batch);
      const { lane, k } = position[j]!;
      for (let i = 0; i < n; i++) result[lane]![k]!.push(w.subarray(i * per, (i + 1) * per));
    });
    return result;
  }

  /** Stores operator `oi`'s outputs (per lane, as {@link run} returns them) and drops the inputs no later operator reads. */
  commit(oi: number, outs: TypedArray[][][]): void {
    this.models.forEach((model, lane) => {
      const op = model.subgraphs[0]!.operators[oi]!;
      const values = this.lanes[lane]!;
      const left = this.readersLeft[lane]!;
      op.outputs.filter((o) => o >= 0).forEach((o, k) => values.set(o, outs[lane]![k]!));
      for (const i of new Set(op.inputs)) {
        if (i < 0 || !values.has(i)) continue;
        left[i] = left[i]! - 1;
        if (left[i]! <= 0) values.delete(i);
      }
    });
  }
}

function tensorBytes(t: TfliteTensor): number {
  const size = { float32: 4, int32: 4, int64: 8, float16: 2, int16: 2 }[t.dtype as string] ?? 1;
  return t.shape.reduce((a, b) => a * b, size);
}

/**
 * Samples [from, from + take) of `values` as one array of `batch` samples, in `into` when given
 * (a batch of 1 is the sample itself; short batches repeat the last).
 */
function stack(values: TypedArray[], from: number, take: number, batch: number, into: TypedArray | null): TypedArray {
  if (batch === 1) return values[from]!;
  const first = values[from]!;
  const out = (into ?? new (first.constructor as new (n: number) => Float32Array)(first.length * batch)) as Float32Array;
  for (let j = 0; j < batch; j++) out.set(values[from + Math.min(j, take - 1)] as Float32Array, j * first.length);
  return out;
}
