/**
 * Parse what edgetpu_compiler prints (console output with -s) and the .log it writes beside the
 * compiled model, into structured data. Tested on real output of compiler versions 14.1, 15.0
 * and 16.0 (../shared/edgetpu-compiler-logs).
 */
import type { PartitionPrediction } from './partition.js';

/** One row of the compiler's operator table. */
export interface CompilerLogRow {
  opcode: string;
  count: number;
  status: string;
}

export interface CompilerLog {
  /** Full version ("16.0.384591198"). */
  version?: string;
  /** Major version (16). */
  major?: number;
  inputModel?: string;
  outputModel?: string;
  inputSizeBytes?: number;
  outputSizeBytes?: number;
  compileMs?: number;
  timeoutSeconds?: number;
  onChipUsedBytes?: number;
  onChipRemainingBytes?: number;
  offChipBytes?: number;
  edgetpuSubgraphs?: number;
  totalOperations?: number;
  operationLog?: string;
  tpuOperations?: number;
  cpuOperations?: number;
  operators: CompilerLogRow[];
  /** True when the output says the compilation succeeded (or wrote a model). */
  succeeded: boolean;
  /** "ERROR: ..." and "Compilation failed: ..." lines, in order. */
  errors: string[];
  /** True when it warned that not all operations are supported. */
  partial: boolean;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** "8.58MiB" -> bytes (rounded; the compiler prints 2 decimals). */
export function parseSize(text: string): number | undefined {
  const m = /^([\d.]+)\s*(B|KiB|MiB|GiB)$/.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/**
 * Parse compiler console output or a .log file (or both concatenated).
 *
 * @example
 * const log = parseCompilerLog(stdout);
 * log.operators.filter((r) => r.status !== 'Mapped to Edge TPU');
 */
export function parseCompilerLog(text: string): CompilerLog {
  const out: CompilerLog = { operators: [], succeeded: false, errors: [], partial: false };
  let inTable = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    let m: RegExpExecArray | null;
    if ((m = /^Edge TPU Compiler version (\S+)/.exec(line))) {
      out.version = m[1]!;
      out.major = Number(m[1]!.split('.')[0]);
      continue;
    }
    if (/^Operator\s+Count\s+Status$/.test(line.trim())) { inTable = true; continue; }
    if (inTable) {
      if ((m = /^(\S+)\s+(\d+)\s+(\S.*)$/.exec(line.trim()))) {
        out.operators.push({ opcode: m[1]!, count: Number(m[2]), status: m[3]!.trim() });
        continue;
      }
      if (line.trim() === '') continue;
      inTable = false;
    }
    if ((m = /^Input(?: model)?: (.+)$/.exec(line))) out.inputModel = m[1]!.trim();
    else if ((m = /^Output(?: model)?: (.+)$/.exec(line))) out.outputModel = m[1]!.trim();
    else if ((m = /^Input size: (.+)$/.exec(line))) out.inputSizeBytes = parseSize(m[1]!);
    else if ((m = /^Output size: (.+)$/.exec(line))) out.outputSizeBytes = parseSize(m[1]!);
    else if ((m = /^Model compiled successfully in (\d+) ms\.?$/.exec(line))) { out.compileMs = Number(m[1]); out.succeeded = true; }
    else if ((m = /^Started a compilation timeout timer of (\d+) seconds\.?$/.exec(line))) out.timeoutSeconds = Number(m[1]);
    else if ((m = /^On-chip memory used for caching model parameters: (.+)$/.exec(line))) out.onChipUsedBytes = parseSize(m[1]!);
    else if ((m = /^On-chip memory remaining for caching model parameters: (.+)$/.exec(line))) out.onChipRemainingBytes = parseSize(m[1]!);
    else if ((m = /^Off-chip memory used for streaming uncached model parameters: (.+)$/.exec(line))) out.offChipBytes = parseSize(m[1]!);
    else if ((m = /^Number of Edge TPU subgraphs: (\d+)$/.exec(line))) out.edgetpuSubgraphs = Number(m[1]);
    else if ((m = /^Total number of operations: (\d+)$/.exec(line))) out.totalOperations = Number(m[1]);
    else if ((m = /^Operation log: (.+)$/.exec(line))) out.operationLog = m[1]!.trim();
    else if ((m = /^Number of operations that will run on Edge TPU: (\d+)$/.exec(line))) out.tpuOperations = Number(m[1]);
    else if ((m = /^Number of operations that will run on CPU: (\d+)$/.exec(line))) out.cpuOperations = Number(m[1]);
    else if (/^Model successfully compiled but not all operations are supported/.test(line)) out.partial = true;
    else if (/^Compilation succeeded!?$/.test(line)) out.succeeded = true;
    else if (/^(ERROR: |Compilation failed)/.test(line)) { out.errors.push(line); if (/^Compilation failed/.test(line)) out.succeeded = false; }
  }
  // A .log file holds only the header and the table: a table means the compiler produced a model.
  if (!out.succeeded && out.errors.length === 0 && out.operators.length > 0) out.succeeded = true;
  return out;
}

/** A difference between predicted and logged operator counts for one (opcode, status). */
export interface LogComparisonRow {
  opcode: string;
  status: string;
  predicted: number;
  actual: number;
}

/**
 * Compare a prediction with the compiler's operator table: one row per (opcode, status) seen
 * on either side; `agrees` when every count matches.
 */
export function compareWithLog(p: PartitionPrediction, log: CompilerLog): { agrees: boolean; rows: LogComparisonRow[] } {
  const rows = new Map<string, LogComparisonRow>();
  const row = (opcode: string, status: string): LogComparisonRow => {
    const k = `${opcode}\u0000${status}`;
    let r = rows.get(k);
    if (!r) { r = { opcode, status, predicted: 0, actual: 0 }; rows.set(k, r); }
    return r;
  };
  for (const o of p.operators) row(o.opcode, o.reason).predicted++;
  for (const r of log.operators) row(r.opcode, r.status).actual += r.count;
  const list = [...rows.values()];
  return { agrees: list.every((r) => r.predicted === r.actual), rows: list };
}
