/**
 * Running a model one operator at a time. Each operator becomes a model of its own (constant
 * operands kept, its other inputs made graph inputs), loaded once and run over every sample; the
 * values of each tensor are kept per sample until its last reader has run. Bias correction walks
 * the int8 graph this way, so each layer is measured with the layers before it already corrected
 * without loading (and running) the whole model again per layer.
 */
import type { TfliteModel, TfliteTensor } from '../model/tflite/ir.js';
import { writeTflite } from '../model/tflite/writer.js';
import type { TypedArray } from '../types.js';
import { ExposedRunner, type Sample } from './calibrate.js';
import { consumersOf, isConstantTensor } from './graph.js';

/** Operator `oi` of subgraph 0 as a model of its own; `inputs` are the tensors it is fed (original indices). */
export function opModel(model: TfliteModel, oi: number): { bytes: Uint8Array; inputs: number[] } {
  const sg = model.subgraphs[0]!;
  const op = sg.operators[oi]!;
  const index = new Map<number, number>();
  const tensors: TfliteTensor[] = [];
  const buffers: Uint8Array[] = [new Uint8Array(0)];
  const inputs: number[] = [];
  const take = (i: number): number => {
    if (i < 0) return i;
    let j = index.get(i);
    if (j !== undefined) return j;
    const t = sg.tensors[i]!;
    const constant = isConstantTensor(model, sg, i);
    if (constant) buffers.push(model.buffers[t.buffer]!);
    tensors.push({ ...t, buffer: constant ? buffers.length - 1 : 0 });
    j = tensors.length - 1;
    index.set(i, j);
    return j;
  };
  const opInputs = op.inputs.map(take);
  op.inputs.forEach((i) => {
    if (i >= 0 && !isConstantTensor(model, sg, i) && !sg.tensors[i]!.isVariable && !inputs.includes(i)) inputs.push(i);
  });
  const opOutputs = op.outputs.map(take);
  const intermediates = op.intermediates?.map(take);
  const one: TfliteModel = {
    version: model.version,
    subgraphs: [{
      tensors, inputs: inputs.map((i) => index.get(i)!), outputs: op.outputs.filter((o) => o >= 0).map((o) => index.get(o)!),
      operators: [{ ...op, inputs: opInputs, outputs: opOutputs, ...(intermediates ? { intermediates } : {}) }],
    }],
    buffers, metadata: [], signatureDefs: [],
  };
  return { bytes: writeTflite(one), inputs };
}

/** Walks subgraph 0 of a model operator by operator over a fixed set of samples. */
export class OpStepper {
  /** Per tensor: its value for every sample (while some reader still needs it). */
  readonly values = new Map<number, TypedArray[]>();
  private readonly readersLeft: number[];

  /** `feeds`: per sample, one array per graph input, in the model's input types. */
  constructor(readonly model: TfliteModel, feeds: Sample[], private readonly threads?: number) {
    const sg = model.subgraphs[0]!;
    this.readersLeft = consumersOf(sg).map((c) => c.length);
    sg.inputs.forEach((ti, k) => this.values.set(ti, feeds.map((f) => f[k]!)));
  }

  get samples(): number {
    return this.values.values().next().value?.length ?? 0;
  }

  /**
   * Runs operator `oi` (as it is in `this.model` now) on every sample; returns, per output
   * position, the output for every sample. Nothing is stored: see {@link commit}.
   */
  async run(oi: number): Promise<TypedArray[][]> {
    const sg = this.model.subgraphs[0]!;
    const op = sg.operators[oi]!;
    const { bytes, inputs } = opModel(this.model, oi);
    const outputs = op.outputs.filter((o) => o >= 0);
    const runner = await ExposedRunner.open(bytes, outputs.map((_, k) => k), this.threads);
    const n = this.values.get(inputs[0] ?? -1)?.length ?? this.samples;
    const result: TypedArray[][] = outputs.map(() => []);
    try {
      for (let s = 0; s < n; s++) {
        const out = await runner.run(inputs.map((i) => this.values.get(i)![s]!));
        outputs.forEach((_, k) => result[k]!.push(out.get(k)!.slice()));
      }
    } finally {
      await runner.dispose();
    }
    return result;
  }

  /** Stores operator `oi`'s outputs and drops the inputs no later operator reads. */
  commit(oi: number, outs: TypedArray[][]): void {
    const op = this.model.subgraphs[0]!.operators[oi]!;
    op.outputs.filter((o) => o >= 0).forEach((o, k) => this.values.set(o, outs[k]!));
    for (const i of new Set(op.inputs)) {
      if (i < 0 || !this.values.has(i)) continue;
      this.readersLeft[i] = this.readersLeft[i]! - 1;
      if (this.readersLeft[i]! <= 0) this.values.delete(i);
    }
  }
}
