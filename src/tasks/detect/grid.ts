/**
 * Grid detectors (FastestDet, YOLO-style single-scale heads): one output of H x W cells with
 * 5 + C values each: objectness (already a probability), box (tx, ty, tw, th), C class
 * probabilities. Decoding as FastestDet's own `handle_preds`: centre = (cell + tanh(t)) / grid,
 * size = sigmoid(t) (normalised to the input), score = objectness x best class probability,
 * kept when above the threshold, then NMS per class (torchvision batched_nms).
 */
import { ReefError } from '../../errors.js';
import { nms } from './nms.js';
import { applyDetectOptions, type Detection, type DetectOptions } from './types.js';

export interface GridLayout {
  /** Channel-first [1, 5+C, H, W] (PyTorch exports) or channel-last [1, H, W, 5+C]. */
  layout: 'nchw' | 'nhwc';
  height: number;
  width: number;
  classes: number;
}

/**
 * The layout of a grid head from its shape and class count, or null. An axis of 5 + classes
 * is the channel axis (channel-first wins when both fit, as in a square 85x85 grid).
 */
export function gridLayout(shape: readonly number[], classes: number): GridLayout | null {
  if (shape.length !== 4 || shape[0] !== 1 || classes < 1) return null;
  const ch = 5 + classes;
  if (shape[1] === ch) return { layout: 'nchw', height: shape[2], width: shape[3], classes };
  if (shape[3] === ch) return { layout: 'nhwc', height: shape[1], width: shape[2], classes };
  return null;
}

export interface GridOptions extends DetectOptions {
  /** IoU above which a box of the same class is suppressed (FastestDet: 0.45). */
  iouThreshold?: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Decodes a grid head; `data` in the order `layout` says. */
export function decodeGrid(data: ArrayLike<number>, g: GridLayout, opts: GridOptions = {}): Detection[] {
  const { height: H, width: W, classes: C } = g;
  const ch = 5 + C;
  if (data.length !== H * W * ch) {
    throw new ReefError('REEF_TASK_MISMATCH', `the grid output has ${data.length} values; ${H}x${W} cells x ${ch} = ${H * W * ch} were expected`);
  }
  const at = g.layout === 'nchw' ? (c: number, y: number, x: number) => data[(c * H + y) * W + x] : (c: number, y: number, x: number) => data[(y * W + x) * ch + c];
  const thr = opts.scoreThreshold ?? 0.5;
  const found: Detection[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let best = -Infinity;
      let cls = 0;
      for (let c = 0; c < C; c++) {
        const p = at(5 + c, y, x);
        if (p > best) { best = p; cls = c; }
      }
      const score = at(0, y, x) * best;
      if (!(score > thr)) continue;
      const cx = (Math.tanh(at(1, y, x)) + x) / W;
      const cy = (Math.tanh(at(2, y, x)) + y) / H;
      const bw = sigmoid(at(3, y, x));
      const bh = sigmoid(at(4, y, x));
      found.push({ index: cls, score, box: { xmin: cx - bw / 2, ymin: cy - bh / 2, xmax: cx + bw / 2, ymax: cy + bh / 2 } });
    }
  }
  const kept = nms(found, opts.iouThreshold ?? 0.45, true);
  return applyDetectOptions(kept, { ...opts, scoreThreshold: -Infinity });
}
