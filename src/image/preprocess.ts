/**
 * Turning an image file into a model input: decode (sharp), squash-resize to
 * the input's height and width, then map pixels to the input's dtype.
 */
import sharp from 'sharp';
import { stat } from 'node:fs/promises';
import { ReefError } from '../errors.js';
import type { TensorInfo, TypedArray } from '../types.js';

export interface Normalization {
  /** Subtracted from each 0..255 pixel value (per channel or one for all). */
  mean: number | number[];
  /** Divides the result (per channel or one for all). */
  std: number | number[];
}

export const DEFAULT_NORMALIZATION: Normalization = { mean: 127.5, std: 127.5 };

/** Memory order of an image input: channels last ([1,H,W,C], TFLite's) or first ([1,C,H,W], PyTorch's). */
export type Layout = 'nhwc' | 'nchw';

export interface ImageGeometry {
  height: number;
  width: number;
  channels: number;
  layout: Layout;
}

/**
 * Height, width, channels and layout of an image input: [1,H,W,C] (NHWC) or [1,C,H,W] (NCHW) with
 * C = 1 or 3, told apart by the shape; `layout` forces one when both read (e.g. [1,3,224,3]).
 * @throws ReefError REEF_INPUT_SHAPE_MISMATCH for other shapes, REEF_INVALID_ARGUMENT when the
 * layout is ambiguous and not given, or given and impossible.
 */
export function imageGeometry(input: TensorInfo, layout?: Layout): ImageGeometry {
  const s = input.shape;
  const rank4 = s.length === 4 && s[0] === 1;
  const nhwc = rank4 && (s[3] === 1 || s[3] === 3);
  const nchw = rank4 && (s[1] === 1 || s[1] === 3);
  if (!nhwc && !nchw) {
    throw new ReefError('REEF_INPUT_SHAPE_MISMATCH',
      `input "${input.name}" has shape [${s.join(',')}]; an image input must be [1,height,width,1 or 3] (NHWC) or [1,1 or 3,height,width] (NCHW)`);
  }
  if (layout === 'nhwc' && !nhwc || layout === 'nchw' && !nchw) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected a layout that fits input "${input.name}" [${s.join(',')}] for --layout but received ${layout}`);
  }
  const chosen: Layout | undefined = layout ?? (nhwc && nchw ? (s[1] === s[3] ? undefined : s[3] === 3 || s[1] === 1 ? 'nhwc' : 'nchw') : nhwc ? 'nhwc' : 'nchw');
  if (chosen === undefined) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected --layout nhwc or nchw for input "${input.name}" [${s.join(',')}] but received none (both read: say which)`);
  }
  return chosen === 'nhwc'
    ? { height: s[1], width: s[2], channels: s[3], layout: 'nhwc' }
    : { height: s[2], width: s[3], channels: s[1], layout: 'nchw' };
}

/**
 * Checks that a mean or std has one value, or one per channel.
 * @throws ReefError REEF_INVALID_ARGUMENT naming the option, what fits and what came.
 */
export function checkNormalization(norm: Normalization, channels: number): void {
  for (const [name, v] of [['--mean', norm.mean], ['--std', norm.std]] as const) {
    const n = Array.isArray(v) ? v.length : 1;
    if (n !== 1 && n !== channels) {
      throw new ReefError('REEF_INVALID_ARGUMENT',
        `Expected one value or ${channels} (one per channel) for ${name} but received ${n}: ${String(v)}`);
    }
  }
  if ([norm.std].flat().some((x) => x === 0)) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a non-zero --std but received 0');
}

/** Decodes and resizes an image to raw HWC uint8 pixels of the input's size. */
export async function decodeImage(path: string, input: TensorInfo, layout?: Layout): Promise<Uint8Array> {
  const { height, width, channels } = imageGeometry(input, layout);
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read image ${path}: no such file`);
  }
  if (!st.isFile()) throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read image ${path}: it is ${st.isDirectory() ? 'a directory' : 'not a regular file'}, not an image file`);
  try {
    let img = sharp(path, { failOn: 'error' }).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).removeAlpha();
    img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) {
      throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (e) {
    throw new ReefError('REEF_IMAGE_INVALID', `cannot decode image ${path}: ${(e as Error).message}`);
  }
}

function at(v: number | number[], c: number): number {
  return Array.isArray(v) ? v[c % v.length] : v;
}

/**
 * Maps HWC uint8 pixels to the input's dtype: real = (p - mean) / std; float inputs take the real
 * value, quantized inputs its quantized value with the tensor's scale and zero point. When
 * quantizing would give back the pixel itself (scale * std = 1 and mean = zeroPoint, as in Coral's
 * uint8 models) the raw pixels are used, as pycoral does. `pixels` are HWC; an NCHW input gets
 * them transposed to CHW.
 */
export function pixelsToInput(pixels: Uint8Array, input: TensorInfo, norm: Normalization = DEFAULT_NORMALIZATION, layout?: Layout): TypedArray {
  const geo = imageGeometry(input, layout);
  checkNormalization(norm, geo.channels);
  const out = hwcToInput(pixels, input, norm, geo.channels);
  return geo.layout === 'nchw' ? hwcToChw(out, geo) : out;
}

/** Reorders HWC values to CHW (same typed array class). */
function hwcToChw(hwc: TypedArray, g: ImageGeometry): TypedArray {
  const plane = g.height * g.width;
  const out = new (hwc.constructor as new (n: number) => TypedArray)(hwc.length);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < g.channels; c++) out[c * plane + p] = hwc[p * g.channels + c] as never;
  }
  return out;
}

/**
 * How pixels become this input: `float` ((p - mean) / std), `quantized` (that value quantized with
 * the input's scale and zero point), or `raw` (the pixels themselves: a uint8 input whose
 * quantization undoes the normalisation, scale * std = 1 and zero point = mean, as on Coral's models).
 */
export function inputFeed(input: TensorInfo, norm: Normalization): 'raw' | 'float' | 'quantized' {
  if (input.dtype === 'float32') return 'float';
  const { scale, zeroPoint } = input.quantization;
  const raw = input.dtype === 'uint8' && (scale === 0 || [0, 1, 2].every((c) =>
    Math.abs(scale * at(norm.std, c) - 1) < 0.01 && Math.abs(at(norm.mean, c) - zeroPoint) <= 0.5));
  return raw ? 'raw' : 'quantized';
}

function hwcToInput(pixels: Uint8Array, input: TensorInfo, norm: Normalization, channels: number): TypedArray {
  const n = pixels.length;
  const { scale, zeroPoint } = input.quantization;
  switch (input.dtype) {
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const c = i % channels;
        out[i] = (pixels[i] - at(norm.mean, c)) / at(norm.std, c);
      }
      return out;
    }
    case 'uint8':
    case 'int8': {
      if (inputFeed(input, norm) === 'raw') return new Uint8Array(pixels);
      if (scale === 0) {
        throw new ReefError('REEF_INPUT_DTYPE_MISMATCH', `input "${input.name}" is int8 without quantization parameters; reef cannot map pixels to it`);
      }
      const out = input.dtype === 'uint8' ? new Uint8Array(n) : new Int8Array(n);
      const [lo, hi] = input.dtype === 'uint8' ? [0, 255] : [-128, 127];
      for (let i = 0; i < n; i++) {
        const c = i % channels;
        const real = (pixels[i] - at(norm.mean, c)) / at(norm.std, c);
        const q = Math.round(real / scale) + zeroPoint;
        out[i] = q < lo ? lo : q > hi ? hi : q;
      }
      return out;
    }
    default:
      throw new ReefError('REEF_INPUT_DTYPE_MISMATCH',
        `input "${input.name}" is ${input.dtype}; reef run feeds images to float32, uint8 or int8 inputs only`);
  }
}

/** decodeImage + pixelsToInput. */
export async function imageToInput(path: string, input: TensorInfo, norm?: Normalization, layout?: Layout): Promise<TypedArray> {
  return pixelsToInput(await decodeImage(path, input, layout), input, norm, layout);
}
