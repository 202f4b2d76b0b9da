/** Task adapters on hand-made tensors: every expectation is derived by hand in the comments. */
import { describe, it, expect } from 'vitest';
import { placement, resizePixels, boxToPhoto } from '../../src/tasks/resize.js';
import { decodeSsdPostprocess, ssdPostprocessRoles } from '../../src/tasks/detect/ssd.js';
import { ssdAnchors, decodeAnchorBoxes, BLAZEFACE_FRONT_ANCHORS, BLAZEFACE_FRONT_DECODE } from '../../src/tasks/detect/anchors.js';
import { nms, weightedNms, iou } from '../../src/tasks/detect/nms.js';
import { decodeGrid, gridLayout } from '../../src/tasks/detect/grid.js';
import { maskFromOutput, maskToPhoto, classAreas, vocColor, maskToRle, maskFromRle } from '../../src/tasks/segment.js';
import { cosineSimilarity, l2Normalize } from '../../src/tasks/embed.js';
import { checkTask, inferTask, taskFromMetadata } from '../../src/tasks/vision.js';
import { isReefError } from '../../src/errors.js';
import type { TensorInfo } from '../../src/types.js';

function codeOf(f: () => unknown): string {
  try { f(); } catch (e) { return isReefError(e) ? e.code : `not a ReefError: ${String(e)}`; }
  return 'no error';
}
const close = (got: Record<string, number>, want: Record<string, number>, digits = 6) => {
  for (const k of Object.keys(want)) expect(got[k]).toBeCloseTo(want[k], digits);
};

describe('resize modes and mapping back to the photo', () => {
  it('bilinear with half-pixel centres: 4x2 -> 2x1 averages each 2x2 block (no antialias beyond that)', () => {
    const src = new Uint8Array([0, 10, 20, 30, 40, 50, 60, 70]);
    expect([...resizePixels(src, 1, placement(4, 2, 2, 1))]).toEqual([25, 45]);
    // 3 channels interleaved stay apart
    const rgb = new Uint8Array([10, 0, 200, 30, 0, 100]); // 2x1 -> 1x1
    expect([...resizePixels(rgb, 3, placement(2, 1, 1, 1))]).toEqual([20, 0, 150]);
  });

  it('upscaling 2x1 -> 4x1: centres at -0.25, 0.25, 0.75, 1.25 of the source, clamped: 0, 25, 75, 100', () => {
    expect([...resizePixels(new Uint8Array([0, 100]), 1, placement(2, 1, 4, 1))]).toEqual([0, 25, 75, 100]);
  });

  it('letterbox: a 200x100 photo in 100x100 lands at rows 25..75, padded; boxes map back to photo pixels', () => {
    const p = placement(200, 100, 100, 100, 'letterbox');
    expect(p.dst).toEqual({ x: 0, y: 25, width: 100, height: 50 });
    const img = resizePixels(new Uint8Array(200 * 100).fill(200), 1, p, 'bilinear', 7);
    expect([img[0], img[24 * 100], img[25 * 100], img[74 * 100 + 99], img[75 * 100]]).toEqual([7, 7, 200, 200, 7]);
    close(boxToPhoto({ xmin: 0.1, ymin: 0.25, xmax: 0.5, ymax: 0.75 }, p) as unknown as Record<string, number>, { xmin: 20, ymin: 0, xmax: 100, ymax: 100 });
    // a box reaching into the padding is clipped to the photo
    close(boxToPhoto({ xmin: 0, ymin: 0, xmax: 1, ymax: 1 }, p) as unknown as Record<string, number>, { xmin: 0, ymin: 0, xmax: 200, ymax: 100 });
  });

  it('center-crop: a 200x100 photo in 100x100 uses its middle 100x100; the whole input maps to x 50..150', () => {
    const p = placement(200, 100, 100, 100, 'center-crop');
    expect(p.src).toEqual({ x: 50, y: 0, width: 100, height: 100 });
    close(boxToPhoto({ xmin: 0, ymin: 0, xmax: 1, ymax: 1 }, p) as unknown as Record<string, number>, { xmin: 50, ymin: 0, xmax: 150, ymax: 100 });
    // a box reaching past the input's edge stops at the crop's edge: the model saw nothing beyond it
    close(boxToPhoto({ xmin: -0.1, ymin: 0.5, xmax: 1.2, ymax: 1.1 }, p) as unknown as Record<string, number>, { xmin: 50, ymin: 50, xmax: 150, ymax: 100 });
    const cols = new Uint8Array(200 * 100).map((_, i) => (i % 200 < 50 || i % 200 >= 150 ? 0 : 255));
    expect(resizePixels(cols, 1, p).every((v) => v === 255)).toBe(true);
  });

  it('squash maps normalised boxes by the photo size', () => {
    close(boxToPhoto({ xmin: 0.25, ymin: 0.5, xmax: 0.75, ymax: 1 }, placement(1200, 600, 300, 300)) as unknown as Record<string, number>, { xmin: 300, ymin: 300, xmax: 900, ymax: 600 });
  });

  it('BAD INPUT - an unknown mode, zero sizes, a pixel buffer of the wrong size: REEF_INVALID_ARGUMENT', () => {
    expect(codeOf(() => placement(10, 10, 5, 5, 'stretch' as never))).toBe('REEF_INVALID_ARGUMENT');
    expect(codeOf(() => placement(0, 10, 5, 5))).toBe('REEF_INVALID_ARGUMENT');
    expect(codeOf(() => resizePixels(new Uint8Array(5), 3, placement(2, 2, 1, 1)))).toBe('REEF_INVALID_ARGUMENT');
  });
});

describe('SSD with TFLite_Detection_PostProcess', () => {
  // Three detections, count 2: (ymin,xmin,ymax,xmax), classes, scores.
  const boxes = { name: 'boxes', shape: [1, 3, 4], data: new Float32Array([0.1, 0.2, 0.5, 0.6, 0, 0, 1, 1, 0.3, 0.3, 0.4, 0.4]) };
  const classes = { name: 'classes', shape: [1, 3], data: new Float32Array([16, 17, 1]) };
  const scores = { name: 'scores', shape: [1, 3], data: new Float32Array([0.9, 0.4, 0.8]) };
  const count = { name: 'count', shape: [1], data: new Float32Array([2]) };

  it('TF1 order (boxes, classes, scores, count) and TF2 order (scores, boxes, count, classes) give the same detections', () => {
    const tf1 = decodeSsdPostprocess([boxes, classes, scores, count], { scoreThreshold: 0 });
    const tf2 = decodeSsdPostprocess([scores, boxes, count, classes], { scoreThreshold: 0 });
    expect(tf1).toEqual(tf2);
    expect(tf1.map((d) => [d.index, Number(d.score.toFixed(6))])).toEqual([[16, 0.9], [17, 0.4]]); // count 2: the third is not read
    close(tf1[0].box as unknown as Record<string, number>, { xmin: 0.2, ymin: 0.1, xmax: 0.6, ymax: 0.5 });
    expect(ssdPostprocessRoles([boxes.shape, classes.shape, scores.shape, count.shape])?.order).toBe('boxes,classes,scores,count');
    expect(ssdPostprocessRoles([scores.shape, boxes.shape, count.shape, classes.shape])?.order).toBe('scores,boxes,count,classes');
  });

  it('threshold, max results and class filters', () => {
    const all = [boxes, classes, scores, { ...count, data: new Float32Array([3]) }];
    expect(decodeSsdPostprocess(all).map((d) => d.index)).toEqual([16, 1]); // default threshold 0.5, sorted by score
    expect(decodeSsdPostprocess(all, { scoreThreshold: 0, maxResults: 1 }).map((d) => d.index)).toEqual([16]);
    expect(decodeSsdPostprocess(all, { scoreThreshold: 0, allow: new Set([17]) }).map((d) => d.index)).toEqual([17]);
    expect(decodeSsdPostprocess(all, { scoreThreshold: 0, deny: new Set([16]) }).map((d) => d.index)).toEqual([1, 17]);
    // a count larger than N is capped at N
    expect(decodeSsdPostprocess([boxes, classes, scores, { ...count, data: new Float32Array([99]) }], { scoreThreshold: 0 })).toHaveLength(3);
  });

  it('BAD INPUT - outputs of another layout: REEF_TASK_MISMATCH naming the shapes', () => {
    expect(codeOf(() => decodeSsdPostprocess([boxes, classes, scores]))).toBe('REEF_TASK_MISMATCH');
    try { decodeSsdPostprocess([boxes, boxes, scores, count]); } catch (e) { expect((e as Error).message).toContain('boxes [1,3,4], boxes [1,3,4]'); }
  });
});

describe('BlazeFace: MediaPipe anchors, sigmoid scores, weighted NMS, keypoints', () => {
  const anchors = ssdAnchors(BLAZEFACE_FRONT_ANCHORS);

  it('896 anchors: 16x16 cells x 2 (stride 8), then 8x8 cells x 6 (three stride-16 layers merged), fixed size 1', () => {
    expect(anchors).toHaveLength(896);
    expect(anchors[0]).toEqual({ xCenter: 1 / 32, yCenter: 1 / 32, w: 1, h: 1 });
    expect(anchors[1]).toEqual(anchors[0]);
    expect(anchors[2].xCenter).toBe(3 / 32); // next cell
    expect(anchors[511]).toEqual({ xCenter: 31 / 32, yCenter: 31 / 32, w: 1, h: 1 });
    expect(anchors[512]).toEqual({ xCenter: 1 / 16, yCenter: 1 / 16, w: 1, h: 1 });
    expect(anchors[517]).toEqual(anchors[512]);
    expect(anchors[895]).toEqual({ xCenter: 15 / 16, yCenter: 15 / 16, w: 1, h: 1 });
  });

  it('SSD anchors without fixed size: scales interpolate between min and max per layer (MediaPipe formula)', () => {
    const a = ssdAnchors({ numLayers: 2, minScale: 0.2, maxScale: 0.6, inputHeight: 64, inputWidth: 64, anchorOffsetX: 0.5, anchorOffsetY: 0.5,
      strides: [32, 64], aspectRatios: [1, 4], fixedAnchorSize: false });
    // layer 0: 2x2 cells, scale 0.2, ratios 1 and 4 -> (w,h) (0.2,0.2), (0.4,0.1); layer 1: 1 cell, scale 0.6 -> (0.6,0.6), (1.2,0.3)
    expect(a).toHaveLength(2 * 2 * 2 + 2);
    close(a[1] as unknown as Record<string, number>, { xCenter: 0.25, yCenter: 0.25, w: 0.4, h: 0.1 });
    close(a[9] as unknown as Record<string, number>, { xCenter: 0.5, yCenter: 0.5, w: 1.2, h: 0.3 });
  });

  it('decoding: offsets / 128 relative to the anchor (x first), keypoints likewise; scores clipped at 100 then sigmoid', () => {
    const boxes = new Float32Array(896 * 16);
    const scores = new Float32Array(896).fill(-10);
    // anchor 0 (centre 1/32): x offset 12.8 -> +0.1, y 0, w 12.8 -> 0.1, h 25.6 -> 0.2; keypoint 0 at offset (-12.8, 6.4)
    boxes.set([12.8, 0, 12.8, 25.6, -12.8, 6.4], 0);
    scores[0] = 0; // sigmoid 0.5: kept at threshold 0.5
    scores[512] = 1e6; // clipped to 100: score 1
    scores[895] = -1; // 0.269: dropped
    const dets = decodeAnchorBoxes(boxes, scores, anchors, BLAZEFACE_FRONT_DECODE);
    expect(dets.map((d) => [d.score, d.keypoints?.length])).toEqual([[0.5, 6], [1, 6]]);
    const c = 1 / 32;
    close(dets[0].box as unknown as Record<string, number>, { xmin: c + 0.1 - 0.05, ymin: c - 0.1, xmax: c + 0.1 + 0.05, ymax: c + 0.1 });
    close(dets[0].keypoints?.[0] as unknown as Record<string, number>, { x: c - 0.1, y: c + 0.05 });
    close(dets[1].box as unknown as Record<string, number>, { xmin: 1 / 16, ymin: 1 / 16, xmax: 1 / 16, ymax: 1 / 16 });
  });

  it('weighted NMS: overlapping boxes average by score and keep the best score; others stay', () => {
    const A = { index: 0, score: 0.9, box: { xmin: 0, ymin: 0, xmax: 1, ymax: 1 }, keypoints: [{ x: 0.5, y: 0.5 }] };
    const B = { index: 0, score: 0.6, box: { xmin: 0.1, ymin: 0, xmax: 1.1, ymax: 1 }, keypoints: [{ x: 1, y: 0.5 }] };
    const C = { index: 0, score: 0.7, box: { xmin: 5, ymin: 5, xmax: 6, ymax: 6 }, keypoints: [{ x: 5.5, y: 5.5 }] };
    expect(iou(A.box, B.box)).toBeCloseTo(0.9 / 1.1, 12);
    const out = weightedNms([B, C, A], 0.3);
    expect(out.map((d) => d.score)).toEqual([0.9, 0.7]);
    // xmin = (0*0.9 + 0.1*0.6)/1.5 = 0.04; xmax = (1*0.9 + 1.1*0.6)/1.5 = 1.04; keypoint x = (0.45 + 0.6)/1.5 = 0.7
    close(out[0].box as unknown as Record<string, number>, { xmin: 0.04, ymin: 0, xmax: 1.04, ymax: 1 }, 12);
    expect(out[0].keypoints?.[0].x).toBeCloseTo(0.7, 12);
    close(out[1].box as unknown as Record<string, number>, C.box, 12); // alone: its own box
  });

  it('hard NMS: per class by default (torchvision batched_nms), across classes when asked', () => {
    const a = { index: 1, score: 0.9, box: { xmin: 0, ymin: 0, xmax: 1, ymax: 1 } };
    const b = { index: 2, score: 0.8, box: { xmin: 0, ymin: 0, xmax: 1, ymax: 0.9 } };
    const c = { index: 1, score: 0.7, box: { xmin: 0, ymin: 0.05, xmax: 1, ymax: 1 } };
    expect(nms([c, b, a], 0.5).map((d) => d.score)).toEqual([0.9, 0.8]);
    expect(nms([c, b, a], 0.5, false).map((d) => d.score)).toEqual([0.9]);
    expect(nms([c, b, a], 0.95).map((d) => d.score)).toEqual([0.9, 0.8, 0.7]); // IoU 0.95 is not above 0.95
  });
});

describe('grid detectors (FastestDet layout [1, 5+C, H, W])', () => {
  // 2x2 grid, 2 classes. Cell (row 1, col 0): objectness 0.9, classes [0.2, 0.8], tx = ty = 0, tw = th = 0.
  // centre x = (tanh 0 + 0) / 2 = 0, centre y = (0 + 1) / 2 = 0.5, size sigmoid(0) = 0.5 -> box (-0.25, 0.25, 0.25, 0.75), score 0.72, class 1.
  const H = 2, W = 2, C = 2, CH = 5 + C;
  const nchw = new Float32Array(CH * H * W);
  const set = (c: number, y: number, x: number, v: number) => { nchw[(c * H + y) * W + x] = v; };
  set(0, 1, 0, 0.9); set(5, 1, 0, 0.2); set(6, 1, 0, 0.8);
  set(0, 0, 1, 0.5); set(5, 0, 1, 0.5); set(6, 0, 1, 0.5); // score 0.25: under the threshold
  const nhwc = new Float32Array(CH * H * W);
  for (let c = 0; c < CH; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) nhwc[(y * W + x) * CH + c] = nchw[(c * H + y) * W + x];

  it('decodes centre (cell + tanh) / grid, size sigmoid, score objectness x class, in both layouts', () => {
    const g = gridLayout([1, CH, H, W], C);
    expect(g).toEqual({ layout: 'nchw', height: 2, width: 2, classes: 2 });
    const a = decodeGrid(nchw, g!, { scoreThreshold: 0.3 });
    expect(a.map((d) => [d.index, Number(d.score.toFixed(6))])).toEqual([[1, 0.72]]);
    close(a[0].box as unknown as Record<string, number>, { xmin: -0.25, ymin: 0.25, xmax: 0.25, ymax: 0.75 });
    expect(decodeGrid(nhwc, gridLayout([1, H, W, CH], C)!, { scoreThreshold: 0.3 })).toEqual(a);
    expect(decodeGrid(nchw, g!, { scoreThreshold: 0.2 })).toHaveLength(2); // 0.25 > 0.2 now
    expect(gridLayout([1, 85, 22, 22], 80)).toEqual({ layout: 'nchw', height: 22, width: 22, classes: 80 });
    expect(gridLayout([1, 84, 22, 22], 80)).toBeNull();
  });

  it('BAD INPUT - data of the wrong size: REEF_TASK_MISMATCH', () => {
    expect(codeOf(() => decodeGrid(new Float32Array(5), { layout: 'nchw', height: 2, width: 2, classes: 2 }))).toBe('REEF_TASK_MISMATCH');
  });
});

describe('segmentation and embeddings', () => {
  it('the class per pixel from logits [1,H,W,C] or from ArgMax [1,H,W]; mapped to the photo; areas per class', () => {
    // 8x8 mask: left half class 2, right half class 0 (logits); first pixel ties -> lowest index
    const logits = new Float32Array(8 * 8 * 3);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) logits[(y * 8 + x) * 3 + (x < 4 ? 2 : 0)] = 5;
    const m = maskFromOutput(logits, [1, 8, 8, 3]);
    expect([m.data[0], m.data[3], m.data[4], m.data[63]]).toEqual([2, 2, 0, 0]);
    const argmax = Float64Array.from(m.data);
    expect(maskFromOutput(argmax, [1, 8, 8]).data).toEqual(m.data);
    // 16x8 photo squashed to 8x8: each mask column covers 2 photo columns
    const photo = maskToPhoto(m, placement(16, 8, 8, 8));
    expect([photo.width, photo.height, photo.data[7], photo.data[8]]).toEqual([16, 8, 2, 0]);
    expect(classAreas(photo, ['bg', 'x', 'y'])).toEqual([
      { index: 0, label: 'bg', pixels: 64, fraction: 0.5 }, { index: 2, label: 'y', pixels: 64, fraction: 0.5 }]);
    // the Task Library's colored_labels: background, aeroplane, horse, person, tv
    expect([vocColor(0), vocColor(1), vocColor(13), vocColor(15), vocColor(20)]).toEqual([[0, 0, 0], [128, 0, 0], [192, 0, 128], [192, 128, 128], [0, 64, 128]]);
  });

  it('BAD INPUT - a vector is not a mask; negative class values are not classes', () => {
    expect(codeOf(() => maskFromOutput(new Float32Array(10), [1, 10]))).toBe('REEF_TASK_MISMATCH');
    expect(codeOf(() => maskFromOutput(new Float32Array(64).fill(-1), [1, 8, 8]))).toBe('REEF_TASK_MISMATCH');
  });

  it('run-length masks (the live view encoding): varint class, varint length, base64; read back exactly', () => {
    // 0 x2, 15 x2: bytes 00 02 0f 02
    expect(maskToRle({ width: 4, height: 1, data: Uint8Array.of(0, 0, 15, 15) })).toBe(Buffer.from([0, 2, 15, 2]).toString('base64'));
    // a run of 300 (two varint bytes: 0xac 0x02) of class 200, then one pixel of class 300 (0xac 0x02): 16-bit
    const wide = new Uint16Array(301).fill(200);
    wide[300] = 300;
    const rle = maskToRle({ width: 301, height: 1, data: wide });
    expect([...Buffer.from(rle, 'base64')]).toEqual([0xc8, 0x01, 0xac, 0x02, 0xac, 0x02, 0x01]);
    const back = maskFromRle(rle, 301, 1);
    expect(back.data).toBeInstanceOf(Uint16Array);
    expect(back.data).toEqual(wide);
    const m = new Uint8Array(37 * 23);
    for (let i = 0; i < m.length; i++) m[i] = (i * 7919) % 97 < 60 ? 0 : (i >> 4) % 21;
    expect(maskFromRle(maskToRle({ width: 37, height: 23, data: m }), 37, 23)).toEqual({ width: 37, height: 23, data: m });
  });

  it('BAD INPUT - run lengths that do not fill the mask, or are cut off: REEF_INVALID_ARGUMENT', () => {
    const rle = Buffer.from([0, 2, 15, 2]).toString('base64');
    expect(codeOf(() => maskFromRle(rle, 5, 1))).toBe('REEF_INVALID_ARGUMENT');
    expect(codeOf(() => maskFromRle(rle, 3, 1))).toBe('REEF_INVALID_ARGUMENT');
    expect(codeOf(() => maskFromRle(Buffer.from([0, 0x82]).toString('base64'), 2, 1))).toBe('REEF_INVALID_ARGUMENT');
    expect(codeOf(() => maskFromRle(Buffer.from([0, 0, 0, 1]).toString('base64'), 1, 1))).toBe('REEF_INVALID_ARGUMENT');
  });

  it('cosine similarity and L2 normalisation', () => {
    expect(cosineSimilarity([1, 0], [0, 2])).toBe(0);
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 15);
    expect(cosineSimilarity([1, 2], [-1, -2])).toBeCloseTo(-1, 15);
    expect([...l2Normalize([3, 4])].map((v) => Number(v.toFixed(6)))).toEqual([0.6, 0.8]);
    expect(codeOf(() => cosineSimilarity([1], [1, 2]))).toBe('REEF_INVALID_ARGUMENT');
  });
});

describe('the task from the outputs', () => {
  const t = (name: string, dtype: string, shape: number[]): TensorInfo => ({ name, dtype, shape, quantization: { scale: 0, zeroPoint: 0 }, byteLength: 0 } as TensorInfo);
  it('detect (post-processed SSD, BlazeFace, grid), segment, classify; anything else is REEF_TASK_UNSUPPORTED', () => {
    expect(inferTask([t('b', 'float32', [1, 10, 4]), t('c', 'float32', [1, 10]), t('s', 'float32', [1, 10]), t('n', 'float32', [1])])).toEqual({ task: 'detect', decoder: 'ssd-postprocess' });
    expect(inferTask([t('r', 'float32', [1, 896, 16]), t('c', 'float32', [1, 896, 1])])).toEqual({ task: 'detect', decoder: 'anchors-blazeface' });
    expect(inferTask([t('o', 'float32', [1, 85, 22, 22])])).toEqual({ task: 'detect', decoder: 'grid' });
    expect(inferTask([t('a', 'int64', [1, 513, 513])])).toEqual({ task: 'segment' });
    expect(inferTask([t('p', 'uint8', [1, 1001])])).toEqual({ task: 'classify' });
    expect(codeOf(() => inferTask([t('a', 'float32', [1, 4420, 4]), t('b', 'float32', [1, 4420, 2])]))).toBe('REEF_TASK_UNSUPPORTED');
  });

  it('checkTask: a task asked for that the outputs do not fit is REEF_TASK_MISMATCH, saying what they fit; one that fits gives its decoder', () => {
    const ssd = [t('b', 'float32', [1, 10, 4]), t('c', 'float32', [1, 10]), t('s', 'float32', [1, 10]), t('n', 'float32', [1])];
    expect(checkTask('detect', ssd, 'x')).toEqual({ decoder: 'ssd-postprocess' });
    expect(checkTask('embed', [t('e', 'float32', [1, 1, 1, 128])], 'x')).toEqual({ decoder: undefined });
    const e = (() => { try { checkTask('segment', ssd, 'the model\'s metadata says it is for segment'); } catch (x) { return x as Error & { code: string }; } })();
    expect([e?.code, e?.message]).toEqual(['REEF_TASK_MISMATCH', 'the model\'s metadata says it is for segment, which needs one [1,H,W] class map or [1,H,W,C] scores map (H, W >= 8), ' +
      'but the model\'s outputs are b float32[1,10,4], c float32[1,10], s float32[1,10], n float32[1]; they fit detect (run without --task, or with --task detect)']);
    expect(codeOf(() => checkTask('classify', [t('a', 'float32', [1, 4420, 4]), t('b', 'float32', [1, 4420, 2])], 'x'))).toBe('REEF_TASK_MISMATCH');
  });
});

describe('the task from TFLite metadata (tflite-support conventions)', () => {
  const md = (raw: unknown) => ({ entries: [], inputs: [], outputs: [], associatedFiles: [], raw }) as unknown as Parameters<typeof taskFromMetadata>[0];
  const out = (type: string, files: number[] = []) => ({ content: { contentProperties: { type, value: {} } }, associatedFiles: files.map((f) => ({ name: 'l.txt', type: f })) });
  it('by model name, else by output content: BoundingBoxProperties -> detect, ImageProperties -> segment, labelled FeatureProperties -> classify; else undefined', () => {
    expect(taskFromMetadata(md({ name: 'ObjectDetector' }))).toBe('detect');
    expect(taskFromMetadata(md({ name: 'ImageSegmenter' }))).toBe('segment');
    expect(taskFromMetadata(md({ name: 'ImageEmbedder' }))).toBe('embed');
    expect(taskFromMetadata(md({ name: 'Coco SSD', subgraphMetadata: [{ outputTensorMetadata: [out('BoundingBoxProperties'), out('FeatureProperties', [3])] }] }))).toBe('detect');
    expect(taskFromMetadata(md({ subgraphMetadata: [{ outputTensorMetadata: [out('ImageProperties')] }] }))).toBe('segment');
    expect(taskFromMetadata(md({ subgraphMetadata: [{ outputTensorMetadata: [out('FeatureProperties', [2])] }] }))).toBe('classify');
    expect(taskFromMetadata(md({ subgraphMetadata: [{ outputTensorMetadata: [out('FeatureProperties')] }] }))).toBeUndefined();
    expect(taskFromMetadata(md(undefined))).toBeUndefined();
    expect(taskFromMetadata(null)).toBeUndefined();
  });
});
