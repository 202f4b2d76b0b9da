import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../shared.js';
import { cli } from '../cli.js';

const SSD = sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const IMAGES = sharedPath('images/coco/images');

describe('reef eval MODEL --coco --images (SSD MobileNet v1 on 8 COCO photos)', () => {
  let dir: string;
  let gt: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'reef-eval-model-'));
    const full = JSON.parse(readFileSync(sharedPath('images/coco/labels.json'), 'utf8')) as { images: Array<{ id: number }>; annotations: Array<{ image_id: number }> };
    const images = full.images.slice(0, 8);
    const ids = new Set(images.map((i) => i.id));
    gt = join(dir, 'gt.json');
    writeFileSync(gt, JSON.stringify({ ...full, images, annotations: full.annotations.filter((a) => ids.has(a.image_id)) }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('scores the detections it writes exactly as scoring that file with --results does; classes map to COCO ids by label name', async () => {
    const saved = join(dir, 'dets.json');
    const run = await cli('eval', SSD, '--coco', gt, '--images', IMAGES, '--save-results', saved, '--json');
    expect(run.code).toBe(0);
    const a = JSON.parse(run.out) as { stats: Record<string, number>; images: number; detections: number };
    expect(a.images).toBe(8);
    const dets = JSON.parse(readFileSync(saved, 'utf8')) as Array<{ category_id: number; bbox: number[]; score: number }>;
    expect(dets.length).toBe(a.detections);
    expect(dets.length).toBeLessThanOrEqual(8 * 10); // the model's op keeps 10 per photo
    // SSD index = coco_labels line = COCO id - 1; ids are 1..90 and never the "???" gaps (12, 26, 29, 30, ...)
    expect(dets.every((d) => d.category_id >= 1 && d.category_id <= 90 && ![12, 26, 29, 30, 45, 66, 68, 69, 71, 83].includes(d.category_id))).toBe(true);
    const again = await cli('eval', '--coco', gt, '--results', saved, '--json');
    expect(JSON.parse(again.out).stats).toEqual(a.stats);
    expect(a.stats.AP50).toBeGreaterThan(0.2); // the model finds the people, cars, ... in these photos
  });

  it('BAD CALL - a missing photo (before any run), a classifier, a model without labels, --images missing: coded errors', async () => {
    const bad = join(dir, 'bad.json');
    const g = JSON.parse(readFileSync(gt, 'utf8'));
    writeFileSync(bad, JSON.stringify({ ...g, images: [...g.images, { id: 1, file_name: 'nope.jpg' }] }));
    const r1 = await cli('eval', SSD, '--coco', bad, '--images', IMAGES, '--json');
    expect(JSON.parse(r1.out).error.code).toBe('REEF_FILE_NOT_FOUND');
    expect(JSON.parse(r1.out).error.message).toContain('nope.jpg (image id 1');
    const r2 = await cli('eval', sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite'), '--coco', gt, '--images', IMAGES, '--labels', sharedPath('labels/imagenet_labels.txt'), '--json');
    expect(JSON.parse(r2.out).error.code).toBe('REEF_TASK_MISMATCH');
    const r3 = await cli('eval', sharedPath('models/tflite/blazeface_front_float.tflite'), '--coco', gt, '--images', IMAGES, '--json');
    expect(JSON.parse(r3.out).error.code).toBe('REEF_INVALID_ARGUMENT');
    const r4 = await cli('eval', SSD, '--coco', gt, '--json');
    expect([r4.code, JSON.parse(r4.out).error.code]).toEqual([2, 'REEF_INVALID_ARGUMENT']);
    const r5 = await cli('eval', SSD, '--coco', gt, '--images', IMAGES, '--score-threshold', '2', '--json');
    expect(JSON.parse(r5.out).error.message).toBe('Expected a number from 0 to 1 for --score-threshold but received "2"');
  });
});
