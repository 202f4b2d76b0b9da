/**
 * Top-1 / top-5 accuracy of a classifier over photos listed in a CSV (file, class index columns).
 */
import { readFile, access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ReefError } from '../errors.js';
import type { VisionRunner } from '../tasks/vision.js';

export interface LabeledPhoto {
  file: string;
  index: number;
}

/** Splits one CSV line (double quotes, "" inside quotes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/**
 * Reads a labels CSV with a header: the `file` column (else the first) and the class index column
 * `column` (else `tf1001_index` for 1001-class models, else `class_index`, else the second column).
 */
export async function readLabelsCsv(path: string, classes: number, column?: string): Promise<LabeledPhoto[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read labels CSV ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new ReefError('REEF_ANNOTATIONS_INVALID', `labels CSV ${path}: expected a header line and at least one photo`);
  const header = csvFields(lines[0]);
  const fileCol = Math.max(0, header.indexOf('file'));
  const wanted = column ?? (classes === 1001 && header.includes('tf1001_index') ? 'tf1001_index' : header.includes('class_index') ? 'class_index' : header[1]);
  const idxCol = header.indexOf(wanted);
  if (idxCol < 0) throw new ReefError('REEF_ANNOTATIONS_INVALID', `labels CSV ${path}: no column "${wanted}" (columns: ${header.join(', ')})`);
  return lines.slice(1).map((l, i) => {
    const f = csvFields(l);
    const index = Number(f[idxCol]);
    if (!f[fileCol] || !Number.isInteger(index) || index < 0) {
      throw new ReefError('REEF_ANNOTATIONS_INVALID', `labels CSV ${path}: line ${i + 2} needs a file and a non-negative integer ${wanted} (got "${l}")`);
    }
    return { file: f[fileCol], index };
  });
}

export interface ClassifyEvalResult {
  photos: number;
  top1: number;
  top5: number;
  timing: { pre: number; invoke: number; post: number };
}

/** Runs every photo and counts how often the true class is first, or among the first five. */
export async function evaluateClassifier(runner: VisionRunner, photos: LabeledPhoto[], imagesDir: string,
  onProgress?: (p: { done: number; total: number }) => void): Promise<ClassifyEvalResult> {
  if (runner.task !== 'classify') throw new ReefError('REEF_TASK_MISMATCH', `reef eval --labels-csv needs a classifier; this model's task is ${runner.task}`);
  for (const p of photos) {
    await access(join(imagesDir, p.file)).catch(() => { throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read image ${join(imagesDir, p.file)}: no such file`); });
  }
  let top1 = 0;
  let top5 = 0;
  const sum = { pre: 0, invoke: 0, post: 0 };
  let done = 0;
  for (const p of photos) {
    const { result, timings } = await runner.runFile(join(imagesDir, p.file));
    sum.pre += timings.pre; sum.invoke += timings.invoke; sum.post += timings.post;
    if (result.task === 'classify') {
      const idx = result.top.map((c) => c.index);
      if (idx[0] === p.index) top1++;
      if (idx.slice(0, 5).includes(p.index)) top5++;
    }
    onProgress?.({ done: ++done, total: photos.length });
  }
  const n = Math.max(1, photos.length);
  return { photos: photos.length, top1: top1 / n, top5: top5 / n, timing: { pre: sum.pre / n, invoke: sum.invoke / n, post: sum.post / n } };
}

/** The folder a CSV's photos are in by default: the CSV's own. */
export const csvFolder = (csv: string) => dirname(csv);
