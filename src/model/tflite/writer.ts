/**
 * Writing the IR back to a TFLite flatbuffer ("TFL3").
 *
 * The operator_codes table is rebuilt from the operators (one entry per distinct
 * opcode/custom code/version, in first-use order). Constant data is copied exactly once,
 * from the IR's views straight into the output: the builder is sized up front from the sum
 * of the buffers, so a 4 MB model costs about 4 MB to write. Buffers are laid out at the end
 * of the file, 16-byte aligned, as the TFLite converter lays them out; associated files are
 * re-appended as a stored zip whose offsets count from the start of the file.
 */
import { ReefError } from '../../errors.js';
import type { DType } from '../../types.js';
import { encodeFlatbuffer } from '../fbs/encode.js';
import { buildZip } from '../zip.js';
import type { TfliteModel, TfliteOperator, TfliteTensor } from './ir.js';
import { TENSOR_TYPE_TO_DTYPE } from './reader.js';
import { BuiltinOperator, SCHEMA, type Model, type Operator, type OperatorCode, type QuantizationParameters, type Tensor } from './schema.generated.js';

const DTYPE_TO_TENSOR_TYPE = new Map<DType, number>(Object.entries(TENSOR_TYPE_TO_DTYPE).map(([k, v]) => [v, Number(k)]));

/** The builtin code of an opcode name ('CONV_2D' -> 3, 'BUILTIN_300' -> 300). */
export function builtinCode(opcode: string): number {
  const known = (BuiltinOperator as unknown as Record<string, number | undefined>)[opcode];
  if (typeof known === 'number') return known;
  const m = /^BUILTIN_(\d+)$/.exec(opcode);
  if (m) return Number(m[1]);
  throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a TFLite BuiltinOperator name for opcode but received "${opcode}"`);
}

/**
 * Serialise a model IR to .tflite bytes.
 *
 * @example
 * const bytes = writeTflite(readTflite(original)); // loads and runs exactly like `original`
 */
export function writeTflite(model: TfliteModel): Uint8Array {
  const codes: OperatorCode[] = [];
  const codeIndex = new Map<string, number>();
  const opcodeIndex = (op: TfliteOperator): number => {
    const key = `${op.opcode}\u0000${op.customCode ?? ''}\u0000${op.customCode === undefined ? 0 : 1}\u0000${op.version}`;
    let i = codeIndex.get(key);
    if (i === undefined) {
      const code = builtinCode(op.opcode);
      i = codes.length;
      codes.push({
        deprecatedBuiltinCode: Math.min(code, BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES),
        ...(op.customCode !== undefined ? { customCode: op.customCode } : {}),
        version: op.version,
        builtinCode: code,
      });
      codeIndex.set(key, i);
    }
    return i;
  };

  let dataBytes = 0;
  let objects = 0;
  const subgraphs = model.subgraphs.map((sg) => {
    objects += sg.tensors.length + sg.operators.length;
    for (const t of sg.tensors) {
      const q = t.quantization;
      if (q) dataBytes += 4 * q.scale.length + 8 * q.zeroPoint.length + 4 * ((q.min?.length ?? 0) + (q.max?.length ?? 0)) + 64;
      dataBytes += 2 * t.name.length;
    }
    const operators = sg.operators.map((op): Operator => {
      if (op.customOptions) dataBytes += op.customOptions.length + 16;
      return {
        opcodeIndex: opcodeIndex(op),
        inputs: op.inputs,
        outputs: op.outputs,
        ...(op.builtinOptions ? { builtinOptions: op.builtinOptions } : {}),
        ...(op.customOptions ? { customOptions: op.customOptions } : {}),
        customOptionsFormat: op.customOptionsFormat,
        ...(op.mutatingVariableInputs ? { mutatingVariableInputs: op.mutatingVariableInputs } : {}),
        ...(op.intermediates ? { intermediates: op.intermediates } : {}),
        largeCustomOptionsOffset: 0,
        largeCustomOptionsSize: 0,
        ...(op.builtinOptions2 ? { builtinOptions2: op.builtinOptions2 } : {}),
      };
    });
    return {
      tensors: sg.tensors.map(tensorToRaw),
      inputs: sg.inputs,
      outputs: sg.outputs,
      operators,
      ...(sg.name !== undefined ? { name: sg.name } : {}),
    };
  });
  const buffers = model.buffers.map((data) => {
    dataBytes += data.length + 16;
    return data.length > 0 ? { data, offset: 0, size: 0 } : { offset: 0, size: 0 };
  });
  const raw: Model = {
    version: model.version,
    operatorCodes: codes,
    subgraphs,
    ...(model.description !== undefined ? { description: model.description } : {}),
    buffers,
    ...(model.metadataBuffer ? { metadataBuffer: model.metadataBuffer } : {}),
    metadata: model.metadata.map((m) => ({ name: m.name, buffer: m.buffer })),
    signatureDefs: model.signatureDefs.map((s) => ({
      inputs: s.inputs.map((m) => ({ name: m.name, tensorIndex: m.tensorIndex })),
      outputs: s.outputs.map((m) => ({ name: m.name, tensorIndex: m.tensorIndex })),
      ...(s.signatureKey !== undefined ? { signatureKey: s.signatureKey } : {}),
      subgraphIndex: s.subgraphIndex,
    })),
  };
  const files = model.associatedFiles ?? [];
  const zipBytes = files.reduce((a, f) => a + f.data.length + 2 * f.name.length + 100, 22);
  const fb = encodeFlatbuffer(SCHEMA, raw, {
    initialSize: dataBytes + 512 * objects + 65536 + (files.length > 0 ? zipBytes : 0),
    rootFieldsFirst: ['buffers'],
  });
  if (files.length === 0) return fb;
  const zip = buildZip(files, fb.length);
  if (fb.buffer.byteLength < fb.length + zip.length) {
    const out = new Uint8Array(fb.length + zip.length);
    out.set(fb, 0);
    out.set(zip, fb.length);
    return out;
  }
  // The builder filled its buffer from the back: slide the flatbuffer to the front of the same
  // memory and put the zip after it, instead of allocating a second model-sized array.
  new Uint8Array(fb.buffer).copyWithin(0, fb.byteOffset, fb.byteOffset + fb.length);
  const whole = new Uint8Array(fb.buffer, 0, fb.length + zip.length);
  whole.set(zip, fb.length);
  return whole;
}

function tensorToRaw(t: TfliteTensor): Tensor {
  const type = t.dtype === 'unknown' ? t.tfliteType : DTYPE_TO_TENSOR_TYPE.get(t.dtype);
  if (type === undefined) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a TFLite tensor type for tensor '${t.name}' but received dtype "${t.dtype}"`);
  const out: Tensor = {
    shape: t.shape,
    type,
    buffer: t.buffer,
    name: t.name,
    isVariable: t.isVariable,
    hasRank: t.hasRank,
  };
  if (t.quantization) {
    const q = t.quantization;
    const raw: QuantizationParameters = { quantizedDimension: q.quantizedDimension };
    if (q.min) raw.min = q.min;
    if (q.max) raw.max = q.max;
    if (q.scale.length > 0) raw.scale = q.scale;
    if (q.zeroPoint.length > 0) raw.zeroPoint = q.zeroPoint;
    if (q.details) raw.details = q.details;
    out.quantization = raw;
  }
  if (t.sparsity) out.sparsity = t.sparsity;
  if (t.shapeSignature) out.shapeSignature = t.shapeSignature;
  if (t.variantTensors) out.variantTensors = t.variantTensors;
  return out;
}
