/**
 * Reading TFLite flatbuffers into the IR, with the validation TFLite's native loader would
 * need to be safe: every offset, index and size is checked here, in TypeScript, so broken
 * bytes fail with a ReefError (REEF_MODEL_INVALID) naming the part, before native code sees them.
 */
import { ReefError } from '../../errors.js';
import type { DType } from '../../types.js';
import { decodeFlatbuffer, FlatbufferError } from '../fbs/decode.js';
import { readTrailingZip } from '../zip.js';
import { DTYPE_SIZE, type TfliteModel, type TfliteOperator, type TfliteQuantization, type TfliteSubgraph, type TfliteTensor } from './ir.js';
import { validateNativeSafety } from './safety.js';
import { BuiltinOperator, SCHEMA, TensorType, type Model, type Operator, type OperatorCode, type Tensor } from './schema.generated.js';

/** TFLite TensorType -> reef dtype (UINT16 and INT4 have no reef name: 'unknown' + tfliteType). */
export const TENSOR_TYPE_TO_DTYPE: Record<number, DType> = {
  [TensorType.FLOAT32]: 'float32', [TensorType.FLOAT16]: 'float16', [TensorType.INT32]: 'int32',
  [TensorType.UINT8]: 'uint8', [TensorType.INT64]: 'int64', [TensorType.STRING]: 'string',
  [TensorType.BOOL]: 'bool', [TensorType.INT16]: 'int16', [TensorType.COMPLEX64]: 'complex64',
  [TensorType.INT8]: 'int8', [TensorType.FLOAT64]: 'float64', [TensorType.COMPLEX128]: 'complex128',
  [TensorType.UINT64]: 'uint64', [TensorType.RESOURCE]: 'resource', [TensorType.VARIANT]: 'variant',
  [TensorType.UINT32]: 'uint32',
};

/** Largest tensor reef accepts (bytes): a bit-flipped dimension must not become a 100 GB allocation. */
export const MAX_TENSOR_BYTES = 2 ** 31 - 1;

function invalid(where: string, what: string): ReefError {
  return new ReefError('REEF_MODEL_INVALID', `Invalid TFLite model: ${where}: ${what}`);
}

/** The opcode name for a builtin code ('CONV_2D'), or 'BUILTIN_<n>' for codes this schema lacks. */
export function builtinName(code: number): string {
  const n = (BuiltinOperator as unknown as Record<number, string | undefined>)[code];
  return n ?? `BUILTIN_${code}`;
}

/** True when `bytes` carry the TFLite file identifier "TFL3" at byte 4. */
export function isTflite(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[4] === 0x54 && bytes[5] === 0x46 && bytes[6] === 0x4c && bytes[7] === 0x33;
}

/**
 * Read a .tflite model into the IR. Buffers and custom options are views into `bytes`
 * (keep `bytes` alive and unmodified while the IR is in use).
 *
 * @example
 * const model = readTflite(new Uint8Array(await readFile('model.tflite')));
 * console.log(model.subgraphs[0].operators.map((op) => op.opcode));
 * @throws ReefError REEF_MODEL_INVALID naming what is wrong and where.
 */
export function readTflite(bytes: Uint8Array): TfliteModel {
  if (!(bytes instanceof Uint8Array)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a Uint8Array for bytes but received ${typeof bytes}`);
  let raw: Model;
  try {
    raw = decodeFlatbuffer(SCHEMA, bytes) as unknown as Model;
  } catch (e) {
    if (e instanceof FlatbufferError) throw invalid(e.where, e.what);
    throw e;
  }
  const model = fromRaw(raw, bytes);
  validateModel(model);
  return model;
}

/**
 * Check that `bytes` are a TFLite model that is safe to hand to the native TFLite 2.9 library:
 * everything {@link readTflite} checks, plus the shapes of valid models that still crash
 * TFLite natively (a subgraph output that is also one of its inputs aborts the process under
 * the XNNPACK delegate; the checks in safety.ts, each found by the runtime fuzzer). Returns the IR it read.
 * @throws ReefError REEF_MODEL_INVALID naming what is wrong and where.
 */
export function validateTflite(bytes: Uint8Array): TfliteModel {
  const model = readTflite(bytes);
  model.subgraphs.forEach((sg, si) => {
    sg.outputs.forEach((t, k) => {
      const j = sg.inputs.indexOf(t);
      if (j >= 0) {
        throw invalid(`subgraph ${si}, output ${k}`, `${tensorLabel(sg.tensors[t], t)} is also input ${j}: pass-through outputs crash TFLite 2.9 under XNNPACK`);
      }
    });
  });
  validateNativeSafety(model);
  return model;
}

function fromRaw(raw: Model, bytes: Uint8Array): TfliteModel {
  const codes: OperatorCode[] = raw.operatorCodes ?? [];
  const buffers = (raw.buffers ?? []).map((b, i) => {
    if (b.offset > 1) {
      if (b.offset + b.size > bytes.length) throw invalid(`buffers[${i}]`, `external data (${b.size} bytes at ${b.offset}) runs past the ${bytes.length}-byte file`);
      return bytes.subarray(b.offset, b.offset + b.size);
    }
    return b.data ?? new Uint8Array(0);
  });
  const subgraphs = (raw.subgraphs ?? []).map((sg, si): TfliteSubgraph => ({
    ...(sg.name !== undefined ? { name: sg.name } : {}),
    tensors: (sg.tensors ?? []).map((t) => tensorFromRaw(t)),
    inputs: sg.inputs ?? [],
    outputs: sg.outputs ?? [],
    operators: (sg.operators ?? []).map((op, oi) => operatorFromRaw(op, codes, bytes, `subgraph ${si}, operator ${oi}`)),
  }));
  const model: TfliteModel = {
    version: raw.version,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    subgraphs,
    buffers,
    metadata: (raw.metadata ?? []).map((m) => ({ name: m.name ?? '', buffer: m.buffer })),
    ...(raw.metadataBuffer !== undefined ? { metadataBuffer: raw.metadataBuffer } : {}),
    signatureDefs: (raw.signatureDefs ?? []).map((s) => ({
      ...(s.signatureKey !== undefined ? { signatureKey: s.signatureKey } : {}),
      subgraphIndex: s.subgraphIndex,
      inputs: (s.inputs ?? []).map((m) => ({ name: m.name ?? '', tensorIndex: m.tensorIndex })),
      outputs: (s.outputs ?? []).map((m) => ({ name: m.name ?? '', tensorIndex: m.tensorIndex })),
    })),
  };
  let zip;
  try {
    zip = readTrailingZip(bytes);
  } catch (e) {
    throw invalid('associated files (zip appended to the model)', (e as Error).message);
  }
  if (zip) model.associatedFiles = zip.entries;
  return model;
}

function tensorFromRaw(t: Tensor): TfliteTensor {
  const dtype = TENSOR_TYPE_TO_DTYPE[t.type] ?? 'unknown';
  const out: TfliteTensor = {
    name: t.name ?? '',
    dtype,
    ...(dtype === 'unknown' ? { tfliteType: t.type } : {}),
    shape: t.shape ?? [],
    ...(t.shapeSignature !== undefined ? { shapeSignature: t.shapeSignature } : {}),
    buffer: t.buffer,
    isVariable: t.isVariable,
    hasRank: t.hasRank,
  };
  if (t.quantization) {
    const q = t.quantization;
    const quant: TfliteQuantization = { scale: q.scale ?? [], zeroPoint: q.zeroPoint ?? [], quantizedDimension: q.quantizedDimension };
    if (q.min !== undefined) quant.min = q.min;
    if (q.max !== undefined) quant.max = q.max;
    if (q.details !== undefined) quant.details = q.details;
    out.quantization = quant;
  }
  if (t.sparsity) out.sparsity = t.sparsity;
  if (t.variantTensors) out.variantTensors = t.variantTensors;
  return out;
}

function operatorFromRaw(op: Operator, codes: OperatorCode[], bytes: Uint8Array, where: string): TfliteOperator {
  const code = codes[op.opcodeIndex];
  if (!code) throw invalid(where, `opcode_index ${op.opcodeIndex} is out of range (the model has ${codes.length} operator codes)`);
  const builtin = Math.max(code.builtinCode, code.deprecatedBuiltinCode);
  const out: TfliteOperator = {
    opcode: builtinName(builtin),
    ...(code.customCode !== undefined ? { customCode: code.customCode } : {}),
    version: code.version,
    inputs: op.inputs ?? [],
    outputs: op.outputs ?? [],
    customOptionsFormat: op.customOptionsFormat,
  };
  if (op.intermediates !== undefined) out.intermediates = op.intermediates;
  if (op.builtinOptions !== undefined) out.builtinOptions = op.builtinOptions;
  if (op.builtinOptions2 !== undefined) out.builtinOptions2 = op.builtinOptions2;
  if (op.customOptions !== undefined) out.customOptions = op.customOptions;
  else if (op.largeCustomOptionsOffset > 1) {
    const o = op.largeCustomOptionsOffset, s = op.largeCustomOptionsSize;
    if (o + s > bytes.length) throw invalid(where, `custom options (${s} bytes at ${o}) run past the ${bytes.length}-byte file`);
    out.customOptions = bytes.subarray(o, o + s);
  }
  if (op.mutatingVariableInputs !== undefined) out.mutatingVariableInputs = op.mutatingVariableInputs;
  return out;
}

function tensorLabel(t: TfliteTensor | undefined, i: number): string {
  return t && t.name ? `tensor ${i} ('${t.name}')` : `tensor ${i}`;
}

/**
 * Semantic checks over an IR (indices in range, sizes consistent, execution order, no call
 * cycles). readTflite runs it on every model; call it after editing an IR.
 * @throws ReefError REEF_MODEL_INVALID naming the first problem found.
 */
export function validateModel(model: TfliteModel): void {
  const nb = model.buffers.length;
  if (model.subgraphs.length === 0) throw invalid('Model.subgraphs', 'the model has no subgraphs');
  model.metadata.forEach((m, i) => {
    if (m.buffer >= nb) throw invalid(`metadata[${i}] ('${m.name}')`, `buffer ${m.buffer} is out of range (the model has ${nb} buffers)`);
  });
  model.metadataBuffer?.forEach((b, i) => {
    if (b < 0 || b >= nb) throw invalid(`metadata_buffer[${i}]`, `buffer ${b} is out of range (the model has ${nb} buffers)`);
  });
  model.signatureDefs.forEach((s, i) => {
    const sg = model.subgraphs[s.subgraphIndex];
    if (!sg) throw invalid(`signature_defs[${i}]`, `subgraph ${s.subgraphIndex} is out of range (the model has ${model.subgraphs.length} subgraphs)`);
    for (const m of [...s.inputs, ...s.outputs]) {
      if (m.tensorIndex >= sg.tensors.length) throw invalid(`signature_defs[${i}] '${m.name}'`, `tensor ${m.tensorIndex} is out of range (subgraph ${s.subgraphIndex} has ${sg.tensors.length} tensors)`);
    }
  });
  const calls: number[][] = model.subgraphs.map(() => []);
  model.subgraphs.forEach((sg, si) => {
    const nt = sg.tensors.length;
    sg.tensors.forEach((t, ti) => validateTensor(model, t, `subgraph ${si}, ${tensorLabel(t, ti)}`));
    const checkIndex = (i: number, where: string, allowOptional: boolean): void => {
      if (!Number.isInteger(i) || i >= nt || i < (allowOptional ? -1 : 0)) throw invalid(where, `tensor index ${i} is out of range (the subgraph has ${nt} tensors)`);
    };
    sg.inputs.forEach((i, k) => checkIndex(i, `subgraph ${si}, input ${k}`, false));
    sg.outputs.forEach((i, k) => checkIndex(i, `subgraph ${si}, output ${k}`, false));
    const written = new Uint8Array(nt);
    for (const i of sg.inputs) written[i] = 1;
    sg.tensors.forEach((t, ti) => { if (t.isVariable || (model.buffers[t.buffer]?.length ?? 0) > 0) written[ti] = 1; });
    sg.operators.forEach((op, oi) => {
      const where = `subgraph ${si}, operator ${oi} (${op.customCode ?? op.opcode})`;
      op.inputs.forEach((i, k) => checkIndex(i, `${where}, input ${k}`, true));
      op.outputs.forEach((i, k) => checkIndex(i, `${where}, output ${k}`, true));
      op.intermediates?.forEach((i, k) => checkIndex(i, `${where}, intermediate ${k}`, true));
      for (const i of op.inputs) {
        if (i >= 0 && !written[i]) {
          throw invalid(where, `reads ${tensorLabel(sg.tensors[i], i)} before any operator writes it (operators must be in execution order: a cycle or a dangling tensor)`);
        }
      }
      for (const i of op.outputs) if (i >= 0) written[i] = 1;
      validateShapeOperands(model, sg, op, where);
      for (const target of calledSubgraphs(op)) {
        if (!Number.isInteger(target) || target < 0 || target >= model.subgraphs.length) {
          throw invalid(where, `calls subgraph ${target}, out of range (the model has ${model.subgraphs.length} subgraphs)`);
        }
        calls[si]!.push(target);
      }
    });
    sg.outputs.forEach((i, k) => {
      if (!written[i]) throw invalid(`subgraph ${si}, output ${k}`, `${tensorLabel(sg.tensors[i], i)} is never written by any operator`);
    });
  });
  // Control flow (CALL/IF/WHILE/CALL_ONCE) must not recurse: TFLite would recurse without end.
  const state = new Uint8Array(model.subgraphs.length);
  const visit = (s: number, path: number[]): void => {
    if (state[s] === 2) return;
    if (state[s] === 1) throw invalid('subgraphs', `subgraph call cycle: ${[...path, s].join(' -> ')}`);
    state[s] = 1;
    for (const t of calls[s]!) visit(t, [...path, s]);
    state[s] = 2;
  };
  for (let s = 0; s < model.subgraphs.length; s++) visit(s, []);
}

/** Subgraph indices an operator calls through its options (CALL, IF, WHILE, CALL_ONCE, StableHLO). */
export function calledSubgraphs(op: TfliteOperator): number[] {
  const o = op.builtinOptions;
  if (o) {
    switch (o.type) {
      case 'CallOptions': return [o.value.subgraph];
      case 'IfOptions': return [o.value.thenSubgraphIndex, o.value.elseSubgraphIndex];
      case 'WhileOptions': return [o.value.condSubgraphIndex, o.value.bodySubgraphIndex];
      case 'CallOnceOptions': return [o.value.initSubgraphIndex];
      default: break;
    }
  }
  const o2 = op.builtinOptions2;
  if (o2) {
    switch (o2.type) {
      case 'StablehloWhileOptions': return [o2.value.condSubgraphIndex, o2.value.bodySubgraphIndex];
      case 'StablehloReduceOptions': return [o2.value.bodySubgraphIndex];
      case 'StablehloReduceWindowOptions': return [o2.value.bodySubgraphIndex];
      case 'StablehloSortOptions': return [o2.value.comparatorSubgraphIndex];
      case 'StablehloScatterOptions': return [o2.value.updateComputationSubgraphIndex];
      default: break;
    }
  }
  return [];
}

function validateTensor(model: TfliteModel, t: TfliteTensor, where: string): void {
  // Buffer 0 means "no data" even in a model with no buffers at all (TFLite accepts that).
  if (t.buffer !== 0 && t.buffer >= model.buffers.length) throw invalid(where, `buffer ${t.buffer} is out of range (the model has ${model.buffers.length} buffers)`);
  let elements = 1;
  for (const d of t.shape) {
    if (!Number.isInteger(d) || d < 0) throw invalid(where, `shape [${t.shape.join(',')}] has a negative dimension`);
    elements *= d;
  }
  const size = DTYPE_SIZE[t.dtype];
  if (size !== undefined && elements * size > MAX_TENSOR_BYTES) {
    throw invalid(where, `shape [${t.shape.join(',')}] of ${t.dtype} needs ${elements * size} bytes, over the ${MAX_TENSOR_BYTES}-byte limit`);
  }
  const data = model.buffers[t.buffer] ?? new Uint8Array(0);
  if (data.length > 0 && size !== undefined && !t.sparsity && data.length !== elements * size) {
    throw invalid(where, `buffer ${t.buffer} holds ${data.length} bytes but shape [${t.shape.join(',')}] of ${t.dtype} needs ${elements * size}`);
  }
  const q = t.quantization;
  if (q && q.scale.length > 0 && q.zeroPoint.length > 0) {
    if (q.scale.length !== q.zeroPoint.length) {
      throw invalid(where, `quantization has ${q.scale.length} scales but ${q.zeroPoint.length} zero points`);
    }
    // A quantized_dimension outside the shape is a known converter defect, not corruption:
    // defects.ts names it (inspect shows the model, load() refuses it, `reef repair` fixes it).
    const qd = q.quantizedDimension;
    if (q.scale.length > 1 && qd >= 0 && qd < t.shape.length) {
      if (t.shape[qd] !== q.scale.length) {
        throw invalid(where, `per-axis quantization has ${q.scale.length} scales but dimension ${qd} of shape [${t.shape.join(',')}] is ${t.shape[qd]}`);
      }
    }
  }
}

/** Read a constant int32 tensor's values, or undefined when it is not a constant int32. */
function constInts(model: TfliteModel, t: TfliteTensor | undefined): number[] | undefined {
  if (!t || t.dtype !== 'int32') return undefined;
  const data = model.buffers[t.buffer];
  if (!data || data.length === 0 || data.length % 4 !== 0) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: number[] = [];
  for (let i = 0; i < data.length; i += 4) out.push(view.getInt32(i, true));
  return out;
}

/** Ops whose constant int32 operand (at this input) is the shape of a tensor they allocate. */
const SHAPE_OPERAND: Record<string, number> = {
  FILL: 0, BROADCAST_TO: 1, RESIZE_BILINEAR: 1, RESIZE_NEAREST_NEIGHBOR: 1, SPARSE_TO_DENSE: 1,
};

/**
 * Constant operands that decide allocation sizes inside TFLite kernels. A flipped bit in
 * TRANSPOSE_CONV's output_shape makes TFLite 2.9 allocate without bound and abort the process,
 * so these are checked against the declared shapes here.
 */
function validateShapeOperands(model: TfliteModel, sg: TfliteSubgraph, op: TfliteOperator, where: string): void {
  if (op.opcode === 'TRANSPOSE_CONV') {
    const shape = constInts(model, sg.tensors[op.inputs[0] ?? -1]);
    const out = sg.tensors[op.outputs[0] ?? -1];
    const x = sg.tensors[op.inputs[2] ?? -1];
    const w = sg.tensors[op.inputs[1] ?? -1];
    if (!shape || !out) return;
    if (shape.length !== 4 || shape.join(',') !== out.shape.join(',')) {
      throw invalid(where, `output_shape operand [${shape.join(',')}] does not match the output tensor's shape [${out.shape.join(',')}]`);
    }
    if (x && w && (x.shape.length !== 4 || w.shape.length !== 4 || x.shape[0] !== shape[0] || x.shape[3] !== w.shape[3] || w.shape[0] !== shape[3])) {
      throw invalid(where, `input [${x.shape.join(',')}], weights [${w.shape.join(',')}] and output [${shape.join(',')}] do not agree on batch and channels`);
    }
    const o = op.builtinOptions?.type === 'TransposeConvOptions' ? op.builtinOptions.value : undefined;
    if (o && x && w && x.shape.length === 4 && w.shape.length === 4) {
      const dims: [number, number, number, number][] = [[shape[1]!, x.shape[1]!, o.strideH, w.shape[1]!], [shape[2]!, x.shape[2]!, o.strideW, w.shape[2]!]];
      for (const [outD, inD, s, k] of dims) {
        if (s < 1 || outD > inD * s + k || outD < (inD - 1) * s + 1 - k) {
          throw invalid(where, `output size ${outD} is impossible for input size ${inD}, stride ${s} and kernel ${k}`);
        }
      }
    }
    return;
  }
  const k = SHAPE_OPERAND[op.opcode];
  if (k === undefined) return;
  const values = constInts(model, sg.tensors[op.inputs[k] ?? -1]);
  if (!values) return;
  const out = sg.tensors[op.outputs[0] ?? -1];
  const size = (out && DTYPE_SIZE[out.dtype]) ?? 1;
  let elements = op.opcode.startsWith('RESIZE') && out ? (out.shape[0] ?? 1) * (out.shape[3] ?? 1) : 1;
  for (const v of values) {
    if (v < 0) throw invalid(where, `shape operand [${values.join(',')}] has a negative value`);
    elements *= v;
  }
  if (elements * size > MAX_TENSOR_BYTES) {
    throw invalid(where, `shape operand [${values.join(',')}] asks for ${elements * size} bytes, over the ${MAX_TENSOR_BYTES}-byte limit`);
  }
}
