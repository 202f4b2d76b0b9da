/**
 * Pictures of results: the photo with boxes, labels, keypoints (detect), a coloured class overlay
 * (segment) or the top class (classify) drawn on it, written as PNG or JPEG (by extension), and
 * a segmentation mask as a PNG of class indices.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { ReefError } from '../errors.js';
import type { VisionResult } from './vision.js';
import { vocColor, type Mask } from './segment.js';

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A distinct colour per class index (golden-angle hues). */
export function classColor(i: number): string {
  return `hsl(${(i * 137.508) % 360},90%,50%)`;
}

/** The SVG overlay for a result on a width x height photo. */
export function resultSvg(result: VisionResult, width: number, height: number): string {
  const line = Math.max(2, Math.round(Math.min(width, height) / 200));
  const font = Math.max(12, Math.round(Math.min(width, height) / 30));
  let body = '';
  if (result.task === 'detect') {
    for (const d of result.detections) {
      const c = classColor(d.index);
      const { xmin, ymin, xmax, ymax } = d.box;
      const text = `${d.label ?? `class ${d.index}`} ${d.score.toFixed(2)}`;
      body += `<rect x="${xmin}" y="${ymin}" width="${xmax - xmin}" height="${ymax - ymin}" fill="none" stroke="${c}" stroke-width="${line}"/>`;
      const ty = ymin > font + 4 ? ymin - 4 : ymin + font + 2;
      body += `<text x="${xmin + 2}" y="${ty}" font-family="sans-serif" font-size="${font}" fill="${c}" stroke="black" stroke-width="0.5">${esc(text)}</text>`;
      for (const k of d.keypoints ?? []) body += `<circle cx="${k.x}" cy="${k.y}" r="${line + 1}" fill="${c}"/>`;
    }
  } else if (result.task === 'classify' && result.top.length > 0) {
    const t = result.top[0];
    body += `<text x="8" y="${font + 6}" font-family="sans-serif" font-size="${font}" fill="white" stroke="black" stroke-width="1">${esc(`${t.label ?? `class ${t.index}`} ${t.score.toFixed(3)}`)}</text>`;
  } else if (result.task === 'segment') {
    let y = font + 6;
    for (const c of result.classes.slice(0, 6)) {
      const [r, g, b] = vocColor(c.index);
      body += `<text x="8" y="${y}" font-family="sans-serif" font-size="${font}" fill="rgb(${r},${g},${b})" stroke="white" stroke-width="0.6">${esc(`${c.label ?? `class ${c.index}`} ${(c.fraction * 100).toFixed(1)}%`)}</text>`;
      y += font + 4;
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
}

/** RGBA overlay of a mask in the Pascal VOC colours, background (class 0) transparent. */
export function maskOverlay(mask: Mask, alpha = 128): Buffer {
  const out = Buffer.alloc(mask.width * mask.height * 4);
  for (let i = 0; i < mask.data.length; i++) {
    const v = mask.data[i];
    if (v === 0) continue;
    const [r, g, b] = vocColor(v);
    out[i * 4] = r; out[i * 4 + 1] = g; out[i * 4 + 2] = b; out[i * 4 + 3] = alpha;
  }
  return out;
}

/** Writes `photo` with `result` drawn on it to `outPath` (PNG, or JPEG for .jpg/.jpeg). */
export async function writeAnnotated(photo: string | { pixels: Uint8Array; width: number; height: number; channels: 1 | 3 }, result: VisionResult, outPath: string): Promise<void> {
  try {
    let img = typeof photo === 'string'
      ? sharp(photo)
      : sharp(Buffer.from(photo.pixels.buffer, photo.pixels.byteOffset, photo.pixels.byteLength), { raw: { width: photo.width, height: photo.height, channels: photo.channels } });
    const meta = typeof photo === 'string' ? await sharp(photo).metadata() : { width: photo.width, height: photo.height };
    const width = meta.width as number;
    const height = meta.height as number;
    const layers: OverlayOptions[] = [];
    if (result.task === 'segment') {
      layers.push({ input: maskOverlay(result.mask), raw: { width: result.mask.width, height: result.mask.height, channels: 4 } });
    }
    layers.push({ input: Buffer.from(resultSvg(result, width, height)) });
    img = img.removeAlpha().composite(layers);
    img = /\.jpe?g$/i.test(outPath) ? img.jpeg({ quality: 90 }) : img.png();
    await img.toFile(outPath);
  } catch (e) {
    throw new ReefError('REEF_OUTPUT_UNWRITABLE', `cannot write the annotated image ${outPath}: ${(e as Error).message}`);
  }
}

/** Writes a mask as an 8-bit gray PNG whose pixel values are the class indices (16-bit for more than 256 classes). */
export async function writeMaskPng(mask: Mask, outPath: string): Promise<void> {
  try {
    if (mask.data instanceof Uint16Array) {
      await sharp(Buffer.from(mask.data.buffer, mask.data.byteOffset, mask.data.byteLength), { raw: { width: mask.width, height: mask.height, channels: 1, premultiplied: false } })
        .toColourspace('grey16').png().toFile(outPath);
    } else {
      await sharp(Buffer.from(mask.data.buffer, mask.data.byteOffset, mask.data.byteLength), { raw: { width: mask.width, height: mask.height, channels: 1 } }).toColourspace('b-w').png().toFile(outPath);
    }
  } catch (e) {
    throw new ReefError('REEF_OUTPUT_UNWRITABLE', `cannot write the mask ${outPath}: ${(e as Error).message}`);
  }
}
