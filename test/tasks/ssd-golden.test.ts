/**
 * SSD MobileNet v1 (the very model of tflite-support's tests) on cats_and_dogs.jpg, against what
 * the Task Library's own tests assert (shared/eval/tflite-task-goldens.md).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { load, type Session } from '../../src/index.js';
import { VisionRunner, modelMetadata, type PhotoDetection } from '../../src/tasks/vision.js';
import { iou } from '../../src/tasks/detect/nms.js';
import { sharedPath } from '../shared.js';

const MODEL = sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const PHOTO = sharedPath('images/misc/cats_and_dogs.jpg');

// C++ object_detector_test.cc kExpectResults: origin_x, origin_y, width, height, index, label
const CPP = [
  [54, 396, 393, 196, 16, 'cat'], [602, 157, 394, 447, 16, 'cat'], [260, 394, 180, 209, 16, 'cat'], [389, 197, 278, 409, 17, 'dog'],
] as const;
// Python object_detector_test.py _EXPECTED_DETECTION_RESULT scores (assertProtoEquals: exact)
const PY_SCORES = [0.644531, 0.609375, 0.5625, 0.5];

/** The Task Library's OrientAndDenormalizeBoundingBox: truncated origin, rounded size. */
function taskLibraryBox(d: PhotoDetection): [number, number, number, number] {
  return [Math.trunc(d.box.xmin), Math.trunc(d.box.ymin), Math.round(d.box.xmax - d.box.xmin), Math.round(d.box.ymax - d.box.ymin)];
}

describe('SSD MobileNet v1 on cats_and_dogs.jpg vs the Task Library goldens', () => {
  let session: Session;
  let labels: string[] | null;
  beforeAll(async () => {
    session = await load(MODEL);
    labels = (await modelMetadata(MODEL))?.labels ?? null;
  });
  afterAll(async () => session?.dispose());

  const detect = async (opts: ConstructorParameters<typeof VisionRunner>[1]) => {
    const { result } = await new VisionRunner(session, { labels, ...opts }).runFile(PHOTO);
    if (result.task !== 'detect') throw new Error(`task ${result.task}`);
    return result.detections;
  };

  it('max 4 results: cat, cat, cat, dog with the exact scores of the Python test; boxes overlap the C++ golden boxes by IoU >= 0.95', async () => {
    const dets = await detect({ detect: { maxResults: 4, scoreThreshold: 0 } });
    expect(dets.map((d) => [d.index, d.label])).toEqual(CPP.map((g) => [g[4], g[5]]));
    expect(dets.map((d) => Number(d.score.toFixed(6)))).toEqual(PY_SCORES);
    dets.forEach((d, i) => {
      const [x, y, w, h] = CPP[i];
      const overlap = iou(d.box, { xmin: x, ymin: y, xmax: x + w, ymax: y + h });
      expect(overlap, `detection ${i}: ${taskLibraryBox(d).join(',')} vs ${CPP[i].slice(0, 4).join(',')}`).toBeGreaterThanOrEqual(0.95);
    });
    // The first and third boxes are within the C++ test's own tolerance of 3 pixels per field.
    for (const i of [0, 2]) {
      taskLibraryBox(dets[i]).forEach((v, k) => expect(Math.abs(v - (CPP[i][k] as number))).toBeLessThanOrEqual(3));
    }
  });

  it('score threshold 0.6 gives exactly two cats (C API SucceedsWithScoreThreshold); a cat deny list leaves no cat; an allow list only its labels', async () => {
    const two = await detect({ detect: { scoreThreshold: 0.6 } });
    expect(two.map((d) => [d.label, Number(d.score.toFixed(6))])).toEqual([['cat', 0.644531], ['cat', 0.609375]]);
    const noCat = await detect({ detect: { scoreThreshold: 0.3, deny: new Set([16]) } });
    expect(noCat.length).toBeGreaterThan(0);
    expect(noCat.some((d) => d.label === 'cat')).toBe(false);
    const allowed = await detect({ detect: { scoreThreshold: 0, allow: new Set([16, 17]) } });
    expect(new Set(allowed.map((d) => d.label))).toEqual(new Set(['cat', 'dog']));
  });

  it('the resize filter matters: nearest-neighbour sampling does not reproduce the golden scores', async () => {
    const near = await detect({ filter: 'nearest', detect: { maxResults: 4, scoreThreshold: 0 } });
    expect(near.map((d) => Number(d.score.toFixed(6)))).not.toEqual(PY_SCORES);
  });
});
