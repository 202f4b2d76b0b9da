/**
 * Segmentation: a class per pixel, from an ArgMax output ([1,H,W] integers) or from per-class
 * scores ([1,H,W,C], logits or probabilities); the mask mapped back to the photo's pixels, and the
 * area of each class. Pure functions over typed arrays.
 */
import { ReefError } from '../errors.js';
import type { Placement } from './resize.js';

export interface Mask {
  width: number;
  height: number;
  /** Class index per pixel, row-major. */
  data: Uint8Array | Uint16Array;
}

export interface ClassArea {
  index: number;
  label: string | null;
  pixels: number;
  /** pixels / all pixels of the mask */
  fraction: number;
}

/** True when an output of this shape can be a segmentation mask ([1,H,W] or [1,H,W,C], H and W at least 8). */
export function isMaskShape(shape: readonly number[]): boolean {
  return (shape.length === 3 || shape.length === 4) && shape[0] === 1 && shape[1] >= 8 && shape[2] >= 8;
}

/** The per-pixel class: the value itself for [1,H,W], the arg-max over C for [1,H,W,C] (lowest index on ties). */
export function maskFromOutput(data: ArrayLike<number>, shape: readonly number[]): Mask {
  if (!isMaskShape(shape)) {
    throw new ReefError('REEF_TASK_MISMATCH', `an output of shape [${shape.join(',')}] is not a segmentation mask ([1,H,W] class indices or [1,H,W,C] scores)`);
  }
  const [, height, width] = shape;
  const classes = shape.length === 4 ? shape[3] : 1;
  const n = height * width;
  if (data.length !== n * classes) throw new ReefError('REEF_TASK_MISMATCH', `the mask output has ${data.length} values; [${shape.join(',')}] needs ${n * classes}`);
  let wide = classes > 256;
  if (shape.length === 3) for (let i = 0; i < n && !wide; i++) wide = data[i] > 255;
  const out = wide ? new Uint16Array(n) : new Uint8Array(n);
  if (shape.length === 3 || classes === 1) {
    for (let i = 0; i < n; i++) {
      const v = data[i];
      if (!(v >= 0 && v <= 65535)) throw new ReefError('REEF_TASK_MISMATCH', `the mask output holds ${v} at pixel ${i}: not a class index`);
      out[i] = v;
    }
  } else {
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bv = data[i * classes];
      for (let c = 1; c < classes; c++) {
        const v = data[i * classes + c];
        if (v > bv) { bv = v; best = c; }
      }
      out[i] = best;
    }
  }
  return { width, height, data: out };
}

/** The mask at the photo's size: each photo pixel takes the class of the input pixel its centre maps to. */
export function maskToPhoto(mask: Mask, p: Placement): Mask {
  const { srcWidth: W, srcHeight: H } = p;
  const sx = mask.width / p.width;
  const sy = mask.height / p.height;
  const out = mask.data instanceof Uint16Array ? new Uint16Array(W * H) : new Uint8Array(W * H);
  const col = new Int32Array(W);
  for (let x = 0; x < W; x++) {
    const ix = p.dst.x + ((x + 0.5 - p.src.x) * p.dst.width) / p.src.width; // input pixels
    col[x] = Math.min(mask.width - 1, Math.max(0, Math.floor(ix * sx)));
  }
  for (let y = 0; y < H; y++) {
    const iy = p.dst.y + ((y + 0.5 - p.src.y) * p.dst.height) / p.src.height;
    const row = Math.min(mask.height - 1, Math.max(0, Math.floor(iy * sy))) * mask.width;
    for (let x = 0; x < W; x++) out[y * W + x] = mask.data[row + col[x]];
  }
  return { width: W, height: H, data: out };
}

/** Pixels per class present, largest first. */
export function classAreas(mask: Mask, labels: readonly string[] | null = null): ClassArea[] {
  const counts = new Map<number, number>();
  for (const v of mask.data) counts.set(v, (counts.get(v) ?? 0) + 1);
  const n = mask.data.length;
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .map(([index, pixels]) => ({ index, label: labels?.[index] ?? null, pixels, fraction: pixels / n }));
}

/** The Pascal VOC colour map (what DeepLab demos and the Task Library use) for class i. */
export function vocColor(i: number): [number, number, number] {
  let r = 0, g = 0, b = 0;
  let c = i;
  for (let j = 7; j >= 0; j--) {
    r |= ((c >> 0) & 1) << j;
    g |= ((c >> 1) & 1) << j;
    b |= ((c >> 2) & 1) << j;
    c >>= 3;
  }
  return [r, g, b];
}

/**
 * A mask as run lengths, compact for sending (the camera's live view): row-major runs, each written
 * as two unsigned LEB128 varints, the class index then the run's length (>= 1), base64-encoded.
 * A 513x513 DeepLab mask of a few regions takes a few kilobytes.
 * @example maskToRle({ width: 4, height: 1, data: Uint8Array.of(0, 0, 15, 15) }) // 'AAIPAg==' (0 x2, 15 x2)
 */
export function maskToRle(mask: Mask): string {
  const bytes: number[] = [];
  const varint = (v: number) => {
    while (v >= 0x80) { bytes.push((v & 0x7f) | 0x80); v >>>= 7; }
    bytes.push(v);
  };
  const d = mask.data;
  for (let i = 0; i < d.length;) {
    const v = d[i];
    let j = i + 1;
    while (j < d.length && d[j] === v) j++;
    varint(v);
    varint(j - i);
    i = j;
  }
  return Buffer.from(bytes).toString('base64');
}

/**
 * Reads maskToRle's encoding back.
 * @throws ReefError REEF_INVALID_ARGUMENT when the runs do not fill width x height exactly.
 */
export function maskFromRle(rle: string, width: number, height: number): Mask {
  const b = Buffer.from(rle, 'base64');
  const n = width * height;
  const values: number[] = [];
  const lengths: number[] = [];
  let wide = false;
  let total = 0;
  let i = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (i >= b.length) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a run-length mask of ${width}x${height} but received one that ends inside a number`);
      const c = b[i++];
      v += (c & 0x7f) * 2 ** shift;
      shift += 7;
      if (c < 0x80) return v;
    }
  };
  while (i < b.length) {
    const v = varint();
    const len = varint();
    if (len < 1 || total + len > n || v > 65535) break;
    if (v > 255) wide = true;
    values.push(v);
    lengths.push(len);
    total += len;
  }
  if (total !== n || i !== b.length) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected run lengths covering ${width}x${height} = ${n} pixels but received runs covering ${total}${i !== b.length ? ' and more data after them' : ''}`);
  }
  const data = wide ? new Uint16Array(n) : new Uint8Array(n);
  let o = 0;
  for (let k = 0; k < values.length; k++) { data.fill(values[k], o, o + lengths[k]); o += lengths[k]; }
  return { width, height, data };
}
