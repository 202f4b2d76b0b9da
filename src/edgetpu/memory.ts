/**
 * Estimate of the Edge TPU parameter memory a model will use: how much of the ~8 MiB on-chip
 * cache its mapped weights take, and what would have to stream from the host each inference.
 *
 * The compiler stores each constant weight tensor row by row (one row per output channel, the
 * channel being dimension 3 of a depthwise filter and dimension 0 otherwise), each row padded to
 * 16 bytes, plus 24 bytes per output channel (bias and requantization). Fitted on the three CNN
 * pairs in ../shared/models/edgetpu, it lands within 1.3% of the parameter bytes the real
 * compiler wrote into their executables; docs/edgetpu.md has the table. Recurrent ops (LSTM)
 * are underestimated (the compiler expands their gates).
 */
import type { TfliteModel } from '../model/tflite/ir.js';
import { isConstant } from './constraints.js';

/** Nominal on-chip parameter cache of the Edge TPU (the compiler reports up to 8.05 MiB free). */
export const EDGETPU_CACHE_BYTES = 8 * 1024 * 1024;

/** Row padding and per-channel overhead of the estimate (see the module comment). */
export const ROW_ALIGN = 16;
export const PER_CHANNEL_BYTES = 24;

export interface MemoryEstimate {
  /** Estimated parameter bytes of the mapped operators. */
  parameterBytes: number;
  /** Of which fit in the on-chip cache. */
  onChipBytes: number;
  /** Of which stream from host memory on each inference. */
  offChipBytes: number;
  cacheBytes: number;
  /** Raw constant bytes of the mapped operators' weights (no padding). */
  rawWeightBytes: number;
}

/**
 * Estimate the parameter memory of the operators `mapped` selects (all when omitted).
 *
 * @example
 * const m = estimateParameterMemory(model, prediction.operators.map((o) => o.mapped));
 * if (m.offChipBytes > 0) console.log(`${m.offChipBytes} bytes will stream over USB each inference`);
 */
export function estimateParameterMemory(model: TfliteModel, mapped?: boolean[], cacheBytes = EDGETPU_CACHE_BYTES): MemoryEstimate {
  const sg = model.subgraphs[0]!;
  const seen = new Set<number>();
  let est = 0, raw = 0;
  sg.operators.forEach((op, i) => {
    if (mapped && !mapped[i]) return;
    for (const ti of op.inputs) {
      if (ti < 0 || seen.has(ti)) continue;
      const t = sg.tensors[ti]!;
      if (!isConstant(model, t) || t.dtype === 'int32' || t.dtype === 'int64') continue;
      seen.add(ti);
      const len = model.buffers[t.buffer]!.length;
      raw += len;
      const channels = Math.max(1, (op.opcode === 'DEPTHWISE_CONV_2D' ? t.shape[3] : t.shape[0]) ?? 1);
      const row = len / channels;
      est += channels * (Math.ceil(row / ROW_ALIGN) * ROW_ALIGN + PER_CHANNEL_BYTES);
    }
  });
  const onChip = Math.min(est, cacheBytes);
  return { parameterBytes: est, onChipBytes: onChip, offChipBytes: est - onChip, cacheBytes, rawWeightBytes: raw };
}
