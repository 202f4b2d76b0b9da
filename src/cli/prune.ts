/**
 * `reef prune <model> --sparsity 0.5 -o <out.tflite>`: magnitude pruning (unstructured, global or
 * per layer, or --structured output channels), with MACs, parameters, size raw and gzip, latency
 * before and after, and with --calib what it cost against the original (SQNR, agreement, accuracy).
 */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { ReefError } from '../errors.js';
import { readUserFile } from '../files.js';
import { readTflite } from '../model/tflite/reader.js';
import { formatPruneReport, pruneTflite } from '../prune/pipeline.js';
import { checkWritable, parsePositiveInt, writeAtomic, type CliIO } from './io.js';
import { imageSamples, readLabelCsv } from './quantize.js';

export interface PruneCliOptions {
  sparsity?: string;
  output?: string;
  perLayer?: boolean;
  structured?: boolean;
  criterion?: string;
  includeFirstLast?: boolean;
  includeDepthwise?: boolean;
  calib?: string;
  samples: string;
  eval: string;
  biasCorrection: boolean;
  mean?: string;
  std?: string;
  labels?: string;
  labelColumn?: string;
  runs: string;
  threads?: string;
  json?: boolean;
}

export async function pruneCommand(model: string, opts: PruneCliOptions, io: CliIO): Promise<void> {
  if (!opts.output) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected an output path for -o/--output but received nothing');
  const sparsity = Number(opts.sparsity);
  if (opts.sparsity === undefined || !(sparsity > 0 && sparsity < 1)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a number in (0, 1) for --sparsity but received ${opts.sparsity === undefined ? 'nothing' : `"${opts.sparsity}"`}`);
  }
  if (opts.perLayer && opts.structured) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --per-layer or --structured but received both (structured pruning is always per layer)');
  }
  if (opts.criterion !== undefined && (!['l1', 'activation'].includes(opts.criterion) || !opts.structured)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected --criterion l1 or activation, with --structured, but received "${opts.criterion}"${opts.structured ? '' : ' without --structured'}`);
  }
  const nCal = opts.samples === '0' ? 0 : parsePositiveInt('--samples', opts.samples);
  const nEval = opts.eval === '0' ? 0 : parsePositiveInt('--eval', opts.eval);
  const runs = opts.runs === '0' ? 0 : parsePositiveInt('--runs', opts.runs);
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  await checkWritable('-o/--output', opts.output);
  const bytes = await readUserFile(model, 'model');
  const ir = readTflite(bytes);
  const all = opts.calib === undefined ? [] : await imageSamples(ir, opts.calib, { mean: opts.mean, std: opts.std, limit: nCal + nEval, json: opts.json }, io);
  // The last --eval samples measure the cost; the ones before them correct the biases.
  const evalCount = Math.min(nEval, all.length);
  const held = all.slice(all.length - evalCount);
  const calibration = all.slice(0, all.length - evalCount).map((s) => s.sample);
  const labels = opts.labels ? await readLabelCsv(opts.labels, opts.labelColumn) : null;
  const { bytes: out, report } = await pruneTflite(bytes, {
    sparsity, perLayer: opts.perLayer, structured: opts.structured, includeFirstLast: opts.includeFirstLast,
    ...(opts.criterion ? { criterion: opts.criterion as 'l1' | 'activation' } : {}),
    includeDepthwise: opts.includeDepthwise, latencyRuns: runs, threads, source: model, biasCorrection: opts.biasCorrection,
  }, {
    calibration,
    evaluation: held.map((s) => {
      const label = labels?.get(basename(s.file));
      return label === undefined ? { inputs: s.sample } : { inputs: s.sample, label };
    }),
  });
  await writeAtomic([[opts.output, out]]);
  if (opts.json) io.out(JSON.stringify({ output: opts.output, report }) + '\n');
  else io.out(formatPruneReport(report) + `wrote ${opts.output}\n`);
}

export function registerPrune(program: Command, io: CliIO): void {
  program
    .command('prune')
    .description('magnitude pruning of a float TFLite model: unstructured (global or --per-layer) or --structured (whole output channels)')
    .argument('<model>', 'a float32 .tflite model')
    .option('--sparsity <s>', 'share of weights (or, --structured, of output channels) to remove, in (0, 1)')
    .option('-o, --output <file>', 'where to write the pruned .tflite')
    .option('--per-layer', 'the same share in every layer instead of one global threshold')
    .option('--structured', 'remove whole output channels of conv layers, rewriting the next layer')
    .option('--criterion <c>', 'structured: activation (default with --calib: the least error in the next layer on the samples) or l1 (own filter norm; the default without --calib)')
    .option('--include-first-last', 'prune the first and last weighted layers too')
    .option('--include-depthwise', 'unstructured: prune depthwise layers too')
    .option('--calib <dir|glob>', 'samples (images, .npy, .bin): the first --samples correct the biases, the last --eval measure the cost')
    .option('--samples <n>', 'samples for bias correction (0: none)', '100')
    .option('--eval <n>', 'samples held back to measure the cost against the original (0: none)', '50')
    .option('--no-bias-correction', 'skip the bias correction after unstructured pruning')
    .option('--mean <v>', 'subtracted from 0..255 pixels (one value or r,g,b); default: model metadata, else 127.5')
    .option('--std <v>', 'divides after the mean; default: model metadata, else 127.5')
    .option('--labels <csv>', 'CSV with a header, a "file" column and a class column, for accuracy')
    .option('--label-column <name>', 'the class column of --labels')
    .option('--runs <n>', 'invokes timed before and after (0: no latency)', '100')
    .option('--threads <n>', 'CPU threads for the sample runs')
    .option('--json', 'print JSON')
    .action(async (model: string, opts: PruneCliOptions) => pruneCommand(model, opts, io));
}
