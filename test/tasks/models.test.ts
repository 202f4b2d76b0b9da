/**
 * Detectors and segmenters on real photos. Oracles: what the photos show (faces marked by hand in
 * faces/13.jpg), and the Task Library's DeepLab golden mask (another DeepLab, same 21 Pascal classes).
 */
import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { load } from '../../src/index.js';
import { VisionRunner } from '../../src/tasks/vision.js';
import { sharedPath } from '../shared.js';

describe('BlazeFace (front, float) on faces/13.jpg: two men shaking hands', () => {
  // Marked by hand on the 450x344 photo: face centres (left man ~(122,62), right man ~(332,126)).
  const centres = [[122, 62], [332, 126]];

  it('finds exactly the two faces in squash and letterbox modes; boxes in photo pixels hold the marked centres; 6 keypoints, the first (right eye) in the box\'s upper left quarter', async () => {
    const s = await load(sharedPath('models/tflite/blazeface_front_float.tflite'));
    try {
      for (const resize of ['squash', 'letterbox'] as const) {
        const { result } = await new VisionRunner(s, { resize }).runFile(sharedPath('images/faces/13.jpg'));
        if (result.task !== 'detect') throw new Error(result.task);
        expect(result.detections, resize).toHaveLength(2);
        const byX = [...result.detections].sort((a, b) => a.box.xmin - b.box.xmin);
        byX.forEach((d, i) => {
          const [cx, cy] = centres[i];
          expect(d.score).toBeGreaterThan(0.9);
          expect(d.box.xmin < cx && cx < d.box.xmax && d.box.ymin < cy && cy < d.box.ymax, `${resize} face ${i}: ${JSON.stringify(d.box)}`).toBe(true);
          const w = d.box.xmax - d.box.xmin;
          expect(w).toBeGreaterThan(50);
          expect(w).toBeLessThan(110);
          expect(d.keypoints).toHaveLength(6);
          const eye = d.keypoints![0];
          expect(eye.x > d.box.xmin && eye.x < (d.box.xmin + d.box.xmax) / 2 && eye.y > d.box.ymin && eye.y < (d.box.ymin + d.box.ymax) / 2).toBe(true);
        });
      }
    } finally {
      await s.dispose();
    }
  });
});

describe('DeepLab v3 (Coral, MobileNet v2 0.5, Pascal VOC, uint8) on the Task Library segmentation photo', () => {
  it('finds background, horse and person, and agrees with the Task Library golden (from the larger DeepLab v3) on at least 85% of pixels', async () => {
    const s = await load(sharedPath('models/edgetpu/deeplabv3_mnv2_dm05_pascal_quant.tflite'));
    try {
      const { result } = await new VisionRunner(s).runFile(sharedPath('images/misc/segmentation_input_rotation0.jpg'));
      if (result.task !== 'segment') throw new Error(result.task);
      expect([result.mask.width, result.mask.height]).toEqual([257, 257]); // the photo's size, not the model's 513
      expect([result.modelMask.width, result.modelMask.height, result.modelMask.data.length]).toEqual([513, 513, 513 * 513]); // the model's own
      expect(result.classes.map((c) => c.index).sort((a, b) => a - b)).toEqual([0, 13, 15]);
      const golden = await sharp(sharedPath('images/misc/segmentation_golden_rotation0.png')).raw().toBuffer({ resolveWithObject: true });
      let same = 0;
      for (let i = 0; i < result.mask.data.length; i++) if (result.mask.data[i] * 10 === golden.data[i * golden.info.channels]) same++;
      expect(same / result.mask.data.length).toBeGreaterThanOrEqual(0.85);
    } finally {
      await s.dispose();
    }
  });
});
