/**
 * `reef eval`: COCO box mAP of a detections file (`--results`) against COCO ground truth (`--coco`),
 * computed as pycocotools does.
 */
import type { Command } from 'commander';
import { checkDataset, checkDetections, evaluateCoco, formatCocoSummary, readJsonFile, type CocoEvalResult } from '../eval/coco.js';
import { ReefError } from '../errors.js';
import type { CliIO } from './io.js';

export interface EvalCliOptions {
  coco?: string;
  results?: string;
  json?: boolean;
}

export async function evalCommand(model: string | undefined, opts: EvalCliOptions, io: CliIO): Promise<void> {
  if (!opts.coco) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --coco LABELS.json (COCO instances ground truth) but received nothing');
  if (model === undefined && !opts.results) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a MODEL to run or --results DETS.json (COCO results) to score, but received neither');
  }
  if (model !== undefined && opts.results) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected either a MODEL or --results, but received both ("${model}" and "${opts.results}")`);
  }
  const gt = checkDataset(await readJsonFile(opts.coco, 'ground truth'), `ground truth ${opts.coco}`);
  if (model !== undefined) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'running a model for `reef eval` is not available yet; score a detections file with --results');
  }
  const results = opts.results as string;
  const dets = checkDetections(await readJsonFile(results, 'detections'), `detections ${results}`);
  const r = evaluateCoco(gt, dets);
  printEval(r, { coco: opts.coco, results }, opts.json === true, io);
}

export function printEval(r: CocoEvalResult, source: Record<string, string>, json: boolean, io: CliIO): void {
  if (json) {
    io.out(JSON.stringify({
      ...source, images: r.images, annotations: r.annotations, detections: r.detections,
      stats: r.named, perCategory: r.perCategory,
    }) + '\n');
    return;
  }
  io.out(`${r.images} images, ${r.annotations} annotations, ${r.detections} detections\n`);
  io.out(formatCocoSummary(r.stats));
}

export function registerEval(program: Command, io: CliIO): void {
  program
    .command('eval')
    .description('COCO box mAP (as pycocotools computes it) of a detections file against COCO ground truth')
    .argument('[model]', 'a detection model to run over --images (or give --results)')
    .option('--coco <labels.json>', 'COCO instances ground truth')
    .option('--results <dets.json>', 'detections in COCO results format to score (no model is run)')
    .option('--json', 'print JSON')
    .action(async (model: string | undefined, opts: EvalCliOptions) => evalCommand(model, opts, io));
}
