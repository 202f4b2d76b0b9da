/**
 * Runs a detector over the photos of a COCO ground-truth file and scores it with evaluateCoco.
 * Detected classes map to COCO categories by label name (the labels of the model or --labels).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ReefError } from '../errors.js';
import type { VisionRunner } from '../tasks/vision.js';
import { evaluateCoco, type CocoDataset, type CocoDetection, type CocoEvalResult } from './coco.js';

export interface DetectEvalProgress {
  done: number;
  total: number;
  file: string;
}

export interface DetectEvalResult extends CocoEvalResult {
  /** The detections in COCO results format (what `--save-results` writes). */
  results: CocoDetection[];
  /** Mean milliseconds per photo. */
  timing: { pre: number; invoke: number; post: number };
}

/** Maps the runner's class indices to COCO category ids by name; throws when no label matches. */
export function categoryMap(labels: readonly string[] | null, gt: CocoDataset): Map<number, number> {
  if (!labels) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected labels (model metadata, bundle or --labels) to map the model\'s classes to COCO categories by name, but the model has none');
  }
  const byName = new Map(gt.categories.map((c) => [String(c.name ?? '').toLowerCase(), c.id]));
  const map = new Map<number, number>();
  labels.forEach((l, i) => {
    const id = byName.get(l.trim().toLowerCase());
    if (id !== undefined) map.set(i, id);
  });
  if (map.size === 0) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected labels naming COCO categories (${gt.categories.slice(0, 3).map((c) => c.name).join(', ')}, ...) but received ${labels.slice(0, 3).join(', ')}, ...`);
  }
  return map;
}

/** Runs every ground-truth photo through `runner` (a detector) and evaluates. */
export async function evaluateDetector(runner: VisionRunner, gt: CocoDataset, imagesDir: string,
  onProgress?: (p: DetectEvalProgress) => void): Promise<DetectEvalResult> {
  if (runner.task !== 'detect') {
    throw new ReefError('REEF_TASK_MISMATCH', `reef eval --coco needs a detector; this model's task is ${runner.task}`);
  }
  const cats = categoryMap(runner.labels, gt);
  const files = gt.images.map((im) => ({ id: im.id, path: join(imagesDir, im.file_name ?? `${im.id}.jpg`) }));
  for (const f of files) { // all present before the long work starts
    await access(f.path).catch(() => { throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read image ${f.path} (image id ${f.id} of the ground truth): no such file`); });
  }
  const results: CocoDetection[] = [];
  const sum = { pre: 0, invoke: 0, post: 0 };
  let done = 0;
  for (const f of files) {
    const { result, timings } = await runner.runFile(f.path);
    sum.pre += timings.pre; sum.invoke += timings.invoke; sum.post += timings.post;
    if (result.task === 'detect') {
      for (const d of result.detections) {
        const cat = cats.get(d.index);
        if (cat === undefined) continue;
        const r3 = (v: number) => Math.round(v * 1000) / 1000;
        results.push({ image_id: f.id, category_id: cat, bbox: [r3(d.box.xmin), r3(d.box.ymin), r3(d.box.xmax - d.box.xmin), r3(d.box.ymax - d.box.ymin)], score: d.score });
      }
    }
    onProgress?.({ done: ++done, total: files.length, file: f.path });
  }
  const n = Math.max(1, files.length);
  return { ...evaluateCoco(gt, results), results, timing: { pre: sum.pre / n, invoke: sum.invoke / n, post: sum.post / n } };
}
