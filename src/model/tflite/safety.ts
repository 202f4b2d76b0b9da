/**
 * Checks for well-formed models that still crash the native TFLite 2.9 library (a signal, not an
 * error status): each one was found by the runtime fuzzer (fuzz/, `npm run fuzz`) and is refused
 * here, in TypeScript, before native code sees the model. validateTflite() runs them.
 */
import { ReefError } from '../../errors.js';
import type { TfliteModel, TfliteOperator, TfliteSubgraph, TfliteTensor } from './ir.js';

function invalid(where: string, what: string): ReefError {
  return new ReefError('REEF_MODEL_INVALID', `Invalid TFLite model: ${where}: ${what}`);
}

function label(t: TfliteTensor | undefined, i: number): string {
  return t && t.name ? `tensor ${i} ('${t.name}')` : `tensor ${i}`;
}

/** Integer range of each quantized dtype's zero point. */
const ZERO_POINT_RANGE: Partial<Record<string, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1],
};

/**
 * Inputs an op may leave out (-1). Ops not listed read every input they are given, and TFLite's
 * kernels dereference an omitted one (SIGSEGV in STRIDED_SLICE, MEAN, TRANSPOSE, RESHAPE's shape ...). 'any': ops
 * whose kernels check each input themselves (recurrent cells), custom ops and unknown builtins.
 */
const OPTIONAL_INPUTS: Record<string, number[] | 'any'> = {
  CONV_2D: [2], DEPTHWISE_CONV_2D: [2], FULLY_CONNECTED: [2], TRANSPOSE_CONV: [3], CONV_3D: [2],
  CONV_3D_TRANSPOSE: [3], SVDF: [3], LSTM: 'any', UNIDIRECTIONAL_SEQUENCE_LSTM: 'any',
  BIDIRECTIONAL_SEQUENCE_LSTM: 'any', RNN: 'any', UNIDIRECTIONAL_SEQUENCE_RNN: 'any',
  BIDIRECTIONAL_SEQUENCE_RNN: 'any', CUSTOM: 'any', CALL: 'any', IF: 'any', WHILE: 'any',
};

/**
 * Ops whose output has the dtype of their first input. A mismatch (a float SOFTMAX writing into a
 * bool tensor) overruns the smaller tensor and corrupts the heap ("double free or corruption").
 */
const SAME_DTYPE = new Set([
  'SOFTMAX', 'LOGISTIC', 'TANH', 'RELU', 'RELU6', 'RELU_N1_TO_1', 'LEAKY_RELU', 'HARD_SWISH', 'PRELU', 'ELU',
  'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'L2_POOL_2D', 'L2_NORMALIZATION', 'RESHAPE', 'SQUEEZE', 'EXPAND_DIMS',
  'TRANSPOSE', 'CONCATENATION', 'PAD', 'PADV2', 'MIRROR_PAD', 'STRIDED_SLICE', 'SLICE', 'TILE',
  'ADD', 'SUB', 'MUL', 'DIV', 'MAXIMUM', 'MINIMUM', 'SQUARED_DIFFERENCE', 'NEG', 'ABS', 'SQRT', 'RSQRT',
  'SQUARE', 'EXP', 'LOG', 'SIN', 'COS', 'MEAN', 'SUM', 'REDUCE_MAX', 'REDUCE_MIN', 'REDUCE_PROD',
  'RESIZE_BILINEAR', 'RESIZE_NEAREST_NEIGHBOR', 'DEPTH_TO_SPACE', 'SPACE_TO_DEPTH', 'BATCH_TO_SPACE_ND',
  'SPACE_TO_BATCH_ND', 'PACK', 'UNPACK', 'BROADCAST_TO', 'REVERSE_V2', 'ZEROS_LIKE', 'ONES_LIKE',
]);

/** Allowed (input, output) dtype pairs besides equal ones: TFLite's int8 -> int16 softmax. */
const MIXED_DTYPE: Record<string, string[]> = { SOFTMAX: ['int8>int16'] };

/**
 * Elementwise unary ops: the output has the input's shape. TFLite resizes the output to the input
 * at Prepare, so a declared output shape that differs hides the real one from the checks on the
 * ops after it (a 5-D input behind a 4-D declared RELU6 output aborted a 4-D-only POW).
 */
const SAME_SHAPE = new Set([
  'RELU', 'RELU6', 'RELU_N1_TO_1', 'LOGISTIC', 'TANH', 'SOFTMAX', 'LOG_SOFTMAX', 'HARD_SWISH', 'LEAKY_RELU', 'ELU',
  'NEG', 'ABS', 'SQRT', 'RSQRT', 'SQUARE', 'EXP', 'LOG', 'SIN', 'COS', 'FLOOR', 'CEIL', 'ROUND', 'L2_NORMALIZATION',
  'ZEROS_LIKE', 'ONES_LIKE', 'QUANTIZE', 'DEQUANTIZE',
]);

/**
 * Elementwise ops with broadcasting: TFLite 2.9's kernels broadcast in at most 4 dimensions and
 * abort (SIGABRT) on a 5-D broadcast (same shapes take the flat path and are fine).
 */
const BROADCASTING = new Set([
  'ADD', 'SUB', 'MUL', 'DIV', 'POW', 'SQUARED_DIFFERENCE', 'MAXIMUM', 'MINIMUM', 'FLOOR_DIV', 'FLOOR_MOD',
  'LESS', 'LESS_EQUAL', 'GREATER', 'GREATER_EQUAL', 'EQUAL', 'NOT_EQUAL', 'LOGICAL_AND', 'LOGICAL_OR', 'PRELU',
]);

/** Option fields that are sizes or steps (>= 1); 0 or a negative value divides by zero or reads out of bounds. */
const POSITIVE_OPTION = /^(stride[HWD]?|dilation[HWD]Factor|filter(Width|Height|Depth))$/;

function checkOptions(op: TfliteOperator, where: string): void {
  const v = op.builtinOptions?.value as unknown as Record<string, unknown> | undefined;
  if (!v) return;
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== 'number') continue;
    if (POSITIVE_OPTION.test(key) && !(value >= 1 && value <= 65535)) {
      throw invalid(where, `${op.builtinOptions!.type}.${key} is ${value}; it must be from 1 to 65535`);
    }
    if (key === 'padding' && value !== 0 && value !== 1) {
      throw invalid(where, `${op.builtinOptions!.type}.padding is ${value}; it must be 0 (SAME) or 1 (VALID)`);
    }
    if (key === 'fusedActivationFunction' && !(value >= 0 && value <= 5)) {
      throw invalid(where, `${op.builtinOptions!.type}.fusedActivationFunction is ${value}; it must be from 0 to 5`);
    }
  }
}

/** Ops that slide a window over NHWC input: the declared output height and width follow from it. */
const WINDOWED = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'L2_POOL_2D']);

/**
 * The output size TFLite computes for a windowed op must be the declared one: a changed stride
 * left the declared shape behind, and the next ops, sized from the declared shapes, read out of
 * bounds (SIGSEGV).
 */
function checkWindow(sg: TfliteSubgraph, op: TfliteOperator, where: string): void {
  const x = sg.tensors[op.inputs[0] ?? -1];
  const y = sg.tensors[op.outputs[0] ?? -1];
  const o = op.builtinOptions?.value as { padding?: number; strideH?: number; strideW?: number; dilationHFactor?: number; dilationWFactor?: number; filterHeight?: number; filterWidth?: number } | undefined;
  if (!x || !y || !o || x.shape.length !== 4 || y.shape.length !== 4) return;
  let kh = o.filterHeight, kw = o.filterWidth;
  if (kh === undefined || kw === undefined) {
    const w = sg.tensors[op.inputs[1] ?? -1];
    if (!w || w.shape.length !== 4) return;
    kh = w.shape[1]!;
    kw = w.shape[2]!;
  }
  const size = (n: number, k: number, stride = 1, dilation = 1): number => {
    const span = (k - 1) * dilation + 1;
    return o.padding === 0 ? Math.ceil(n / stride) : Math.ceil((n - span + 1) / stride);
  };
  const h = size(x.shape[1]!, kh, o.strideH, o.dilationHFactor);
  const w = size(x.shape[2]!, kw, o.strideW, o.dilationWFactor);
  if (h !== y.shape[1] || w !== y.shape[2]) {
    throw invalid(where, `declares output shape [${y.shape.join(',')}], but input [${x.shape.join(',')}] with this window, stride and padding gives height ${h} and width ${w}`);
  }
}

/**
 * TRANSPOSE_CONV's output (its output_shape operand, which the reader checks against the declared
 * output) must be what a convolution with the same window, stride and padding maps back onto the
 * input: a mismatch (an input dimension or stride changed) overruns TFLite's buffers (heap
 * corruption, SIGABRT).
 */
function checkTransposeConv(sg: TfliteSubgraph, op: TfliteOperator, where: string): void {
  const w = sg.tensors[op.inputs[1] ?? -1];
  const x = sg.tensors[op.inputs[2] ?? -1];
  const y = sg.tensors[op.outputs[0] ?? -1];
  const o = op.builtinOptions?.type === 'TransposeConvOptions' ? op.builtinOptions.value : undefined;
  if (!w || !x || !y || !o || w.shape.length !== 4 || x.shape.length !== 4 || y.shape.length !== 4) return;
  const back = (out: number, k: number, s: number): number => (o.padding === 0 ? Math.ceil(out / s) : Math.ceil((out - k + 1) / s));
  const h = back(y.shape[1]!, w.shape[1]!, o.strideH), wd = back(y.shape[2]!, w.shape[2]!, o.strideW);
  if (h !== x.shape[1] || wd !== x.shape[2]) {
    throw invalid(where, `output [${y.shape.join(',')}] with kernel ${w.shape[1]}x${w.shape[2]}, stride ${o.strideH}x${o.strideW} and ${o.padding === 0 ? 'SAME' : 'VALID'} padding comes from a ${h}x${wd} input, not the ${x.shape[1]}x${x.shape[2]} given`);
  }
}

/** A constant int32 tensor's values, or undefined when the tensor is not one. */
function constInts(model: TfliteModel, t: TfliteTensor | undefined): number[] | undefined {
  const data = t && t.dtype === 'int32' ? model.buffers[t.buffer] : undefined;
  if (!data || data.length === 0 || data.length % 4 !== 0) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return Array.from({ length: data.length / 4 }, (_, i) => view.getInt32(i * 4, true));
}

/**
 * PAD's output is its input plus the constant paddings: TFLite sizes it from them, so paddings
 * that disagree with the declared output (a flipped bit: 131072) allocate without bound (SIGABRT).
 */
function checkPad(model: TfliteModel, sg: TfliteSubgraph, op: TfliteOperator, where: string): void {
  const x = sg.tensors[op.inputs[0] ?? -1];
  const y = sg.tensors[op.outputs[0] ?? -1];
  const p = constInts(model, sg.tensors[op.inputs[1] ?? -1]);
  if (!x || !y || !p) return;
  if (p.length !== 2 * x.shape.length || p.some((v) => v < 0)) {
    throw invalid(where, `paddings [${p.join(',')}] are not two non-negative numbers per dimension of input [${x.shape.join(',')}]`);
  }
  const out = x.shape.map((d, i) => d + p[2 * i]! + p[2 * i + 1]!);
  if (out.join(',') !== y.shape.join(',')) {
    throw invalid(where, `input [${x.shape.join(',')}] padded by [${p.join(',')}] is [${out.join(',')}], not the declared output [${y.shape.join(',')}]`);
  }
}

/**
 * Quantized ADD/SUB rescale through a multiplier TFLite requires to be below 1
 * (2 * largest input scale / (2^20 * output scale), 2^15 for int16); it aborts otherwise.
 */
function checkAddScales(sg: TfliteSubgraph, op: TfliteOperator, where: string): void {
  const [a, b] = [sg.tensors[op.inputs[0]!], sg.tensors[op.inputs[1]!]];
  const y = sg.tensors[op.outputs[0] ?? -1];
  if (!a || !b || !y || !['int8', 'uint8', 'int16'].includes(y.dtype)) return;
  const sa = a.quantization?.scale[0], sb = b.quantization?.scale[0], so = y.quantization?.scale[0];
  if (sa === undefined || sb === undefined || so === undefined || so <= 0) return;
  const m = (2 * Math.max(sa, sb)) / (2 ** (y.dtype === 'int16' ? 15 : 20) * so);
  if (!(m < 1)) {
    throw invalid(where, `output scale ${so} is too small for input scales ${sa} and ${sb} (TFLite's output multiplier ${m.toPrecision(3)} must be below 1)`);
  }
}

function checkOperator(model: TfliteModel, sg: TfliteSubgraph, op: TfliteOperator, where: string): void {
  const optional = OPTIONAL_INPUTS[op.opcode] ?? (op.opcode.startsWith('BUILTIN_') ? 'any' : []);
  if (optional !== 'any') {
    op.inputs.forEach((t, k) => {
      if (t === -1 && !optional.includes(k)) throw invalid(where, `input ${k} is omitted (-1), but ${op.opcode} needs it`);
    });
    op.outputs.forEach((t, k) => {
      if (t === -1) throw invalid(where, `output ${k} is omitted (-1), but ${op.opcode} writes it`);
    });
  }
  checkOptions(op, where);
  if (SAME_DTYPE.has(op.opcode)) {
    const x = sg.tensors[op.inputs[0] ?? -1];
    for (const o of op.outputs) {
      const y = sg.tensors[o];
      if (!x || !y || x.dtype === y.dtype || MIXED_DTYPE[op.opcode]?.includes(`${x.dtype}>${y.dtype}`)) continue;
      throw invalid(where, `writes ${label(y, o)} as ${y.dtype}, but ${op.opcode} outputs the dtype of its input (${x.dtype})`);
    }
  }
  if (SAME_SHAPE.has(op.opcode)) {
    const x = sg.tensors[op.inputs[0] ?? -1];
    const y = sg.tensors[op.outputs[0] ?? -1];
    if (x && y && x.shape.join(',') !== y.shape.join(',')) {
      throw invalid(where, `declares output shape [${y.shape.join(',')}] for input shape [${x.shape.join(',')}], but ${op.opcode} keeps the shape`);
    }
  }
  if (BROADCASTING.has(op.opcode) && op.inputs.length >= 2) {
    const a = sg.tensors[op.inputs[0]!];
    const b = sg.tensors[op.inputs[1]!];
    if (a && b && a.shape.join(',') !== b.shape.join(',') && Math.max(a.shape.length, b.shape.length) > 4) {
      throw invalid(where, `broadcasts [${a.shape.join(',')}] with [${b.shape.join(',')}]: TFLite 2.9 broadcasts in at most 4 dimensions`);
    }
  }
  if (WINDOWED.has(op.opcode)) checkWindow(sg, op, where);
  if (op.opcode === 'TRANSPOSE_CONV') checkTransposeConv(sg, op, where);
  if (op.opcode === 'UNIDIRECTIONAL_SEQUENCE_LSTM' || op.opcode === 'BIDIRECTIONAL_SEQUENCE_LSTM') {
    // TFLite 2.9 asserts (SIGABRT) on a sequence input that is not [time, batch, n] or [batch, n].
    const x = sg.tensors[op.inputs[0] ?? -1];
    if (x && (x.shape.length < 2 || x.shape.length > 3)) throw invalid(where, `input shape [${x.shape.join(',')}] must have 2 or 3 dimensions`);
  }
  if (op.opcode === 'PAD' || op.opcode === 'PADV2' || op.opcode === 'MIRROR_PAD') checkPad(model, sg, op, where);
  if ((op.opcode === 'ADD' || op.opcode === 'SUB') && op.inputs.length >= 2) checkAddScales(sg, op, where);
  if (op.opcode === 'FULLY_CONNECTED') {
    const x = sg.tensors[op.inputs[0] ?? -1];
    const w = sg.tensors[op.inputs[1] ?? -1];
    if (x && w && w.shape.length === 2 && x.shape.length > 0) {
      const n = x.shape.reduce((a, b) => a * b, 1);
      const depth = w.shape[1]!;
      if (depth > 0 && (n < depth || n % depth !== 0)) {
        throw invalid(where, `input shape [${x.shape.join(',')}] (${n} values) is not a whole number of rows of ${depth} for weights [${w.shape.join(',')}]`);
      }
    }
  }
}

/**
 * The checks that keep well-formed models which crash TFLite 2.9 natively away from it.
 * @throws ReefError REEF_MODEL_INVALID naming the part and the reason.
 */
export function validateNativeSafety(model: TfliteModel): void {
  model.subgraphs.forEach((sg, si) => {
    sg.inputs.forEach((i, k) => {
      const t = sg.tensors[i]!;
      if (t.shape.some((d) => d === 0)) {
        throw invalid(`subgraph ${si}, input ${k}`, `${label(t, i)} has shape [${t.shape.join(',')}] with a zero-sized dimension (TFLite divides by it)`);
      }
    });
    sg.outputs.forEach((i, k) => {
      const t = sg.tensors[i]!;
      if ((model.buffers[t.buffer]?.length ?? 0) > 0) {
        throw invalid(`subgraph ${si}, output ${k}`, `${label(t, i)} is a constant: constant outputs crash TFLite 2.9 under XNNPACK`);
      }
    });
    sg.tensors.forEach((t, ti) => {
      const q = t.quantization;
      const range = ZERO_POINT_RANGE[t.dtype];
      if (!q || !range) return;
      q.scale.forEach((x, k) => {
        if (!(Number.isFinite(x) && x >= 0)) {
          throw invalid(`subgraph ${si}, ${label(t, ti)}`, `scale ${x}${q.scale.length > 1 ? ` (channel ${k})` : ''} is not a finite number >= 0 (TFLite aborts on it)`);
        }
      });
      q.zeroPoint.forEach((z, k) => {
        if (!(z >= range[0] && z <= range[1])) {
          throw invalid(`subgraph ${si}, ${label(t, ti)}`, `zero point ${z}${q.zeroPoint.length > 1 ? ` (channel ${k})` : ''} is outside the ${t.dtype} range ${range[0]}..${range[1]}`);
        }
      });
    });
    // An operator none of whose outputs is read (nor a subgraph output) crashes TFLite 2.9 under
    // XNNPACK at invoke; converters never write one (they prune dead operators).
    const read = new Uint8Array(sg.tensors.length);
    for (const op of sg.operators) for (const t of op.inputs) if (t >= 0) read[t] = 1;
    for (const t of sg.outputs) read[t] = 1;
    const where = (op: TfliteOperator, oi: number): string => `subgraph ${si}, operator ${oi} (${op.customCode ?? op.opcode})`;
    sg.operators.forEach((op, oi) => checkOperator(model, sg, op, where(op, oi)));
    sg.operators.forEach((op, oi) => {
      if (op.outputs.length > 0 && op.outputs.every((t) => t < 0 || !read[t])) {
        throw invalid(where(op, oi), `nothing reads its output${op.outputs.length > 1 ? 's' : ''} (${op.outputs.map((t) => label(sg.tensors[t], t)).join(', ')}), and it is not a subgraph output: dead operators crash TFLite 2.9 under XNNPACK`);
      }
    });
  });
}
