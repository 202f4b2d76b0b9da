/**
 * What a detector found: pure data, boxes normalised to the model input (0..1) until the
 * application maps them to the photo's pixels.
 */
import type { Box } from '../resize.js';

export type { Box };

export interface Detection {
  /** Class index as the model numbers it (the label file's line). */
  index: number;
  score: number;
  /** Normalised to the model input: 0..1, left/top/right/bottom. */
  box: Box;
  /** Landmarks (BlazeFace: eyes, nose, mouth, ears), normalised like the box. */
  keypoints?: Array<{ x: number; y: number }>;
}

/** A model output as the adapters read it: float values (dequantized), shape, name. */
export interface OutputView {
  name: string;
  shape: readonly number[];
  data: ArrayLike<number>;
}

export interface DetectOptions {
  /** Keep detections scoring at least this (default 0.5). */
  scoreThreshold?: number;
  /** At most this many, best first (default: all). */
  maxResults?: number;
  /** Keep only these class indices (applied before maxResults). */
  allow?: ReadonlySet<number>;
  /** Drop these class indices. */
  deny?: ReadonlySet<number>;
}

/** Threshold, class filters and max count, in that order; input must be sorted best first. */
export function applyDetectOptions(dets: Detection[], opts: DetectOptions = {}): Detection[] {
  const thr = opts.scoreThreshold ?? 0.5;
  const max = opts.maxResults ?? Infinity;
  const out: Detection[] = [];
  for (const d of dets) {
    if (out.length >= max) break;
    if (!(d.score >= thr)) continue;
    if (opts.allow && !opts.allow.has(d.index)) continue;
    if (opts.deny && opts.deny.has(d.index)) continue;
    out.push(d);
  }
  return out;
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
export { count as elementCount };
