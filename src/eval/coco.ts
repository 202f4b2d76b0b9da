/**
 * COCO bounding-box evaluation, computed exactly as pycocotools' `COCOeval(gt, dt, 'bbox')` with
 * default parameters does (`evaluate(); accumulate(); summarize()`): the same matching (greedy by
 * score, crowd regions as ignore regions a detection may match many times, out-of-range areas
 * ignored), the same 101-point recall interpolation, the same maxDets slicing and the same means
 * (numpy's pairwise summation), so the twelve numbers are bit-equal to pycocotools' on the same files.
 *
 * Kept on purpose, because pycocotools does it: a ground-truth annotation whose `id` is 0 cannot be
 * told from "no match" (pycocotools stores matched ids and tests them against 0), and area ranges
 * are closed on both ends (an area of exactly 32² counts as small and medium).
 */
import { ReefError } from '../errors.js';

/** One ground-truth annotation (COCO instances format; `segmentation` is not needed for boxes). */
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: [number, number, number, number];
  /** Used for the area ranges (COCO's own files give the mask area here). */
  area: number;
  iscrowd?: number | boolean;
}

export interface CocoImage {
  id: number;
  file_name?: string;
  width?: number;
  height?: number;
}

export interface CocoCategory {
  id: number;
  name?: string;
}

/** A COCO instances file: images, annotations and categories. */
export interface CocoDataset {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** One detection in COCO's results format. */
export interface CocoDetection {
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
}

/** The twelve numbers of `COCOeval.summarize()`, in its order. */
export const COCO_STAT_NAMES = [
  'AP', 'AP50', 'AP75', 'APsmall', 'APmedium', 'APlarge',
  'AR1', 'AR10', 'AR100', 'ARsmall', 'ARmedium', 'ARlarge',
] as const;
export type CocoStatName = typeof COCO_STAT_NAMES[number];

export interface CocoEvalResult {
  /** The twelve numbers, in {@link COCO_STAT_NAMES} order (-1 where pycocotools prints -1). */
  stats: number[];
  /** The same numbers by name. */
  named: Record<CocoStatName, number>;
  /** AP@[.5:.95] (area all, 100 detections) per category id; -1 where a category has no ground truth. */
  perCategory: Array<{ id: number; name: string | null; ap: number; ap50: number; gt: number }>;
  images: number;
  annotations: number;
  detections: number;
}

/** numpy.linspace(start, stop, num) with its exact arithmetic (step = delta / div; i * step + start; last = stop). */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

/** pycocotools' default bbox parameters. */
export const COCO_PARAMS = {
  iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
  recThrs: linspace(0, 1, Math.round((1 - 0) / 0.01) + 1),
  maxDets: [1, 10, 100],
  areaRng: [[0, 1e10], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e10]] as Array<[number, number]>,
  areaRngLbl: ['all', 'small', 'medium', 'large'],
};

/** numpy's pairwise summation (`pairwise_sum` in loops_utils.h), so means match to the last bit. */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = -0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** Mean over the entries > -1, as `np.mean(s[s > -1])`; -1 when there are none. */
function meanValid(values: number[]): number {
  const v = values.filter((x) => x > -1);
  return v.length === 0 ? -1 : pairwiseSum(v) / v.length;
}

interface Gt {
  id: number;
  bbox: number[];
  area: number;
  iscrowd: boolean;
  ignore: boolean;
}

interface Dt {
  id: number;
  bbox: number[];
  area: number;
  score: number;
}

/** maskUtils.iou for boxes (bbIou in maskApi.c): crowd boxes use the detection's area as the union. */
function boxIou(d: number[], g: number[], crowd: boolean): number {
  const w = Math.min(d[0] + d[2], g[0] + g[2]) - Math.max(d[0], g[0]);
  if (w <= 0) return 0;
  const h = Math.min(d[1] + d[3], g[1] + g[3]) - Math.max(d[1], g[1]);
  if (h <= 0) return 0;
  const i = w * h;
  const da = d[2] * d[3];
  const u = crowd ? da : da + g[2] * g[3] - i;
  return i / u;
}

/** Stable sort of indices by key (numpy argsort kind='mergesort'). */
function argsortStable(keys: number[]): number[] {
  return keys.map((_, i) => i).sort((a, b) => keys[a] - keys[b]);
}

interface EvalImg {
  dtScores: number[];
  /** [T][D]: matched gt id or 0. */
  dtMatches: number[][];
  /** [T][D] */
  dtIgnore: boolean[][];
  gtIgnore: boolean[];
}

const EPS = 2.220446049250313e-16; // np.spacing(1)

function fail(what: string): never {
  throw new ReefError('REEF_ANNOTATIONS_INVALID', what);
}

function isBox(b: unknown): b is [number, number, number, number] {
  return Array.isArray(b) && b.length === 4 && b.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** Checks the shape of a COCO instances file (parsed JSON); `source` names it in errors. */
export function checkDataset(v: unknown, source = 'ground truth'): CocoDataset {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${source}: expected a COCO instances object {images, annotations, categories}`);
  const o = v as Record<string, unknown>;
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(o[key])) fail(`${source}: "${key}" must be an array`);
  }
  (o.images as unknown[]).forEach((im, i) => {
    if (typeof im !== 'object' || im === null || typeof (im as CocoImage).id !== 'number') fail(`${source}: images[${i}] has no numeric "id"`);
  });
  (o.categories as unknown[]).forEach((c, i) => {
    if (typeof c !== 'object' || c === null || typeof (c as CocoCategory).id !== 'number') fail(`${source}: categories[${i}] has no numeric "id"`);
  });
  (o.annotations as unknown[]).forEach((a, i) => {
    const x = a as Partial<CocoAnnotation> | null;
    if (typeof x !== 'object' || x === null) fail(`${source}: annotations[${i}] is not an object`);
    for (const k of ['id', 'image_id', 'category_id', 'area'] as const) {
      if (typeof x[k] !== 'number' || !Number.isFinite(x[k])) fail(`${source}: annotations[${i}] has no numeric "${k}"`);
    }
    if (!isBox(x.bbox)) fail(`${source}: annotations[${i}].bbox must be [x, y, width, height] numbers`);
  });
  return o as unknown as CocoDataset;
}

/** Checks a COCO results array (parsed JSON). */
export function checkDetections(v: unknown, source = 'detections'): CocoDetection[] {
  if (!Array.isArray(v)) fail(`${source}: expected a JSON array of {image_id, category_id, bbox, score}`);
  v.forEach((d, i) => {
    const x = d as Partial<CocoDetection> | null;
    if (typeof x !== 'object' || x === null) fail(`${source}: [${i}] is not an object`);
    for (const k of ['image_id', 'category_id', 'score'] as const) {
      if (typeof x[k] !== 'number' || !Number.isFinite(x[k])) fail(`${source}: [${i}] has no numeric "${k}"`);
    }
    if (!isBox(x.bbox)) fail(`${source}: [${i}].bbox must be [x, y, width, height] numbers`);
  });
  return v as CocoDetection[];
}

/**
 * Scores detections against COCO ground truth, exactly as pycocotools' COCOeval (bbox, defaults).
 * @example
 * const r = evaluateCoco(JSON.parse(gtText), JSON.parse(dtText));
 * r.named.AP   // 0.5045806987249628 on cocoapi's demo files
 */
export function evaluateCoco(gtIn: CocoDataset, dtIn: CocoDetection[]): CocoEvalResult {
  const gtData = checkDataset(gtIn);
  const dets = checkDetections(dtIn);
  const p = COCO_PARAMS;
  const imgIds = [...new Set(gtData.images.map((im) => im.id))].sort((a, b) => a - b);
  const catIds = [...new Set(gtData.categories.map((c) => c.id))].sort((a, b) => a - b);
  const imgSet = new Set(imgIds);
  const catSet = new Set(catIds);
  // COCO.loadRes: every detection's image must be in the ground truth.
  const unknown = dets.find((d) => !imgSet.has(d.image_id));
  if (unknown) fail(`detections: image_id ${unknown.image_id} is not an image of the ground truth (results must refer to its images)`);

  const key = (img: number, cat: number) => `${img}:${cat}`;
  // getAnnIds(imgIds, catIds) order: by image in imgIds order, then file order; loadRes gives ids 1.. in file order.
  const gtsByImg = new Map<number, CocoAnnotation[]>();
  for (const a of gtData.annotations) {
    const l = gtsByImg.get(a.image_id);
    if (l) l.push(a); else gtsByImg.set(a.image_id, [a]);
  }
  const dtsByImg = new Map<number, Array<{ d: CocoDetection; id: number }>>();
  dets.forEach((d, i) => {
    const l = dtsByImg.get(d.image_id);
    const e = { d, id: i + 1 };
    if (l) l.push(e); else dtsByImg.set(d.image_id, [e]);
  });
  const gts = new Map<string, Gt[]>();
  const dts = new Map<string, Dt[]>();
  for (const img of imgIds) {
    for (const a of gtsByImg.get(img) ?? []) {
      if (!catSet.has(a.category_id)) continue;
      const k = key(img, a.category_id);
      const crowd = Boolean(a.iscrowd);
      const g: Gt = { id: a.id, bbox: a.bbox, area: a.area, iscrowd: crowd, ignore: crowd };
      const l = gts.get(k);
      if (l) l.push(g); else gts.set(k, [g]);
    }
    for (const { d, id } of dtsByImg.get(img) ?? []) {
      if (!catSet.has(d.category_id)) continue;
      const k = key(img, d.category_id);
      const x: Dt = { id, bbox: d.bbox, area: d.bbox[2] * d.bbox[3], score: d.score };
      const l = dts.get(k);
      if (l) l.push(x); else dts.set(k, [x]);
    }
  }
  const maxDet = p.maxDets[p.maxDets.length - 1];
  const T = p.iouThrs.length;

  // computeIoU, per (image, category): detections sorted by score (stable), at most maxDets[-1].
  const sortedDts = new Map<string, Dt[]>();
  const ious = new Map<string, number[][]>();
  for (const [k, dl] of dts) {
    const order = argsortStable(dl.map((d) => -d.score));
    const sorted = order.map((i) => dl[i]).slice(0, maxDet);
    sortedDts.set(k, sorted);
    const gl = gts.get(k) ?? [];
    ious.set(k, sorted.map((d) => gl.map((g) => boxIou(d.bbox, g.bbox, g.iscrowd))));
  }

  const evaluateImg = (img: number, cat: number, aRng: [number, number]): EvalImg | null => {
    const k = key(img, cat);
    const gl = gts.get(k) ?? [];
    const dl = sortedDts.get(k) ?? [];
    if (gl.length === 0 && dl.length === 0) return null;
    const gIgn = gl.map((g) => g.ignore || g.area < aRng[0] || g.area > aRng[1]);
    const gtind = argsortStable(gIgn.map((x) => (x ? 1 : 0)));
    const gt = gtind.map((i) => gl[i]);
    const gtIg = gtind.map((i) => gIgn[i]);
    const dt = dl; // already sorted by score and cut to maxDets[-1]
    const iouM = ious.get(k) ?? [];
    const G = gt.length;
    const D = dt.length;
    const gtm: number[][] = Array.from({ length: T }, () => new Array<number>(G).fill(0));
    const dtm: number[][] = Array.from({ length: T }, () => new Array<number>(D).fill(0));
    const dtIg: boolean[][] = Array.from({ length: T }, () => new Array<boolean>(D).fill(false));
    if (D > 0 && G > 0) {
      for (let t = 0; t < T; t++) {
        for (let di = 0; di < D; di++) {
          let iou = Math.min(p.iouThrs[t], 1 - 1e-10);
          let m = -1;
          for (let gi = 0; gi < G; gi++) {
            if (gtm[t][gi] > 0 && !gt[gi].iscrowd) continue;
            if (m > -1 && !gtIg[m] && gtIg[gi]) break;
            const v = iouM[di][gtind[gi]];
            if (v < iou) continue;
            iou = v;
            m = gi;
          }
          if (m === -1) continue;
          dtIg[t][di] = gtIg[m];
          dtm[t][di] = gt[m].id;
          gtm[t][m] = dt[di].id;
        }
      }
    }
    for (let t = 0; t < T; t++) {
      for (let di = 0; di < D; di++) {
        const outside = dt[di].area < aRng[0] || dt[di].area > aRng[1];
        dtIg[t][di] = dtIg[t][di] || (dtm[t][di] === 0 && outside);
      }
    }
    return { dtScores: dt.map((d) => d.score), dtMatches: dtm, dtIgnore: dtIg, gtIgnore: gtIg };
  };

  const R = p.recThrs.length;
  const K = catIds.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  // precision[t][r][k][a][m] and recall[t][k][a][m], flattened in C order as numpy holds them.
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const pIdx = (t: number, r: number, k: number, a: number, m: number) => ((((t * R + r) * K + k) * A + a) * M + m);
  const rIdx = (t: number, k: number, a: number, m: number) => (((t * K + k) * A + a) * M + m);

  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      const E: EvalImg[] = [];
      for (const img of imgIds) {
        const e = evaluateImg(img, catIds[k], p.areaRng[a]);
        if (e) E.push(e);
      }
      if (E.length === 0) continue;
      const gtIgAll = E.flatMap((e) => e.gtIgnore);
      const npig = gtIgAll.filter((x) => !x).length;
      for (let m = 0; m < M; m++) {
        const md = p.maxDets[m];
        const scores: number[] = [];
        const src: Array<[EvalImg, number]> = [];
        for (const e of E) {
          const n = Math.min(md, e.dtScores.length);
          for (let i = 0; i < n; i++) { scores.push(e.dtScores[i]); src.push([e, i]); }
        }
        if (npig === 0) continue;
        const inds = argsortStable(scores.map((s) => -s));
        for (let t = 0; t < T; t++) {
          const nd = inds.length;
          const rc = new Float64Array(nd);
          const pr = new Array<number>(nd);
          let tp = 0;
          let fp = 0;
          for (let j = 0; j < nd; j++) {
            const [e, i] = src[inds[j]];
            const matched = e.dtMatches[t][i] !== 0;
            const ignored = e.dtIgnore[t][i];
            if (matched && !ignored) tp++;
            if (!matched && !ignored) fp++;
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + EPS);
          }
          recall[rIdx(t, k, a, m)] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          // searchsorted(rc, recThrs, side='left'); thresholds past the last recall keep precision 0.
          let pi = 0;
          for (let ri = 0; ri < R; ri++) {
            while (pi < nd && rc[pi] < p.recThrs[ri]) pi++;
            precision[pIdx(t, ri, k, a, m)] = pi < nd ? pr[pi] : 0;
          }
        }
      }
    }
  }

  const aIndex = (lbl: string) => p.areaRngLbl.indexOf(lbl);
  const mIndex = (md: number) => p.maxDets.indexOf(md);
  const tIndex = (thr: number) => p.iouThrs.findIndex((x) => x === thr);
  const summarizeAp = (iouThr: number | null, area: string, md: number, cats: number[] = catIds.map((_, i) => i)): number => {
    const a = aIndex(area);
    const m = mIndex(md);
    const ts = iouThr === null ? p.iouThrs.map((_, i) => i) : [tIndex(iouThr)].filter((i) => i >= 0);
    const vals: number[] = [];
    for (const t of ts) for (let r = 0; r < R; r++) for (const k of cats) vals.push(precision[pIdx(t, r, k, a, m)]);
    return meanValid(vals);
  };
  const summarizeAr = (area: string, md: number): number => {
    const a = aIndex(area);
    const m = mIndex(md);
    const vals: number[] = [];
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) vals.push(recall[rIdx(t, k, a, m)]);
    return meanValid(vals);
  };
  const stats = [
    summarizeAp(null, 'all', 100), summarizeAp(0.5, 'all', 100), summarizeAp(0.75, 'all', 100),
    summarizeAp(null, 'small', 100), summarizeAp(null, 'medium', 100), summarizeAp(null, 'large', 100),
    summarizeAr('all', 1), summarizeAr('all', 10), summarizeAr('all', 100),
    summarizeAr('small', 100), summarizeAr('medium', 100), summarizeAr('large', 100),
  ];
  const named = Object.fromEntries(COCO_STAT_NAMES.map((n, i) => [n, stats[i]])) as Record<CocoStatName, number>;
  const names = new Map(gtData.categories.map((c) => [c.id, c.name ?? null]));
  const gtCount = new Map<number, number>();
  for (const [k, l] of gts) {
    const cat = Number(k.split(':')[1]);
    gtCount.set(cat, (gtCount.get(cat) ?? 0) + l.filter((g) => !g.ignore).length);
  }
  const perCategory = catIds.map((id, k) => ({
    id, name: names.get(id) ?? null, ap: summarizeAp(null, 'all', 100, [k]), ap50: summarizeAp(0.5, 'all', 100, [k]), gt: gtCount.get(id) ?? 0,
  }));
  return { stats, named, perCategory, images: imgIds.length, annotations: gtData.annotations.length, detections: dets.length };
}

/** The summary as pycocotools prints it (`COCOeval.summarize()`). */
export function formatCocoSummary(stats: number[]): string {
  const rows: Array<[string, string, string, number]> = [
    ['Average Precision', '(AP)', '0.50:0.95', 0], ['Average Precision', '(AP)', '0.50', 0], ['Average Precision', '(AP)', '0.75', 0],
    ['Average Precision', '(AP)', '0.50:0.95', 1], ['Average Precision', '(AP)', '0.50:0.95', 2], ['Average Precision', '(AP)', '0.50:0.95', 3],
    ['Average Recall', '(AR)', '0.50:0.95', 0], ['Average Recall', '(AR)', '0.50:0.95', 0], ['Average Recall', '(AR)', '0.50:0.95', 0],
    ['Average Recall', '(AR)', '0.50:0.95', 1], ['Average Recall', '(AR)', '0.50:0.95', 2], ['Average Recall', '(AR)', '0.50:0.95', 3],
  ];
  const areas = ['all', 'small', 'medium', 'large'];
  const md = [100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100];
  return rows.map(([title, type, iou, a], i) =>
    ` ${title.padEnd(18)} ${type} @[ IoU=${iou.padEnd(9)} | area=${areas[a].padStart(6)} | maxDets=${String(md[i]).padStart(3)} ] = ${stats[i].toFixed(3)}`).join('\n') + '\n';
}

/** Reads and parses a JSON file; a missing file is REEF_FILE_NOT_FOUND, bad JSON REEF_ANNOTATIONS_INVALID. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ReefError('REEF_ANNOTATIONS_INVALID', `${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}
