/**
 * `reef edgetpu check`: the whole pre-compilation report for one model: the predicted split,
 * operator by operator in the compiler's words, the parameter memory estimate, and notes on the
 * model as a whole (already compiled, not quantized, float I/O).
 */
import { ReefError } from '../errors.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { readTflite } from '../model/tflite/reader.js';
import { EDGETPU_CUSTOM_CODE } from './custom_op.js';
import { estimateParameterMemory, type MemoryEstimate } from './memory.js';
import { predictPartition, type PartitionPrediction, type PredictOptions } from './partition.js';

export interface EdgetpuCheckReport extends PartitionPrediction {
  memory: MemoryEstimate;
  /** Whole-model remarks, most important first. */
  notes: string[];
}

/** The JSON document `reef edgetpu check --json` prints. */
export interface EdgetpuCheckJson {
  compiler_version: number;
  operators: Array<{ index: number; opcode: string; mapped: boolean; reason: string; detail?: string; hint?: string }>;
  tpu_ops: number;
  cpu_ops: number;
  segments: number;
  memory: { parameter_bytes: number; on_chip_bytes: number; off_chip_bytes: number; cache_bytes: number };
  notes: string[];
}

/**
 * Check a model for the Edge TPU.
 *
 * @example
 * const report = checkEdgetpu(new Uint8Array(await readFile('model.tflite')));
 * console.log(`${report.tpuOps} of ${report.operators.length} operators on the Edge TPU`);
 * @throws ReefError REEF_MODEL_INVALID for bytes that are not a TFLite model;
 * REEF_INVALID_ARGUMENT for a model that is already compiled for the Edge TPU.
 */
export function checkEdgetpu(modelOrBytes: TfliteModel | Uint8Array, opts: PredictOptions = {}): EdgetpuCheckReport {
  const model = modelOrBytes instanceof Uint8Array ? readTflite(modelOrBytes) : modelOrBytes;
  const sg = model.subgraphs[0]!;
  if (sg.operators.some((o) => o.customCode === EDGETPU_CUSTOM_CODE)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a model that is not yet compiled for the Edge TPU but received one with edgetpu-custom-op (check the compiler\'s input model; `reef inspect` shows the compiled segments)');
  }
  const p = predictPartition(model, opts);
  const memory = estimateParameterMemory(model, p.operators.map((o) => o.mapped));
  const notes: string[] = [];
  const refused = p.operators.find((o) => o.refusal !== undefined);
  if (refused) {
    notes.push(`edgetpu_compiler ${p.compilerVersion} will refuse the whole model ("${refused.refusal}", operator ${refused.index}): nothing gets compiled. ` +
      `Fix: ${refused.hint ?? 'convert with an older TensorFlow'}.`);
  }
  const quantized = sg.tensors.some((t) => t.dtype === 'int8' || t.dtype === 'uint8');
  if (!quantized) notes.push('The model is not quantized: the Edge TPU needs a full-integer (int8/uint8) model. Quantize it first (reef quantize).');
  const floatIO = [...sg.inputs, ...sg.outputs].filter((i) => sg.tensors[i]?.dtype === 'float32');
  if (quantized && floatIO.length > 0) notes.push('The model has float inputs or outputs: their QUANTIZE/DEQUANTIZE run on the CPU. Integer I/O (--io uint8) keeps them on the Edge TPU.');
  if (p.cpuOps > 0 && p.tpuOps > 0) {
    const first = p.operators.find((o) => o.placement === 'cpu-after');
    if (first) notes.push(`The segment ends at operator ${first.index} (${first.opcode}: ${first.reason}); ${p.operators.filter((o) => o.placement === 'cpu-after').length} operator(s) after it run on the CPU.`);
  }
  if (memory.offChipBytes > 0) notes.push(`About ${memory.offChipBytes} bytes of parameters will not fit the on-chip cache and stream from the host on every inference.`);
  return { ...p, memory, notes };
}

/** The `--json` document for a report. */
export function checkReportJson(r: EdgetpuCheckReport): EdgetpuCheckJson {
  return {
    compiler_version: r.compilerVersion,
    operators: r.operators.map((o) => ({
      index: o.index, opcode: o.opcode, mapped: o.mapped, reason: o.reason,
      ...(o.detail ? { detail: o.detail } : {}), ...(o.hint ? { hint: o.hint } : {}),
    })),
    tpu_ops: r.tpuOps,
    cpu_ops: r.cpuOps,
    segments: r.segments,
    memory: { parameter_bytes: r.memory.parameterBytes, on_chip_bytes: r.memory.onChipBytes, off_chip_bytes: r.memory.offChipBytes, cache_bytes: r.memory.cacheBytes },
    notes: r.notes,
  };
}

/** Bytes as the compiler prints them ("566.91KiB", "7.67MiB"). */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)}MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(2)}KiB`;
  return `${n.toFixed(2)}B`;
}

/** The report as text for people: a summary, then the compiler-style operator table, then the CPU operators one by one. */
export function formatCheckReport(r: EdgetpuCheckReport, file?: string): string {
  const lines: string[] = [];
  if (file) lines.push(`Model: ${file}`);
  lines.push(`Predicted for edgetpu_compiler ${r.compilerVersion}`);
  lines.push(`Number of operations that will run on Edge TPU: ${r.tpuOps}`);
  lines.push(`Number of operations that will run on CPU: ${r.cpuOps}`);
  lines.push(`Estimated parameters: ${formatBytes(r.memory.parameterBytes)} (on-chip ${formatBytes(r.memory.onChipBytes)} of ${formatBytes(r.memory.cacheBytes)}, off-chip ${formatBytes(r.memory.offChipBytes)})`);
  lines.push('');
  lines.push(`${'Operator'.padEnd(30)} ${'Count'.padEnd(10)} Status`);
  lines.push('');
  const groups = new Map<string, { opcode: string; reason: string; n: number }>();
  for (const o of r.operators) {
    const k = `${o.opcode}\u0000${o.reason}`;
    const g = groups.get(k) ?? { opcode: o.opcode, reason: o.reason, n: 0 };
    g.n++;
    groups.set(k, g);
  }
  for (const g of groups.values()) lines.push(`${g.opcode.padEnd(30)} ${String(g.n).padEnd(10)} ${g.reason}`);
  const cpu = r.operators.filter((o) => !o.mapped);
  if (cpu.length > 0) {
    lines.push('');
    lines.push('On the CPU:');
    for (const o of cpu) {
      lines.push(`  #${o.index} ${o.opcode}: ${o.reason}${o.detail ? ` (${o.detail})` : o.cutBy !== undefined ? ` (after #${o.cutBy})` : ''}`);
      if (o.hint) lines.push(`      fix: ${o.hint}`);
    }
  }
  if (r.notes.length > 0) {
    lines.push('');
    for (const n of r.notes) lines.push(`note: ${n}`);
  }
  return lines.join('\n') + '\n';
}
