import { describe, it, expect, afterAll } from 'vitest';
import sharp from 'sharp';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAnnotated, writeMaskPng, resultSvg } from '../../src/tasks/annotate.js';
import { isReefError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-annotate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const gray = { pixels: new Uint8Array(100 * 80 * 3).fill(128), width: 100, height: 80, channels: 3 as const };

describe('pictures of results', () => {
  it('draws a detection box on the photo: its edge changes colour, its inside and the rest of the photo do not', async () => {
    const out = join(dir, 'det.png');
    await writeAnnotated(gray, { task: 'detect', detections: [{ index: 3, label: 'car', score: 0.9, box: { xmin: 20, ymin: 30, xmax: 60, ymax: 70 } }] }, out);
    const { data, info } = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    expect([info.width, info.height]).toEqual([100, 80]);
    expect(px(20, 50)).not.toEqual([128, 128, 128]); // left edge
    expect(px(40, 50)).toEqual([128, 128, 128]); // inside
    expect(px(90, 5)).toEqual([128, 128, 128]); // outside
    expect(resultSvg({ task: 'detect', detections: [{ index: 0, label: 'a<b', score: 0.5, box: { xmin: 0, ymin: 0, xmax: 1, ymax: 1 } }] }, 10, 10)).toContain('a&#60;b 0.50');
  });

  it('overlays a segmentation mask in the Pascal VOC colours (background left alone); --save-mask PNG holds the class indices', async () => {
    const data = new Uint8Array(100 * 80);
    for (let y = 0; y < 80; y++) for (let x = 50; x < 100; x++) data[y * 100 + x] = 15; // right half: person
    const mask = { width: 100, height: 80, data };
    const out = join(dir, 'seg.png');
    await writeAnnotated(gray, { task: 'segment', mask, classes: [], modelMask: mask }, out);
    const img = await sharp(out).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...img.data.subarray((y * 100 + x) * img.info.channels, (y * 100 + x) * img.info.channels + 3)];
    expect(at(10, 70)).toEqual([128, 128, 128]);
    // person (192,128,128) at alpha 128/255 over gray 128: red rises, green and blue stay
    expect(at(90, 70)[0]).toBeGreaterThan(150);
    expect(at(90, 70).slice(1)).toEqual([128, 128]);
    const mp = join(dir, 'mask.png');
    await writeMaskPng(mask, mp);
    expect((await sharp(mp).metadata()).channels).toBe(1);
    const back = await sharp(mp).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.compare(back.data, Buffer.from(data))).toBe(0);
  });

  it('BAD OUTPUT - a folder that does not exist: REEF_OUTPUT_UNWRITABLE', async () => {
    const e = await writeAnnotated(gray, { task: 'classify', top: [] }, join(dir, 'no', 'such', 'x.png')).catch((x: unknown) => x);
    expect(isReefError(e, 'REEF_OUTPUT_UNWRITABLE')).toBe(true);
  });
});
