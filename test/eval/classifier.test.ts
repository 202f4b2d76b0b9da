import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedPath } from '../shared.js';
import { cli } from '../cli.js';

// TensorFlow's hosted-model table: MobileNet v1 0.25/128 quant, top-1 39.5%, top-5 64.4% on ImageNet val.
// The 500 shared photos are a sample (one per even class): allow 6 points, as test/runtime/accuracy does.
const PUBLISHED = { top1: 0.395, top5: 0.644 };

describe('reef eval MODEL --labels-csv (classifier top-1 / top-5)', () => {
  it('MobileNet v1 0.25/128 uint8 on the 500 ImageNet photos lies within 6 points of its published top-1 and top-5 (tf1001_index chosen for a 1001-class model)', async () => {
    const r = await cli('eval', sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'), '--labels-csv', sharedPath('images/imagenet/labels.csv'), '--json');
    expect(r.code, r.err).toBe(0);
    const o = JSON.parse(r.out) as { photos: number; top1: number; top5: number };
    expect(o.photos).toBe(500);
    expect(Math.abs(o.top1 - PUBLISHED.top1)).toBeLessThanOrEqual(0.06);
    expect(Math.abs(o.top5 - PUBLISHED.top5)).toBeLessThanOrEqual(0.06);
    // the 0-based class_index column (off by one for this model) gives nearly nothing right
    const wrong = await cli('eval', sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'), '--labels-csv', sharedPath('images/imagenet/labels.csv'), '--index-column', 'class_index', '--limit', '50', '--json');
    expect(JSON.parse(wrong.out).top1).toBeLessThan(0.1);
  });

  it('BAD INPUT - a CSV without the column, a bad line, a missing photo, a detector: coded errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-eval-cls-'));
    try {
      const M = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
      writeFileSync(join(dir, 'a.csv'), 'file,class_index\nx.jpg,3\n');
      const r1 = await cli('eval', M, '--labels-csv', join(dir, 'a.csv'), '--index-column', 'label', '--json');
      expect(JSON.parse(r1.out).error).toMatchObject({ code: 'REEF_ANNOTATIONS_INVALID', message: expect.stringContaining('no column "label" (columns: file, class_index)') });
      writeFileSync(join(dir, 'b.csv'), 'file,class_index\nx.jpg,cat\n');
      const r2 = await cli('eval', M, '--labels-csv', join(dir, 'b.csv'), '--json');
      expect(JSON.parse(r2.out).error.message).toContain('line 2 needs a file and a non-negative integer class_index');
      const r3 = await cli('eval', M, '--labels-csv', join(dir, 'a.csv'), '--json');
      expect(JSON.parse(r3.out).error).toMatchObject({ code: 'REEF_FILE_NOT_FOUND', message: expect.stringContaining('x.jpg') });
      const r4 = await cli('eval', sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite'), '--labels-csv', join(dir, 'a.csv'), '--json');
      expect(JSON.parse(r4.out).error.code).toBe('REEF_TASK_MISMATCH');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
