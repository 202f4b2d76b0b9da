import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateCoco, pairwiseSum, COCO_PARAMS, type CocoDataset, type CocoDetection } from '../../src/eval/coco.js';
import { isReefError } from '../../src/errors.js';
import { sharedPath } from '../shared.js';
import { cli } from '../cli.js';

const G = 'eval/coco-goldens/';
const json = (rel: string): unknown => JSON.parse(readFileSync(sharedPath(G + rel), 'utf8'));
const expected = json('expected.json') as { cases: Record<string, Record<string, { values: number[]; tolerance: number }>> };

describe('COCO mAP against pycocotools\' published results (shared/eval/coco-goldens)', () => {
  const dt = json('instances_val2014_fakebbox100_results.json') as CocoDetection[];

  it('case A (cocoapi demo, 9 crowd regions, mask areas): the 12 numbers equal pycocotools\' full-precision stats', () => {
    const r = evaluateCoco(json('instances_val2014_100.json') as CocoDataset, dt);
    const full = expected.cases.A_official.stated_full;
    r.stats.forEach((s, i) => expect(Math.abs(s - full.values[i])).toBeLessThanOrEqual(full.tolerance));
    // Bit-equal in fact (same matching, interpolation and numpy pairwise means).
    expect(r.stats).toEqual(full.values);
    const printed = expected.cases.A_official.stated_3dp.values;
    expect(r.stats.map((s) => Number(s.toFixed(3)))).toEqual(printed);
    expect([r.images, r.annotations, r.detections]).toEqual([100, 839, 734]);
  });

  it('case B (no crowd, bbox areas): within 1e-6 of the values rafaelpadilla\'s test asserts', () => {
    const r = evaluateCoco(json('sampled_gts_bbox_area.json') as CocoDataset, dt);
    const b = expected.cases.B_no_crowd_bbox_area.stated_6dp;
    r.stats.forEach((s, i) => expect(Math.abs(s - b.values[i])).toBeLessThanOrEqual(b.tolerance));
  });
});

// Hand-derived cases: one image 200x200, boxes [x, y, w, h].
function dataset(anns: Array<{ bbox: [number, number, number, number]; crowd?: boolean; cat?: number }>): CocoDataset {
  return {
    images: [{ id: 1, width: 200, height: 200 }],
    categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }],
    annotations: anns.map((a, i) => ({ id: i + 1, image_id: 1, category_id: a.cat ?? 1, bbox: a.bbox, area: a.bbox[2] * a.bbox[3], iscrowd: a.crowd ? 1 : 0 })),
  };
}
const det = (bbox: [number, number, number, number], score: number, cat = 1): CocoDetection => ({ image_id: 1, category_id: cat, bbox, score });
const A: [number, number, number, number] = [10, 10, 50, 50]; // area 2500: medium
const B: [number, number, number, number] = [100, 100, 50, 50];
const C: [number, number, number, number] = [10, 120, 50, 50];
const FAR: [number, number, number, number] = [150, 10, 40, 40]; // overlaps nothing
// pycocotools' precision is tp / (tp + fp + eps): a perfect precision is 1 / (1 + 2^-52), not 1.
const P1 = 1 / (1 + 2 ** -52);
const expectClose = (got: number[], want: number[]) => got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 14));

describe('COCO mAP: hand-derived edge cases', () => {
  it('a perfect match scores 1 where the box\'s area range is, -1 (no ground truth) elsewhere', () => {
    const r = evaluateCoco(dataset([{ bbox: A }]), [det(A, 0.9)]);
    expectClose(r.stats, [P1, P1, P1, -1, P1, -1, 1, 1, 1, -1, 1, -1]);
    expect(r.stats[0]).toBeLessThan(1); // the eps, as pycocotools has it
  });

  it('a duplicate ranked between two true positives costs precision only past recall 0.5: AP = (51 + 50 * 2/3) / 101', () => {
    // tp: 1,1,2  fp: 0,1,1  recall .5,.5,1  precision 1,.5,.667 -> interpolated 1,.667,.667
    const r = evaluateCoco(dataset([{ bbox: A }, { bbox: B }]), [det(A, 0.9), det(A, 0.8), det(B, 0.7)]);
    expect(r.named.AP).toBeCloseTo((51 + 50 * (2 / 3)) / 101, 14);
    expect(r.named.AP50).toBeCloseTo((51 + 50 * (2 / 3)) / 101, 14);
    expect(r.named.AR100).toBe(1);
  });

  it('a duplicate ranked below every true positive costs nothing (AP 1)', () => {
    const r = evaluateCoco(dataset([{ bbox: A }]), [det(A, 0.9), det(A, 0.8)]);
    expect(r.named.AP).toBeCloseTo(P1, 15);
  });

  it('101-point interpolation: recall 1/3, 1/3, 2/3 with precision 1, 1/2, 2/3 gives AP = (34 + 33 * 2/3) / 101 = 56/101', () => {
    const r = evaluateCoco(dataset([{ bbox: A }, { bbox: B }, { bbox: C }]), [det(A, 0.9), det(FAR, 0.8), det(B, 0.7)]);
    expect(r.named.AP).toBeCloseTo(56 / 101, 14);
    expect(r.named.AR100).toBeCloseTo(2 / 3, 15);
    expect(COCO_PARAMS.recThrs.length).toBe(101);
    expect(COCO_PARAMS.iouThrs).toHaveLength(10);
  });

  it('IoU thresholds: a box with IoU 0.6 is a hit at .50/.55/.60 and a miss above: AP = 3/10, AP50 = 1, AP75 = 0', () => {
    // A = [10,10,50,50]; shifted right by 12.5: intersection 37.5*50 = 1875, union 2500+2500-1875 = 3125 -> IoU 0.6 exactly
    const r = evaluateCoco(dataset([{ bbox: A }]), [det([22.5, 10, 50, 50], 0.9)]);
    expect(r.named.AP50).toBeCloseTo(P1, 15);
    expect(r.named.AP75).toBe(0);
    expect(r.named.AP).toBeCloseTo(0.3 * P1, 15);
  });

  it('crowd regions are ignore regions: detections inside one are neither true nor false positives (many may match it)', () => {
    const crowd: [number, number, number, number] = [100, 100, 80, 80];
    const dets = [det([110, 110, 20, 20], 0.95), det([140, 140, 20, 20], 0.93), det(A, 0.8)];
    expect(evaluateCoco(dataset([{ bbox: A }, { bbox: crowd, crowd: true }]), dets).named.AP).toBeCloseTo(P1, 15);
    // The same detections with the crowd box as an ordinary annotation: two false positives ahead, and a missed object.
    const plain = evaluateCoco(dataset([{ bbox: A }, { bbox: crowd }]), dets);
    expect(plain.named.AP50).toBeCloseTo((51 * (1 / 3)) / 101, 14);
  });

  it('maxDets: a false positive ranked first leaves AR@1 = 0 and AR@10 = 1', () => {
    const r = evaluateCoco(dataset([{ bbox: A }]), [det(FAR, 0.9), det(A, 0.8)]);
    expect([r.named.AR1, r.named.AR10, r.named.AR100]).toEqual([0, 1, 1]);
  });

  it('a category without ground truth is left out of the mean (its AP is -1), whatever its detections', () => {
    const r = evaluateCoco(dataset([{ bbox: A }]), [det(A, 0.9), det(B, 0.99, 2)]);
    expect(r.named.AP).toBeCloseTo(P1, 15);
    expect(r.perCategory.map((c) => [c.id, c.ap === -1 ? -1 : Number(c.ap.toFixed(12)), c.gt])).toEqual([[1, 1, 1], [2, -1, 0]]);
  });

  it('numpy pairwise summation: differs from a left fold where numpy does', () => {
    const v = Array.from({ length: 300 }, (_, i) => 0.1 * ((i * 7919) % 101));
    const fold = v.reduce((s, x) => s + x, 0);
    expect(Math.abs(pairwiseSum(v) - fold)).toBeLessThan(1e-9);
    expect(pairwiseSum([1, 2, 3])).toBe(6);
  });

  it('BAD INPUT - detections on an image the ground truth lacks, a malformed box, a missing field: REEF_ANNOTATIONS_INVALID naming the entry', () => {
    const bad = (gt: unknown, dt: unknown) => {
      try { evaluateCoco(gt as CocoDataset, dt as CocoDetection[]); } catch (e) { return isReefError(e, 'REEF_ANNOTATIONS_INVALID') ? e.message : `other: ${String(e)}`; }
      return 'no error';
    };
    expect(bad(dataset([{ bbox: A }]), [{ image_id: 7, category_id: 1, bbox: A, score: 1 }])).toMatch(/image_id 7 is not an image of the ground truth/);
    expect(bad(dataset([{ bbox: A }]), [{ image_id: 1, category_id: 1, bbox: [1, 2, 3], score: 1 }])).toMatch(/\[0\]\.bbox must be \[x, y, width, height\]/);
    expect(bad({ images: [], annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: A }], categories: [] }, [])).toMatch(/annotations\[0\] has no numeric "area"/);
    expect(bad([], [])).toMatch(/expected a COCO instances object/);
  });
});

describe('reef eval --results', () => {
  it('prints pycocotools\' summary; --json gives the 12 numbers by name', async () => {
    const args = ['eval', '--coco', sharedPath(G + 'instances_val2014_100.json'), '--results', sharedPath(G + 'instances_val2014_fakebbox100_results.json')];
    const text = await cli(...args);
    expect(text.code).toBe(0);
    expect(text.out).toContain(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505\n');
    expect(text.out).toContain(' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.564\n');
    const j = await cli(...args, '--json');
    const o = JSON.parse(j.out) as { stats: Record<string, number>; perCategory: unknown[] };
    expect(o.stats.AP50).toBe(0.6969727247299577);
    expect(o.perCategory).toHaveLength(80);
  });

  it('BAD CALL - missing files, bad JSON, neither model nor results: coded errors, as JSON under --json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-eval-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{"images": [');
      const gt = sharedPath(G + 'instances_val2014_100.json');
      const r1 = await cli('eval', '--coco', gt, '--results', join(dir, 'none.json'), '--json');
      expect([r1.code, JSON.parse(r1.out).error.code]).toEqual([1, 'REEF_FILE_NOT_FOUND']);
      const r2 = await cli('eval', '--coco', join(dir, 'bad.json'), '--results', gt, '--json');
      expect([r2.code, JSON.parse(r2.out).error.code]).toEqual([1, 'REEF_ANNOTATIONS_INVALID']);
      expect(JSON.parse(r2.out).error.message).toMatch(/bad\.json is not valid JSON/);
      const r3 = await cli('eval', '--coco', gt, '--json');
      expect([r3.code, JSON.parse(r3.out).error.code]).toEqual([2, 'REEF_INVALID_ARGUMENT']);
      // ground truth given where detections are expected: not an array
      const r4 = await cli('eval', '--coco', gt, '--results', gt);
      expect(r4.code).toBe(1);
      expect(r4.err).toMatch(/REEF_ANNOTATIONS_INVALID: detections .*expected a JSON array/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
