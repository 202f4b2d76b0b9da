/**
 * Non-maximum suppression: hard (torchvision's `nms` / `batched_nms`) and weighted (MediaPipe's
 * NonMaxSuppressionCalculator, WEIGHTED algorithm: overlapping boxes are averaged by score).
 */
import type { Box, Detection } from './types.js';

/** Intersection over union of two boxes; 0 when they do not overlap or a box is empty. */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a.xmax, b.xmax) - Math.max(a.xmin, b.xmin);
  const h = Math.min(a.ymax, b.ymax) - Math.max(a.ymin, b.ymin);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.xmax - a.xmin) * (a.ymax - a.ymin) + (b.xmax - b.xmin) * (b.ymax - b.ymin) - inter;
  return union <= 0 ? 0 : inter / union;
}

function byScore(dets: Detection[]): Detection[] {
  return dets.map((d, i) => [d, i] as const).sort((x, y) => y[0].score - x[0].score || x[1] - y[1]).map((x) => x[0]);
}

/**
 * Hard NMS: best first; a box is dropped when its IoU with a kept box is above `iouThreshold`.
 * `perClass` (torchvision batched_nms) compares only boxes of the same class.
 */
export function nms(dets: Detection[], iouThreshold: number, perClass = true): Detection[] {
  const sorted = byScore(dets);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.some((k) => (!perClass || k.index === d.index) && iou(k.box, d.box) > iouThreshold)) continue;
    kept.push(d);
  }
  return kept;
}

/**
 * Weighted NMS (MediaPipe): take the best remaining box and every remaining box overlapping it by
 * more than `iouThreshold` (itself included); the result has the best box's score and class and the
 * score-weighted mean of their boxes and keypoints.
 */
export function weightedNms(dets: Detection[], iouThreshold: number): Detection[] {
  let remaining = byScore(dets);
  const out: Detection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0];
    const candidates: Detection[] = [];
    const rest: Detection[] = [];
    for (const d of remaining) (iou(d.box, best.box) > iouThreshold ? candidates : rest).push(d);
    let result = best;
    if (candidates.length > 0) {
      let total = 0;
      const b = { xmin: 0, ymin: 0, xmax: 0, ymax: 0 };
      const nk = best.keypoints?.length ?? 0;
      const kp = Array.from({ length: nk }, () => ({ x: 0, y: 0 }));
      for (const c of candidates) {
        total += c.score;
        b.xmin += c.box.xmin * c.score;
        b.ymin += c.box.ymin * c.score;
        b.xmax += c.box.xmax * c.score;
        b.ymax += c.box.ymax * c.score;
        for (let i = 0; i < nk; i++) {
          kp[i].x += (c.keypoints?.[i]?.x ?? 0) * c.score;
          kp[i].y += (c.keypoints?.[i]?.y ?? 0) * c.score;
        }
      }
      result = {
        index: best.index, score: best.score,
        box: { xmin: b.xmin / total, ymin: b.ymin / total, xmax: b.xmax / total, ymax: b.ymax / total },
        ...(nk ? { keypoints: kp.map((k) => ({ x: k.x / total, y: k.y / total })) } : {}),
      };
    }
    out.push(result);
    if (rest.length === remaining.length) break; // nothing taken (a degenerate box): MediaPipe stops too
    remaining = rest;
  }
  return out;
}
