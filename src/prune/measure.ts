/**
 * What a model costs, measured the same way before and after pruning: MACs and parameters (the
 * convention of src/model/macs.ts), size raw and gzip-compressed (as it travels to a board), and
 * the median invoke time here (reef's runtime, XNNPACK, 1 thread).
 */
import { gzipSync } from 'node:zlib';
import type { TfliteModel } from '../model/tflite/ir.js';
import { tfliteOpCost } from '../model/macs.js';
import { load } from '../runtime/session.js';

export interface ModelFigures {
  macs: number;
  params: number;
  bytes: number;
  gzipBytes: number;
  /** Median invoke (ms), null when not measured. */
  latencyMs: number | null;
}

/** MACs, parameters and sizes of `model` written as `bytes`; latency when `runs` > 0. */
export async function modelFigures(model: TfliteModel, bytes: Uint8Array, runs = 0): Promise<ModelFigures> {
  const sg = model.subgraphs[0]!;
  let macs = 0;
  let params = 0;
  for (const op of sg.operators) {
    const c = tfliteOpCost(model, sg, op);
    macs += c.macs;
    params += c.params;
  }
  const gzipBytes = gzipSync(bytes, { level: 9 }).length;
  return { macs, params, bytes: bytes.length, gzipBytes, latencyMs: runs > 0 ? await medianInvokeMs(bytes, runs) : null };
}

/** Median of `runs` invokes after a tenth as many warm-up ones (1 thread, XNNPACK). */
export async function medianInvokeMs(bytes: Uint8Array, runs: number): Promise<number> {
  const s = await load(bytes, { threads: 1 });
  try {
    await s.invokeLoop(Math.max(1, Math.floor(runs / 10)));
    const t = Array.from(await s.invokeLoop(runs)).sort((a, b) => a - b);
    return t[Math.floor(t.length / 2)]!;
  } finally {
    await s.dispose();
  }
}
