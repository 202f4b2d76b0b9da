/**
 * Fitting a photo to a model input, and mapping results back to the photo's pixels.
 *
 * Three resize modes: `squash` (the whole photo stretched to the input, as TFLite's Task Library and
 * pycoral do), `center-crop` (the largest centred region of the input's aspect ratio), `letterbox`
 * (the whole photo, aspect kept, padded). The default filter is plain bilinear sampling with
 * half-pixel centres and no antialiasing: what the Task Library's libyuv `kFilterBilinear` and
 * `tf.image.resize(..., 'bilinear')` compute, so reef reproduces the published results of models
 * evaluated that way. Pure functions over typed arrays.
 */
import { ReefError } from '../errors.js';

export type ResizeMode = 'squash' | 'center-crop' | 'letterbox';
export type ResizeFilter = 'bilinear' | 'nearest';
export const RESIZE_MODES: readonly ResizeMode[] = ['squash', 'center-crop', 'letterbox'];
export const RESIZE_FILTERS: readonly ResizeFilter[] = ['bilinear', 'nearest'];

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where the photo goes in the model input: the photo's region `src` is drawn into the input's region `dst`. */
export interface Placement {
  mode: ResizeMode;
  /** The photo's size in pixels. */
  srcWidth: number;
  srcHeight: number;
  /** The model input's size in pixels. */
  width: number;
  height: number;
  /** The part of the photo used (photo pixels; fractional for center-crop). */
  src: Rect;
  /** Where it lands in the input (input pixels, integers; letterbox pads around it). */
  dst: Rect;
}

/** A box in pixels (or normalised, by context): left, top, right, bottom. */
export interface Box {
  xmin: number;
  ymin: number;
  xmax: number;
  ymax: number;
}

/** Computes the placement of a srcWidth x srcHeight photo into a width x height input. */
export function placement(srcWidth: number, srcHeight: number, width: number, height: number, mode: ResizeMode = 'squash'): Placement {
  for (const [n, v] of [['photo width', srcWidth], ['photo height', srcHeight], ['input width', width], ['input height', height]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a positive integer for ${n} but received ${v}`);
  }
  const full = { x: 0, y: 0, width: srcWidth, height: srcHeight };
  const whole = { x: 0, y: 0, width, height };
  switch (mode) {
    case 'squash':
      return { mode, srcWidth, srcHeight, width, height, src: full, dst: whole };
    case 'center-crop': {
      const scale = Math.max(width / srcWidth, height / srcHeight);
      const cw = Math.min(srcWidth, width / scale);
      const ch = Math.min(srcHeight, height / scale);
      return { mode, srcWidth, srcHeight, width, height, src: { x: (srcWidth - cw) / 2, y: (srcHeight - ch) / 2, width: cw, height: ch }, dst: whole };
    }
    case 'letterbox': {
      const scale = Math.min(width / srcWidth, height / srcHeight);
      const dw = Math.max(1, Math.min(width, Math.round(srcWidth * scale)));
      const dh = Math.max(1, Math.min(height, Math.round(srcHeight * scale)));
      const dst = { x: Math.floor((width - dw) / 2), y: Math.floor((height - dh) / 2), width: dw, height: dh };
      return { mode, srcWidth, srcHeight, width, height, src: full, dst };
    }
    default:
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one of ${RESIZE_MODES.join(', ')} for the resize mode but received "${String(mode)}"`);
  }
}

/**
 * Resamples interleaved 8-bit pixels (`channels` per pixel) of a srcWidth x srcHeight photo into a
 * new width x height image following `p`; pixels outside `p.dst` get `pad`.
 * Bilinear: each output pixel centre maps to the photo with half-pixel centres, coordinates clamp at
 * the edges, the value is rounded to the nearest integer.
 */
export function resizePixels(pixels: Uint8Array, channels: number, p: Placement, filter: ResizeFilter = 'bilinear', pad = 0): Uint8Array {
  const { srcWidth: sw, srcHeight: sh, width, height, src, dst } = p;
  if (pixels.length !== sw * sh * channels) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected ${sw * sh * channels} bytes (${sw}x${sh}x${channels}) for the pixels but received ${pixels.length}`);
  }
  const out = new Uint8Array(width * height * channels);
  if (pad !== 0) out.fill(pad);
  const fx = src.width / dst.width;
  const fy = src.height / dst.height;
  // Per-column source positions, computed once.
  const x0 = new Int32Array(dst.width);
  const x1 = new Int32Array(dst.width);
  const wx = new Float64Array(dst.width);
  for (let i = 0; i < dst.width; i++) {
    let x = src.x + (i + 0.5) * fx - 0.5;
    if (filter === 'nearest') x = Math.floor(src.x + (i + 0.5) * fx);
    x = Math.min(Math.max(x, 0), sw - 1);
    x0[i] = Math.floor(x);
    x1[i] = Math.min(x0[i] + 1, sw - 1);
    wx[i] = x - x0[i];
  }
  for (let j = 0; j < dst.height; j++) {
    let y = src.y + (j + 0.5) * fy - 0.5;
    if (filter === 'nearest') y = Math.floor(src.y + (j + 0.5) * fy);
    y = Math.min(Math.max(y, 0), sh - 1);
    const y0 = Math.floor(y);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = y - y0;
    const r0 = y0 * sw * channels;
    const r1 = y1 * sw * channels;
    let o = ((dst.y + j) * width + dst.x) * channels;
    for (let i = 0; i < dst.width; i++) {
      const a = x0[i] * channels;
      const b = x1[i] * channels;
      const w = wx[i];
      for (let c = 0; c < channels; c++) {
        const top = pixels[r0 + a + c] + (pixels[r0 + b + c] - pixels[r0 + a + c]) * w;
        const bot = pixels[r1 + a + c] + (pixels[r1 + b + c] - pixels[r1 + a + c]) * w;
        out[o++] = Math.round(top + (bot - top) * wy);
      }
    }
  }
  return out;
}

/**
 * Maps a box normalised to the model input (0..1) back to the photo's pixels, clipped to the part of
 * the photo the model saw (the whole photo, or the centre crop).
 */
export function boxToPhoto(b: Box, p: Placement): Box {
  const sx = p.src.width / p.dst.width;
  const sy = p.src.height / p.dst.height;
  const mx = (x: number) => Math.min(Math.max(p.src.x + (x * p.width - p.dst.x) * sx, p.src.x), p.src.x + p.src.width);
  const my = (y: number) => Math.min(Math.max(p.src.y + (y * p.height - p.dst.y) * sy, p.src.y), p.src.y + p.src.height);
  return { xmin: mx(b.xmin), ymin: my(b.ymin), xmax: mx(b.xmax), ymax: my(b.ymax) };
}

/** Maps a point normalised to the model input back to the photo's pixels (not clipped). */
export function pointToPhoto(x: number, y: number, p: Placement): { x: number; y: number } {
  return {
    x: p.src.x + (x * p.width - p.dst.x) * (p.src.width / p.dst.width),
    y: p.src.y + (y * p.height - p.dst.y) * (p.src.height / p.dst.height),
  };
}
