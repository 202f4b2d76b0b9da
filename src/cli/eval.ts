/**
 * `reef eval`: COCO box mAP (as pycocotools computes it) of a detector run over COCO photos, or of a
 * detections file (`--results`).
 */
import type { Command } from 'commander';
import { checkDataset, checkDetections, evaluateCoco, formatCocoSummary, readJsonFile, type CocoEvalResult } from '../eval/coco.js';
import { evaluateDetector } from '../eval/detect.js';
import { csvFolder, evaluateClassifier, readLabelsCsv } from '../eval/classify.js';
import { openVision, type OpenVisionOptions } from '../tasks/vision.js';
import { RESIZE_FILTERS, RESIZE_MODES, type ResizeFilter, type ResizeMode } from '../tasks/resize.js';
import { ReefError } from '../errors.js';
import { checkWritable, parseNumberList, parsePositiveInt, writeAtomic, type CliIO } from './io.js';
import { parseChoice, parseFraction } from './vision.js';

export interface EvalCliOptions {
  coco?: string;
  labelsCsv?: string;
  indexColumn?: string;
  limit?: string;
  results?: string;
  images?: string;
  labels?: string;
  scoreThreshold: string;
  resize?: string;
  resizeFilter?: string;
  mean?: string;
  std?: string;
  threads?: string;
  xnnpack: boolean;
  saveResults?: string;
  json?: boolean;
}

export async function evalCommand(model: string | undefined, opts: EvalCliOptions, io: CliIO): Promise<void> {
  if (opts.labelsCsv) return evalClassifierCommand(model, opts, io);
  if (!opts.coco) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --coco LABELS.json (COCO instances ground truth) but received nothing');
  if (model === undefined && !opts.results) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a MODEL to run (with --images) or --results DETS.json to score, but received neither');
  }
  if (model !== undefined && opts.results) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected either a MODEL or --results, but received both ("${model}" and "${opts.results}")`);
  }
  if (model !== undefined && !opts.images) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --images DIR (the photos of --coco) with a MODEL but received nothing');
  const threshold = parseFraction('--score-threshold', opts.scoreThreshold);
  const resize = parseChoice<ResizeMode>('--resize', opts.resize, RESIZE_MODES);
  const filter = parseChoice<ResizeFilter>('--resize-filter', opts.resizeFilter, RESIZE_FILTERS);
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  const mean = opts.mean === undefined ? undefined : parseNumberList('--mean', opts.mean);
  const std = opts.std === undefined ? undefined : parseNumberList('--std', opts.std);
  if (opts.saveResults) await checkWritable('--save-results', opts.saveResults);
  const gt = checkDataset(await readJsonFile(opts.coco, 'ground truth'), `ground truth ${opts.coco}`);
  if (model === undefined) {
    const results = opts.results as string;
    const dets = checkDetections(await readJsonFile(results, 'detections'), `detections ${results}`);
    printEval(evaluateCoco(gt, dets), { coco: opts.coco, results }, opts.json === true, io);
    return;
  }
  const vopts: OpenVisionOptions = { labelsFile: opts.labels, mean, std, resize, filter, detect: { scoreThreshold: threshold } };
  const runner = await openVision(model, { threads, xnnpack: opts.xnnpack }, vopts);
  try {
    let last = 0;
    const r = await evaluateDetector(runner, gt, opts.images as string, (p) => {
      const now = Date.now();
      if (p.done === p.total || now - last > 1000) {
        last = now;
        io.err(`eval: ${p.done}/${p.total} images\n`);
      }
    });
    if (opts.saveResults) await writeAtomic([[opts.saveResults, JSON.stringify(r.results)]]);
    printEval(r, { model, coco: opts.coco, images: opts.images as string }, opts.json === true, io,
      { timing: r.timing, scoreThreshold: threshold, resize: resize ?? 'squash', filter: filter ?? 'bilinear' });
  } finally {
    await runner.session.dispose();
  }
}

async function evalClassifierCommand(model: string | undefined, opts: EvalCliOptions, io: CliIO): Promise<void> {
  if (model === undefined) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a MODEL (a classifier) with --labels-csv but received nothing');
  if (opts.coco || opts.results) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --labels-csv (classifier) or --coco (detector), but received both');
  const limit = opts.limit === undefined ? undefined : parsePositiveInt('--limit', opts.limit);
  const resize = parseChoice<ResizeMode>('--resize', opts.resize, RESIZE_MODES);
  const filter = parseChoice<ResizeFilter>('--resize-filter', opts.resizeFilter, RESIZE_FILTERS);
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  const mean = opts.mean === undefined ? undefined : parseNumberList('--mean', opts.mean);
  const std = opts.std === undefined ? undefined : parseNumberList('--std', opts.std);
  const runner = await openVision(model, { threads, xnnpack: opts.xnnpack }, { labelsFile: opts.labels, mean, std, resize, filter, topK: 5 });
  try {
    const out = runner.session.outputs[0];
    const classes = out.shape[out.shape.length - 1];
    let photos = await readLabelsCsv(opts.labelsCsv as string, classes, opts.indexColumn);
    if (limit !== undefined) photos = photos.slice(0, limit);
    let last = 0;
    const r = await evaluateClassifier(runner, photos, opts.images ?? csvFolder(opts.labelsCsv as string), (p) => {
      const now = Date.now();
      if (p.done === p.total || now - last > 1000) { last = now; io.err(`eval: ${p.done}/${p.total} images\n`); }
    });
    if (opts.json) {
      io.out(JSON.stringify({ model, labelsCsv: opts.labelsCsv, photos: r.photos, top1: r.top1, top5: r.top5, timing: r.timing }) + '\n');
    } else {
      io.out(`${r.photos} photos: top-1 ${(r.top1 * 100).toFixed(1)}%, top-5 ${(r.top5 * 100).toFixed(1)}%\n`);
      io.out(`per image: pre ${r.timing.pre.toFixed(1)} ms, invoke ${r.timing.invoke.toFixed(1)} ms, post ${r.timing.post.toFixed(1)} ms\n`);
    }
  } finally {
    await runner.session.dispose();
  }
}

export function printEval(r: CocoEvalResult, source: Record<string, string>, json: boolean, io: CliIO, extra: Record<string, unknown> = {}): void {
  if (json) {
    io.out(JSON.stringify({
      ...source, ...extra, images: r.images, annotations: r.annotations, detections: r.detections,
      stats: r.named, perCategory: r.perCategory,
    }) + '\n');
    return;
  }
  io.out(`${r.images} images, ${r.annotations} annotations, ${r.detections} detections\n`);
  io.out(formatCocoSummary(r.stats));
  const t = extra.timing as { pre: number; invoke: number; post: number } | undefined;
  if (t) io.out(`per image: pre ${t.pre.toFixed(1)} ms, invoke ${t.invoke.toFixed(1)} ms, post ${t.post.toFixed(1)} ms\n`);
}

export function registerEval(program: Command, io: CliIO): void {
  program
    .command('eval')
    .description('COCO box mAP (as pycocotools computes it) of a detector or a detections file; top-1/top-5 of a classifier')
    .argument('[model]', 'a detection model (.tflite or .reef) to run over --images')
    .option('--coco <labels.json>', 'COCO instances ground truth')
    .option('--images <dir>', 'folder holding the ground truth\'s file_name photos (with a MODEL)')
    .option('--results <dets.json>', 'detections in COCO results format to score (no model is run)')
    .option('--labels-csv <file>', 'classifier: top-1/top-5 over the photos a CSV lists (file, class index; photos beside it or in --images)')
    .option('--index-column <name>', 'the CSV column with the class index (default tf1001_index for 1001 classes, else class_index)')
    .option('--limit <n>', 'classifier: only the first n photos')
    .option('--labels <file>', 'label file; classes map to COCO categories by name')
    .option('--score-threshold <s>', 'keep detections scoring at least this', '0')
    .option('--resize <mode>', `how photos fit the input: ${RESIZE_MODES.join(', ')} (default squash)`)
    .option('--resize-filter <f>', `${RESIZE_FILTERS.join(', ')} (default bilinear, as TFLite's Task Library)`)
    .option('--mean <v>', 'subtracted from 0..255 pixels (one value or r,g,b)')
    .option('--std <v>', 'divides after the mean (one value or r,g,b)')
    .option('--threads <n>', 'CPU threads')
    .option('--no-xnnpack', 'use TFLite\'s built-in kernels instead of XNNPACK')
    .option('--save-results <file>', 'write the detections in COCO results format')
    .option('--json', 'print JSON')
    .action(async (model: string | undefined, opts: EvalCliOptions) => evalCommand(model, opts, io));
}
