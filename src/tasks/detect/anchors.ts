/**
 * SSD anchors as MediaPipe's SsdAnchorsCalculator makes them (non-multiscale path), and the
 * decoding of raw SSD heads against them as its TensorsToDetectionsCalculator does: box offsets
 * scaled by x/y/w/h_scale relative to the anchor, keypoints likewise, sigmoid scores clipped first.
 */
import { ReefError } from '../../errors.js';
import type { Detection } from './types.js';

export interface AnchorOptions {
  numLayers: number;
  minScale: number;
  maxScale: number;
  inputHeight: number;
  inputWidth: number;
  anchorOffsetX: number;
  anchorOffsetY: number;
  strides: number[];
  aspectRatios: number[];
  fixedAnchorSize: boolean;
  reduceBoxesInLowestLayer?: boolean;
  interpolatedScaleAspectRatio?: number;
}

export interface Anchor {
  xCenter: number;
  yCenter: number;
  w: number;
  h: number;
}

/** MediaPipe's BlazeFace short-range (front camera, 128x128) anchor options: 896 anchors. */
export const BLAZEFACE_FRONT_ANCHORS: AnchorOptions = {
  numLayers: 4, minScale: 0.1484375, maxScale: 0.75, inputHeight: 128, inputWidth: 128,
  anchorOffsetX: 0.5, anchorOffsetY: 0.5, strides: [8, 16, 16, 16], aspectRatios: [1.0],
  fixedAnchorSize: true, interpolatedScaleAspectRatio: 1.0,
};

const f32 = Math.fround;

function scaleAt(min: number, max: number, i: number, n: number): number {
  return n === 1 ? f32((min + max) * 0.5) : f32(min + ((max - min) * i) / (n - 1));
}

/** The anchors, in MediaPipe's order (layer, row, column, anchor). */
export function ssdAnchors(o: AnchorOptions): Anchor[] {
  if (o.strides.length !== o.numLayers) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected ${o.numLayers} strides (one per layer) for the anchor options but received ${o.strides.length}`);
  }
  const anchors: Anchor[] = [];
  let layer = 0;
  while (layer < o.numLayers) {
    const heights: number[] = [];
    const widths: number[] = [];
    const ratios: number[] = [];
    const scales: number[] = [];
    let last = layer;
    while (last < o.strides.length && o.strides[last] === o.strides[layer]) {
      const scale = scaleAt(o.minScale, o.maxScale, last, o.strides.length);
      if (last === 0 && o.reduceBoxesInLowestLayer) {
        ratios.push(1, 2, 0.5);
        scales.push(0.1, scale, scale);
      } else {
        for (const r of o.aspectRatios) { ratios.push(r); scales.push(scale); }
        if ((o.interpolatedScaleAspectRatio ?? 0) > 0) {
          const next = last === o.strides.length - 1 ? 1 : scaleAt(o.minScale, o.maxScale, last + 1, o.strides.length);
          scales.push(f32(Math.sqrt(scale * next)));
          ratios.push(o.interpolatedScaleAspectRatio as number);
        }
      }
      last++;
    }
    for (let i = 0; i < ratios.length; i++) {
      const s = f32(Math.sqrt(ratios[i]));
      heights.push(f32(scales[i] / s));
      widths.push(f32(scales[i] * s));
    }
    const stride = o.strides[layer];
    const fh = Math.ceil(o.inputHeight / stride);
    const fw = Math.ceil(o.inputWidth / stride);
    for (let y = 0; y < fh; y++) {
      for (let x = 0; x < fw; x++) {
        for (let a = 0; a < heights.length; a++) {
          anchors.push({
            xCenter: f32((x + o.anchorOffsetX) / fw),
            yCenter: f32((y + o.anchorOffsetY) / fh),
            w: o.fixedAnchorSize ? 1 : widths[a],
            h: o.fixedAnchorSize ? 1 : heights[a],
          });
        }
      }
    }
    layer = last;
  }
  return anchors;
}

export interface AnchorDecodeOptions {
  /** Values per anchor in the box tensor (BlazeFace: 16 = 4 box + 6 keypoints x 2). */
  numCoords: number;
  boxCoordOffset: number;
  keypointCoordOffset: number;
  numKeypoints: number;
  valuesPerKeypoint: number;
  /** x before y (BlazeFace: true). */
  reverseOutputOrder: boolean;
  xScale: number;
  yScale: number;
  wScale: number;
  hScale: number;
  applyExponentialOnBoxSize: boolean;
  sigmoidScore: boolean;
  scoreClippingThresh?: number;
  minScoreThresh: number;
}

/** BlazeFace front (MediaPipe face_detection_short_range): 6 keypoints, scales = input size 128. */
export const BLAZEFACE_FRONT_DECODE: AnchorDecodeOptions = {
  numCoords: 16, boxCoordOffset: 0, keypointCoordOffset: 4, numKeypoints: 6, valuesPerKeypoint: 2,
  reverseOutputOrder: true, xScale: 128, yScale: 128, wScale: 128, hScale: 128,
  applyExponentialOnBoxSize: false, sigmoidScore: true, scoreClippingThresh: 100, minScoreThresh: 0.5,
};

/**
 * Decodes raw SSD heads: `boxes` [N, numCoords] and `scores` [N, numClasses] against N anchors;
 * each anchor keeps its best class; those scoring at least minScoreThresh are returned (not yet
 * suppressed: run weightedNms or nms on them).
 */
export function decodeAnchorBoxes(boxes: ArrayLike<number>, scores: ArrayLike<number>, anchors: Anchor[], o: AnchorDecodeOptions): Detection[] {
  const n = anchors.length;
  if (boxes.length !== n * o.numCoords) {
    throw new ReefError('REEF_TASK_MISMATCH', `the box output has ${boxes.length} values; ${n} anchors x ${o.numCoords} coordinates = ${n * o.numCoords} were expected`);
  }
  if (scores.length % n !== 0 || scores.length === 0) {
    throw new ReefError('REEF_TASK_MISMATCH', `the score output has ${scores.length} values, not a multiple of the ${n} anchors`);
  }
  const classes = scores.length / n;
  const out: Detection[] = [];
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    let bestClass = 0;
    for (let c = 0; c < classes; c++) {
      let s = scores[i * classes + c];
      if (o.scoreClippingThresh !== undefined) s = Math.min(Math.max(s, -o.scoreClippingThresh), o.scoreClippingThresh);
      if (o.sigmoidScore) s = 1 / (1 + Math.exp(-s));
      if (s > best) { best = s; bestClass = c; }
    }
    if (!(best >= o.minScoreThresh)) continue;
    const a = anchors[i];
    const base = i * o.numCoords + o.boxCoordOffset;
    let [yc, xc, h, w] = [boxes[base], boxes[base + 1], boxes[base + 2], boxes[base + 3]];
    if (o.reverseOutputOrder) [xc, yc, w, h] = [boxes[base], boxes[base + 1], boxes[base + 2], boxes[base + 3]];
    xc = (xc / o.xScale) * a.w + a.xCenter;
    yc = (yc / o.yScale) * a.h + a.yCenter;
    if (o.applyExponentialOnBoxSize) {
      h = Math.exp(h / o.hScale) * a.h;
      w = Math.exp(w / o.wScale) * a.w;
    } else {
      h = (h / o.hScale) * a.h;
      w = (w / o.wScale) * a.w;
    }
    const keypoints: Array<{ x: number; y: number }> = [];
    for (let k = 0; k < o.numKeypoints; k++) {
      const off = i * o.numCoords + o.keypointCoordOffset + k * o.valuesPerKeypoint;
      let [ky, kx] = [boxes[off], boxes[off + 1]];
      if (o.reverseOutputOrder) [kx, ky] = [boxes[off], boxes[off + 1]];
      keypoints.push({ x: (kx / o.xScale) * a.w + a.xCenter, y: (ky / o.yScale) * a.h + a.yCenter });
    }
    out.push({
      index: bestClass, score: best,
      box: { xmin: xc - w / 2, ymin: yc - h / 2, xmax: xc + w / 2, ymax: yc + h / 2 },
      ...(o.numKeypoints > 0 ? { keypoints } : {}),
    });
  }
  return out;
}
