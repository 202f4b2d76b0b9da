/**
 * Edit helpers over the TFLite IR for the tools built on it (quantization, conversion,
 * Edge TPU partitioning): add/remove tensors, buffers and operators, rewire uses, expose any
 * tensor as an output (calibration), drop what nothing uses, and order operators.
 * They mutate the IR in place and keep every index consistent; run validateModel() after a
 * series of edits to check the result.
 */
import { ReefError } from '../../errors.js';
import type { TfliteModel, TfliteOperator, TfliteSubgraph, TfliteTensor } from './ir.js';

/** Append a buffer and return its index. */
export function addBuffer(model: TfliteModel, data: Uint8Array): number {
  model.buffers.push(data);
  return model.buffers.length - 1;
}

/** Append a tensor to a subgraph and return its index. */
export function addTensor(sg: TfliteSubgraph, tensor: TfliteTensor): number {
  sg.tensors.push(tensor);
  return sg.tensors.length - 1;
}

/** Insert an operator at position `at` (default: the end) and return its position. */
export function addOperator(sg: TfliteSubgraph, op: TfliteOperator, at = sg.operators.length): number {
  if (at < 0 || at > sg.operators.length) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an operator position in 0..${sg.operators.length} for at but received ${at}`);
  sg.operators.splice(at, 0, op);
  return at;
}

/** Remove the operator at `index` (its tensors stay; removeDeadTensors drops them). */
export function removeOperator(sg: TfliteSubgraph, index: number): TfliteOperator {
  const [op] = sg.operators.splice(index, 1);
  if (!op) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an operator index in 0..${sg.operators.length} for index but received ${index}`);
  return op;
}

/** Make every operator input reading tensor `from` read `to` instead (and subgraph outputs too when asked). Returns the number of uses changed. */
export function rewire(sg: TfliteSubgraph, from: number, to: number, options: { outputs?: boolean } = {}): number {
  let n = 0;
  for (const op of sg.operators) {
    op.inputs = op.inputs.map((i) => (i === from ? (n++, to) : i));
  }
  if (options.outputs) sg.outputs = sg.outputs.map((i) => (i === from ? (n++, to) : i));
  return n;
}

/** Add tensors as outputs of subgraph `subgraph` (skipping ones that already are), e.g. to read activations during calibration. */
export function exposeAsOutputs(model: TfliteModel, tensors: number[], subgraph = 0): void {
  const sg = model.subgraphs[subgraph];
  if (!sg) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a subgraph index in 0..${model.subgraphs.length - 1} for subgraph but received ${subgraph}`);
  for (const t of tensors) {
    if (!Number.isInteger(t) || t < 0 || t >= sg.tensors.length) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a tensor index in 0..${sg.tensors.length - 1} but received ${t}`);
    if (!sg.outputs.includes(t)) sg.outputs.push(t);
  }
  for (const s of model.signatureDefs) {
    if (s.subgraphIndex !== subgraph) continue;
    for (const t of tensors) if (!s.outputs.some((m) => m.tensorIndex === t)) s.outputs.push({ name: sg.tensors[t]!.name, tensorIndex: t });
  }
}

/** For each tensor, the operators reading it. */
export function consumers(sg: TfliteSubgraph): number[][] {
  const out: number[][] = sg.tensors.map(() => []);
  sg.operators.forEach((op, i) => op.inputs.forEach((t) => { if (t >= 0) out[t]?.push(i); }));
  return out;
}

/** For each tensor, the operator writing it (or -1). */
export function producers(sg: TfliteSubgraph): number[] {
  const out = sg.tensors.map(() => -1);
  sg.operators.forEach((op, i) => op.outputs.forEach((t) => { if (t >= 0) out[t] = i; }));
  return out;
}

/**
 * A topological order of the subgraph's operators (stable: keeps the current order where it
 * is already valid).
 * @throws ReefError REEF_MODEL_INVALID naming the operators on a cycle.
 */
export function topologicalOrder(sg: TfliteSubgraph): number[] {
  const prod = producers(sg);
  const deps = sg.operators.map((op) => new Set(op.inputs.filter((t) => t >= 0 && prod[t]! >= 0).map((t) => prod[t]!)));
  const done = new Uint8Array(sg.operators.length);
  const order: number[] = [];
  while (order.length < sg.operators.length) {
    let progressed = false;
    for (let i = 0; i < sg.operators.length; i++) {
      if (done[i]) continue;
      if ([...deps[i]!].every((d) => done[d] && d !== i)) {
        done[i] = 1;
        order.push(i);
        progressed = true;
      }
    }
    if (!progressed) {
      const stuck = sg.operators.map((_, i) => i).filter((i) => !done[i]);
      throw new ReefError('REEF_MODEL_INVALID', `Invalid TFLite model: operators ${stuck.join(', ')} form a cycle (each waits for another's output)`);
    }
  }
  return order;
}

/** Reorder the subgraph's operators topologically (see {@link topologicalOrder}). */
export function sortOperators(sg: TfliteSubgraph): void {
  const order = topologicalOrder(sg);
  sg.operators = order.map((i) => sg.operators[i]!);
}

/**
 * Remove tensors nothing refers to (no operator, subgraph input/output or signature), renumbering
 * the rest. Returns the number removed.
 */
export function removeDeadTensors(model: TfliteModel): number {
  let removed = 0;
  model.subgraphs.forEach((sg, si) => {
    const used = new Uint8Array(sg.tensors.length);
    const mark = (t: number): void => { if (t >= 0 && t < used.length) used[t] = 1; };
    sg.inputs.forEach(mark);
    sg.outputs.forEach(mark);
    for (const op of sg.operators) { op.inputs.forEach(mark); op.outputs.forEach(mark); op.intermediates?.forEach(mark); }
    for (const s of model.signatureDefs) if (s.subgraphIndex === si) [...s.inputs, ...s.outputs].forEach((m) => mark(m.tensorIndex));
    const map = new Int32Array(sg.tensors.length).fill(-1);
    const kept: TfliteTensor[] = [];
    sg.tensors.forEach((t, i) => { if (used[i]) { map[i] = kept.length; kept.push(t); } });
    removed += sg.tensors.length - kept.length;
    const re = (t: number): number => (t < 0 ? t : map[t]!);
    sg.tensors = kept;
    sg.inputs = sg.inputs.map(re);
    sg.outputs = sg.outputs.map(re);
    for (const op of sg.operators) {
      op.inputs = op.inputs.map(re);
      op.outputs = op.outputs.map(re);
      if (op.intermediates) op.intermediates = op.intermediates.map(re);
    }
    for (const s of model.signatureDefs) {
      if (s.subgraphIndex !== si) continue;
      for (const m of [...s.inputs, ...s.outputs]) m.tensorIndex = re(m.tensorIndex);
    }
  });
  return removed;
}

/** Remove buffers no tensor or metadata entry refers to (buffer 0, the empty sentinel, stays). Returns the number removed. */
export function removeUnusedBuffers(model: TfliteModel): number {
  const used = new Uint8Array(model.buffers.length);
  used[0] = 1;
  for (const sg of model.subgraphs) for (const t of sg.tensors) used[t.buffer] = 1;
  for (const m of model.metadata) used[m.buffer] = 1;
  model.metadataBuffer?.forEach((b) => { used[b] = 1; });
  const map = new Int32Array(model.buffers.length).fill(-1);
  const kept: Uint8Array[] = [];
  model.buffers.forEach((b, i) => { if (used[i]) { map[i] = kept.length; kept.push(b); } });
  const removed = model.buffers.length - kept.length;
  model.buffers = kept;
  for (const sg of model.subgraphs) for (const t of sg.tensors) t.buffer = map[t.buffer]!;
  for (const m of model.metadata) m.buffer = map[m.buffer]!;
  if (model.metadataBuffer) model.metadataBuffer = model.metadataBuffer.map((b) => map[b]!);
  return removed;
}
