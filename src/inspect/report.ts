/**
 * `reef inspect`: a report over several tools (the model readers, MAC counting, Edge TPU package
 * reading, defect detection), so it lives apart from them and the imports point one way:
 * inspect -> model, edgetpu; edgetpu -> model. One report of a model's I/O, operators, costs and metadata, as a stable
 * JSON document (inspectModel) and as a table a person can read (formatInspect).
 */
import { describeEdgetpuCustomOp } from '../edgetpu/custom_op.js';
import { ReefError } from '../errors.js';
import { isConstant, tfliteOpCost } from '../model/macs.js';
import { onnxNodeCost } from '../model/onnx/macs.js';
import { isOnnx, readOnnx } from '../model/onnx/reader.js';
import type { OnnxModel } from '../model/onnx/ir.js';
import { DTYPE_SIZE, type TfliteModel, type TfliteTensor } from '../model/tflite/ir.js';
import { readTfliteMetadata } from '../model/tflite/metadata.js';
import { decodeFlexbuffer, type FlexValue } from '../model/flexbuffer.js';
import { isTflite, readTflite } from '../model/tflite/reader.js';
import { describeDefect, detectDefects, type ModelDefect } from '../model/tflite/defects.js';
import { ActivationFunctionType } from '../model/tflite/schema.generated.js';

export interface InspectTensor {
  /** Tensor index in its subgraph (TFLite) or position in the graph's list (ONNX). */
  index: number;
  name: string;
  dtype: string;
  /** Dimensions; ONNX symbolic dimensions appear as -1 with their names in `dimNames`. */
  shape: number[];
  dimNames?: (string | null)[];
  quantization?: { scale: number[]; zeroPoint: number[]; quantizedDimension?: number };
}

export interface InspectOperand {
  /** Tensor index, -1 for an omitted optional input. */
  tensor: number;
  name?: string;
  dtype?: string;
  shape?: number[];
  constant?: boolean;
}

export interface InspectOperator {
  index: number;
  subgraph: number;
  opcode: string;
  customCode?: string;
  version: number;
  inputs: InspectOperand[];
  outputs: InspectOperand[];
  fusedActivation?: string;
  macs: number;
  params: number;
  customOptionsBytes?: number;
  /** Custom options decoded from FlexBuffers (e.g. TFLite_Detection_PostProcess parameters). */
  customOptions?: FlexValue;
}

export type QuantizationKind = 'float' | 'int8' | 'int16' | 'uint8-legacy' | 'mixed';

export interface InspectReport {
  format: 'tflite' | 'onnx';
  file?: string;
  bytes: number;
  description?: string;
  /** TFLite schema version or ONNX IR version. */
  version: number;
  subgraphs: number;
  producer?: string;
  opsets?: Record<string, number>;
  inputs: InspectTensor[];
  outputs: InspectTensor[];
  operators: InspectOperator[];
  totals: {
    operators: number;
    macs: number;
    params: number;
    /** Bytes of constant data by dtype. */
    bytesByDtype: Record<string, number>;
    /** Operator count by opcode. */
    opcodes: Record<string, number>;
    /** float, int8 (full-integer, I/O may be uint8), int16, uint8-legacy (TF1 uint8), or mixed. */
    quantization: QuantizationKind;
  };
  metadata?: {
    entries: string[];
    name?: string;
    description?: string;
    version?: string;
    author?: string;
    license?: string;
    minRuntimeVersion?: string;
    labels?: number;
    labelsFile?: string;
    mean?: number[];
    std?: number[];
    colorSpace?: string;
    associatedFiles: string[];
    /** Set when the metadata could not be read: why. */
    error?: string;
  };
  /** Known converter defects TensorFlow Lite 2.9 refuses (present only when there are some; `reef repair` fixes those with a fix). */
  defects?: ModelDefect[];
  edgetpu?: {
    /** The compiled edgetpu-custom-op operators and the size of their compiled code (custom options). */
    customOps: { operator: number; bytes: number; compiled?: EdgetpuCompiledInfo; error?: string }[];
    /** Operators left for the CPU (not inside an edgetpu-custom-op). */
    cpuOperators: number;
  };
}

type EdgetpuCompiledInfo = ReturnType<typeof describeEdgetpuCustomOp>;

function describeCompiled(operator: number, options: Uint8Array | undefined): { operator: number; bytes: number; compiled?: EdgetpuCompiledInfo; error?: string } {
  const bytes = options?.length ?? 0;
  if (!options) return { operator, bytes, error: 'no custom options' };
  try {
    return { operator, bytes, compiled: describeEdgetpuCustomOp(options) };
  } catch (e) {
    return { operator, bytes, error: (e as Error).message };
  }
}

/**
 * Inspect a model given as bytes (.tflite or .onnx, told apart by content).
 * @throws ReefError REEF_MODEL_INVALID when the bytes are neither, or are corrupt.
 */
export function inspectModel(bytes: Uint8Array, file?: string): InspectReport {
  if (isTflite(bytes)) return inspectTflite(readTflite(bytes), bytes.length, file);
  if (isOnnx(bytes)) return inspectOnnx(readOnnx(bytes), bytes.length, file);
  if (file?.endsWith('.onnx')) return inspectOnnx(readOnnx(bytes), bytes.length, file);
  // Not recognisably either: let the TFLite reader say precisely what is wrong.
  return inspectTflite(readTflite(bytes), bytes.length, file);
}

function tensorInfo(t: TfliteTensor, index: number): InspectTensor {
  const out: InspectTensor = { index, name: t.name, dtype: t.dtype, shape: t.shape };
  const q = t.quantization;
  if (q && q.scale.length > 0) {
    out.quantization = { scale: q.scale, zeroPoint: q.zeroPoint };
    if (q.scale.length > 1) out.quantization.quantizedDimension = q.quantizedDimension;
  }
  return out;
}

/** Build the report for a TFLite IR. */
export function inspectTflite(model: TfliteModel, bytes: number, file?: string): InspectReport {
  const sg0 = model.subgraphs[0];
  if (!sg0) throw new ReefError('REEF_MODEL_INVALID', 'Invalid TFLite model: Model.subgraphs: the model has no subgraphs');
  const operators: InspectOperator[] = [];
  const opcodes: Record<string, number> = {};
  const bytesByDtype: Record<string, number> = {};
  let macs = 0;
  let params = 0;
  const edgetpu: { operator: number; bytes: number }[] = [];
  const computeDtypes = new Set<string>();
  const ioDtypes = new Set<string>();
  model.subgraphs.forEach((sg, si) => {
    // Quantization kind: from the tensors ops compute on, not I/O (int8 models often have
    // uint8 I/O), LSTM gate intermediates (float32 placeholders) or recurrent state (int16).
    const skip = new Set([...sg.inputs, ...sg.outputs, ...sg.operators.flatMap((o) => o.intermediates ?? [])]);
    const seen = new Set<number>();
    sg.tensors.forEach((t, ti) => {
      if (isConstant(model, sg, ti)) bytesByDtype[t.dtype] = (bytesByDtype[t.dtype] ?? 0) + model.buffers[t.buffer]!.length;
      if (['int32', 'int64', 'bool', 'string', 'resource', 'variant'].includes(t.dtype)) return;
      if (!skip.has(ti) && !t.isVariable) computeDtypes.add(t.dtype);
      else if (!sg.operators.some((o) => o.intermediates?.includes(ti))) ioDtypes.add(t.dtype);
    });
    sg.operators.forEach((op, oi) => {
      const cost = tfliteOpCost(model, sg, op);
      macs += cost.macs;
      for (const t of cost.paramTensors) {
        if (seen.has(t)) continue;
        seen.add(t);
        params += sg.tensors[t]!.shape.reduce((a, b) => a * b, 1);
      }
      const name = op.customCode ?? op.opcode;
      opcodes[name] = (opcodes[name] ?? 0) + 1;
      const operand = (i: number): InspectOperand => {
        const t = sg.tensors[i];
        if (i < 0 || !t) return { tensor: i };
        return { tensor: i, name: t.name, dtype: t.dtype, shape: t.shape, ...(isConstant(model, sg, i) ? { constant: true } : {}) };
      };
      const row: InspectOperator = {
        index: oi,
        subgraph: si,
        opcode: op.opcode,
        ...(op.customCode !== undefined ? { customCode: op.customCode } : {}),
        version: op.version,
        inputs: op.inputs.map(operand),
        outputs: op.outputs.map(operand),
        macs: cost.macs,
        params: cost.params,
      };
      const opts = op.builtinOptions?.value as { fusedActivationFunction?: number } | undefined;
      if (opts && typeof opts.fusedActivationFunction === 'number') {
        row.fusedActivation = ActivationFunctionType[opts.fusedActivationFunction] ?? `ACTIVATION_${opts.fusedActivationFunction}`;
      }
      if (op.customOptions) {
        row.customOptionsBytes = op.customOptions.length;
        if (op.customCode !== 'edgetpu-custom-op' && op.customOptionsFormat === 0 && op.customOptions.length > 0) {
          try {
            row.customOptions = decodeFlexbuffer(op.customOptions);
          } catch {
            // Not FlexBuffers after all (or damaged): the byte count is all we can show.
          }
        }
      }
      if (op.customCode === 'edgetpu-custom-op') edgetpu.push(describeCompiled(oi, op.customOptions));
      operators.push(row);
    });
  });
  const report: InspectReport = {
    format: 'tflite',
    ...(file !== undefined ? { file } : {}),
    bytes,
    ...(model.description !== undefined ? { description: model.description } : {}),
    version: model.version,
    subgraphs: model.subgraphs.length,
    inputs: sg0.inputs.map((i) => tensorInfo(sg0.tensors[i]!, i)),
    outputs: sg0.outputs.map((i) => tensorInfo(sg0.tensors[i]!, i)),
    operators,
    totals: { operators: operators.length, macs, params, bytesByDtype, opcodes, quantization: quantizationKind(computeDtypes.size > 0 ? computeDtypes : ioDtypes) },
  };
  try {
    const md = readTfliteMetadata(model);
    if (md.entries.length > 0 || md.associatedFiles.length > 0) {
      report.metadata = {
        entries: md.entries,
        ...(md.name !== undefined ? { name: md.name } : {}),
        ...(md.description !== undefined ? { description: md.description } : {}),
        ...(md.version !== undefined ? { version: md.version } : {}),
        ...(md.author !== undefined ? { author: md.author } : {}),
        ...(md.license !== undefined ? { license: md.license } : {}),
        ...(md.minRuntimeVersion !== undefined ? { minRuntimeVersion: md.minRuntimeVersion } : {}),
        ...(md.labels ? { labels: md.labels.length, labelsFile: md.labelsFile } : {}),
        ...(md.mean ? { mean: md.mean } : {}),
        ...(md.std ? { std: md.std } : {}),
        ...(md.colorSpace ? { colorSpace: md.colorSpace } : {}),
        associatedFiles: md.associatedFiles,
      };
    }
  } catch (e) {
    report.metadata = { entries: model.metadata.map((m) => m.name), associatedFiles: [], error: (e as Error).message };
  }
  const defects = detectDefects(model);
  if (defects.length > 0) report.defects = defects;
  if (edgetpu.length > 0) report.edgetpu = { customOps: edgetpu, cpuOperators: operators.length - edgetpu.length };
  return report;
}

function quantizationKind(dtypes: Set<string>): QuantizationKind {
  const d = [...dtypes];
  if (d.length === 0 || d.every((x) => x === 'float32' || x === 'float16' || x === 'float64')) return 'float';
  if (d.every((x) => x === 'int8')) return 'int8';
  if (d.every((x) => x === 'int16' || x === 'int8') && d.includes('int16')) return 'int16';
  if (d.every((x) => x === 'uint8')) return 'uint8-legacy';
  return 'mixed';
}

/** Build the report for an ONNX IR. */
export function inspectOnnx(model: OnnxModel, bytes: number, file?: string): InspectReport {
  const g = model.graph;
  // Weights live in initializers, or (in old exports) in Constant nodes.
  const constants = [
    ...g.initializers,
    ...g.nodes.flatMap((n) => {
      const a = n.opType === 'Constant' ? n.attributes.find((x) => x.name === 'value') : undefined;
      return a?.type === 'tensor' && n.outputs[0] ? [{ ...a.value, name: n.outputs[0] }] : [];
    }),
  ];
  const initNames = new Set(constants.map((t) => t.name));
  const INDEX = ['int32', 'int64', 'bool', 'string'];
  const paramNames = new Set(constants.filter((t) => !INDEX.includes(t.dtype)).map((t) => t.name));
  const shapes = new Map<string, { dtype: string; shape: number[] }>();
  for (const v of [...g.inputs, ...g.valueInfo, ...g.outputs]) shapes.set(v.name, { dtype: v.dtype, shape: v.shape.map((d) => (typeof d === 'number' ? d : -1)) });
  for (const t of constants) shapes.set(t.name, { dtype: t.dtype, shape: t.dims });
  const inferred = model.inferredShapes ?? new Map<string, number[]>();
  for (const [k, s] of inferred) if (!shapes.has(k)) shapes.set(k, { dtype: 'unknown', shape: s });
  const io = (v: (typeof g.inputs)[number], i: number): InspectTensor => ({
    index: i,
    name: v.name,
    dtype: v.dtype,
    shape: v.shape.map((d) => (typeof d === 'number' ? d : -1)),
    ...(v.shape.some((d) => typeof d !== 'number') ? { dimNames: v.shape.map((d) => (typeof d === 'number' ? null : d)) } : {}),
  });
  const opcodes: Record<string, number> = {};
  let macs = 0;
  const operators: InspectOperator[] = g.nodes.map((n, i) => {
    const cost = onnxNodeCost(n, (name) => shapes.get(name)?.shape, paramNames);
    macs += cost.macs;
    const name = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    opcodes[name] = (opcodes[name] ?? 0) + 1;
    const operand = (nm: string): InspectOperand => {
      if (nm === '') return { tensor: -1 };
      const s = shapes.get(nm);
      return { tensor: -1, name: nm, ...(s ? { dtype: s.dtype, shape: s.shape } : {}), ...(initNames.has(nm) ? { constant: true } : {}) };
    };
    return {
      index: i,
      subgraph: 0,
      opcode: n.opType,
      version: model.opsets[n.domain || ''] ?? 0,
      inputs: n.inputs.map(operand),
      outputs: n.outputs.map(operand),
      macs: cost.macs,
      params: cost.params,
    };
  });
  const bytesByDtype: Record<string, number> = {};
  let params = 0;
  const dtypes = new Set<string>();
  for (const t of constants) {
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (!INDEX.includes(t.dtype)) params += count;
    bytesByDtype[t.dtype] = (bytesByDtype[t.dtype] ?? 0) + count * (DTYPE_SIZE[t.dtype as keyof typeof DTYPE_SIZE] ?? 0);
    if (!INDEX.includes(t.dtype)) dtypes.add(t.dtype);
  }
  return {
    format: 'onnx',
    ...(file !== undefined ? { file } : {}),
    bytes,
    ...(model.docString ? { description: model.docString } : {}),
    version: model.irVersion,
    subgraphs: 1,
    ...(model.producerName ? { producer: `${model.producerName}${model.producerVersion ? ' ' + model.producerVersion : ''}` } : {}),
    opsets: model.opsets,
    inputs: g.inputs.filter((v) => !initNames.has(v.name)).map(io),
    outputs: g.outputs.map(io),
    operators,
    totals: { operators: operators.length, macs, params, bytesByDtype, opcodes, quantization: quantizationKind(dtypes) },
  };
}

const num = (n: number): string => n.toLocaleString('en-US');
const shp = (s: readonly number[] | undefined): string => (s ? `[${s.join(',')}]` : '?');

function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

function quantText(t: InspectTensor): string {
  const q = t.quantization;
  if (!q) return '-';
  if (q.scale.length === 1) return `scale ${q.scale[0]} zero_point ${q.zeroPoint[0] ?? 0}`;
  return `per-axis (dim ${q.quantizedDimension}, ${q.scale.length} scales)`;
}

/** Render a report as the human-readable tables `reef inspect` prints. */
export function formatInspect(r: InspectReport): string {
  let s = '';
  const what = r.format === 'tflite' ? `TFLite schema v${r.version}` : `ONNX IR v${r.version}`;
  s += `${r.file ?? 'model'}: ${what}, ${num(r.bytes)} bytes, ${r.subgraphs} subgraph${r.subgraphs === 1 ? '' : 's'}\n`;
  if (r.description) s += `description: ${r.description}\n`;
  if (r.producer) s += `producer: ${r.producer}\n`;
  if (r.opsets) s += `opsets: ${Object.entries(r.opsets).map(([d, v]) => `${d || 'ai.onnx'} ${v}`).join(', ')}\n`;
  const ioRows = (ts: InspectTensor[]): string[][] => [['#', 'name', 'dtype', 'shape', 'quantization'], ...ts.map((t) => [String(t.index), t.name, t.dtype, t.dimNames ? `[${t.shape.map((d, i) => (d < 0 ? t.dimNames![i] ?? '?' : String(d))).join(',')}]` : shp(t.shape), quantText(t)])];
  s += `\nInputs\n${table(ioRows(r.inputs))}`;
  s += `\nOutputs\n${table(ioRows(r.outputs))}`;
  const rows: string[][] = [['#', 'op', 'v', 'inputs', 'outputs', 'act', 'MACs', 'params']];
  for (const o of r.operators) {
    const acts = o.inputs.filter((x) => !x.constant && x.tensor !== -1 || (x.tensor === -1 && x.name && !x.constant));
    rows.push([
      r.subgraphs > 1 ? `${o.subgraph}:${o.index}` : String(o.index),
      o.customCode ? `${o.customCode}` : o.opcode,
      String(o.version),
      acts.map((x) => shp(x.shape)).join(' ') || '-',
      o.outputs.map((x) => shp(x.shape)).join(' '),
      o.fusedActivation && o.fusedActivation !== 'NONE' ? o.fusedActivation : '',
      o.macs ? num(o.macs) : '',
      o.params ? num(o.params) : '',
    ]);
  }
  s += `\nOperators (${r.operators.length})\n${table(rows)}`;
  const t = r.totals;
  s += `\nTotals\n`;
  s += `  MACs        ${num(t.macs)} (${(t.macs / 1e6).toFixed(1)} M)\n`;
  s += `  parameters  ${num(t.params)} (${(t.params / 1e6).toFixed(2)} M)\n`;
  s += `  constants   ${Object.entries(t.bytesByDtype).map(([d, b]) => `${d} ${num(b)} B`).join(', ') || 'none'}\n`;
  s += `  types       ${t.quantization}\n`;
  s += `  ops         ${Object.entries(t.opcodes).map(([k, v]) => `${k} x${v}`).join(', ')}\n`;
  if (r.metadata) {
    const m = r.metadata;
    s += `\nMetadata\n`;
    s += `  entries     ${m.entries.join(', ') || '-'}\n`;
    if (m.error) s += `  error       ${m.error}\n`;
    if (m.name) s += `  name        ${m.name}${m.version ? ` (${m.version})` : ''}\n`;
    if (m.author) s += `  author      ${m.author}\n`;
    if (m.minRuntimeVersion) s += `  min runtime ${m.minRuntimeVersion}\n`;
    if (m.labels !== undefined) s += `  labels      ${m.labels} (${m.labelsFile})\n`;
    if (m.mean || m.std) s += `  normalise   mean ${shp(m.mean)} std ${shp(m.std)}${m.colorSpace ? `, ${m.colorSpace}` : ''}\n`;
    if (m.associatedFiles.length) s += `  files       ${m.associatedFiles.join(', ')}\n`;
  }
  if (r.defects) {
    const fixable = r.defects.every((d) => d.fix);
    s += `\nDefects (TensorFlow Lite 2.9 refuses this model)\n`;
    for (const d of r.defects) s += `  ${describeDefect(d)}\n`;
    s += fixable ? `  \`reef repair ${r.file ?? 'MODEL'} -o FIXED.tflite\` fixes ${r.defects.length === 1 ? 'it' : 'them all'}\n`
      : `  some have no unambiguous fix: convert the model again with a current TFLite converter\n`;
  }
  if (r.edgetpu) {
    s += `\nEdge TPU\n`;
    for (const c of r.edgetpu.customOps) {
      s += `  operator ${c.operator}: edgetpu-custom-op, ${num(c.bytes)} bytes of compiled code (MACs inside not counted)\n`;
      const x = c.compiled;
      if (x) {
        const build = x.compilerVersion === 'cl/' ? 'cl/ (no build number recorded)' : x.compilerVersion;
        s += `    compiler ${build}, needs Edge TPU runtime >= ${x.minRuntimeVersion}\n`;
        s += `    executables ${x.executables.map((e) => e.type).join(', ')}${x.packages > 1 ? ` (${x.packages} packages)` : ''}\n`;
        s += `    parameters  ${num(x.cachedParameterBytes)} bytes cached on chip, ${num(x.streamedParameterBytes)} bytes streamed\n`;
        if (x.parameterCachingToken) s += `    caching token ${x.parameterCachingToken}\n`;
      } else if (c.error) {
        s += `    could not read the compiled package: ${c.error}\n`;
      }
    }
    s += `  ${r.edgetpu.cpuOperators} operator${r.edgetpu.cpuOperators === 1 ? '' : 's'} left on the CPU\n`;
  }
  return s;
}
