/**
 * `reef optimize <model> --calib <dir>`: builds the float, int8 and pruned (unstructured and
 * structured, float and int8) variants, measures each here, prints one table with the Pareto
 * front and a recommendation; --plot writes quality against latency as SVG, --out-dir the variants.
 */
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ReefError } from '../errors.js';
import { readUserFile } from '../files.js';
import { readTflite } from '../model/tflite/reader.js';
import { optimizeTflite } from '../optimize/optimize.js';
import { buildBundle } from '../package/writer.js';
import { formatOptimize, optimizePlotSvg } from '../optimize/report.js';
import { checkWritable, parsePositiveInt, writeAtomic, type CliIO } from './io.js';
import { imageSamples, readLabelCsv } from './quantize.js';

export interface OptimizeCliOptions {
  calib?: string;
  samples: string;
  eval: string;
  mean?: string;
  std?: string;
  labelsCsv?: string;
  labelColumn?: string;
  sparsities: string;
  budgetMs?: string;
  maxDrop?: string;
  runs: string;
  plot?: string;
  outDir?: string;
  package?: string;
  threads?: string;
  json?: boolean;
}

const num = (name: string, text: string, ok: (v: number) => boolean, what: string): number => {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || !ok(v)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected ${what} for ${name} but received "${text}"`);
  return v;
};

export async function optimizeCommand(model: string, opts: OptimizeCliOptions, io: CliIO): Promise<void> {
  if (opts.calib === undefined) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected calibration data for --calib (a folder or glob of images, .npy or .bin) but received nothing');
  const nCal = parsePositiveInt('--samples', opts.samples);
  const nEval = parsePositiveInt('--eval', opts.eval);
  const runs = parsePositiveInt('--runs', opts.runs);
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  const sparsities = opts.sparsities.split(',').map((s) => num('--sparsities', s, (v) => v > 0 && v < 1, 'numbers in (0, 1), comma-separated'));
  const budgetMs = opts.budgetMs === undefined ? undefined : num('--budget-ms', opts.budgetMs, (v) => v > 0, 'a positive number of milliseconds');
  const maxDrop = opts.maxDrop === undefined ? undefined : num('--max-drop', opts.maxDrop, (v) => v >= 0, 'a number >= 0');
  if (opts.plot) await checkWritable('--plot', opts.plot);
  if (opts.package) await checkWritable('--package', opts.package);
  const bytes = await readUserFile(model, 'model');
  const ir = readTflite(bytes);
  const all = await imageSamples(ir, opts.calib, { mean: opts.mean, std: opts.std, limit: nCal + nEval, json: opts.json }, io);
  if (all.length < 2) throw new ReefError('REEF_CALIBRATION_INVALID', `calibration data ${opts.calib}: ${all.length} sample(s); reef optimize needs at least 2 (some to calibrate, some to measure)`);
  const evalCount = Math.min(nEval, Math.max(1, all.length - nCal, Math.floor(all.length / 4)));
  const labels = opts.labelsCsv ? await readLabelCsv(opts.labelsCsv, opts.labelColumn) : null;
  const held = all.slice(all.length - evalCount).map((s) => {
    const label = labels?.get(basename(s.file));
    return label === undefined ? { inputs: s.sample } : { inputs: s.sample, label };
  });
  const calibration = all.slice(0, all.length - evalCount).map((s) => s.sample);
  const r = await optimizeTflite(bytes, calibration, held, {
    sparsities, budgetMs, maxDrop, latencyRuns: runs, threads, source: model,
    onProgress: (done, total, v) => { if (!opts.json) io.err(`variant ${done}/${total}: ${v}\n`); },
  });
  const files: Array<[string, Uint8Array | string]> = [];
  if (opts.plot) files.push([opts.plot, optimizePlotSvg(r, model)]);
  if (opts.outDir) {
    await mkdir(opts.outDir, { recursive: true });
    for (const v of r.variants) files.push([join(opts.outDir, `${v.name.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '')}.tflite`), v.bytes]);
  }
  // --package: the recommended variant's pruning as a bundle, its float and int8 forms (cpu-float, cpu-int8).
  let packaged: { file: string; from: string; variants: string[] } | null = null;
  if (opts.package) {
    if (!r.recommended) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `--package: ${r.why}, so there is nothing to package; loosen --budget-ms or --max-drop`);
    }
    const base = r.recommended.split(', ')[0]!;
    const pick = (dtype: 'float' | 'int8') => r.variants.find((v) => v.name === `${base}, ${dtype}`);
    const variants = [['cpu-int8', pick('int8')], ['cpu-float', pick('float')]] as const;
    const stem = basename(model).replace(/\.tflite$/i, '');
    const { bytes: bundle } = buildBundle({
      name: stem, producer: 'reef optimize',
      variants: variants.filter(([, v]) => v).map(([name, v]) => ({ name, data: v!.bytes, source: `${stem} (${v!.name})` })),
    });
    files.push([opts.package, bundle]);
    packaged = { file: opts.package, from: base, variants: variants.filter(([, v]) => v).map(([name, v]) => `${name}: ${v!.name}`) };
  }
  if (files.length) await writeAtomic(files);
  if (opts.json) {
    io.out(JSON.stringify({ ...r, variants: r.variants.map(({ bytes: _b, ...v }) => v), ...(packaged ? { package: packaged } : {}) }) + '\n');
  } else {
    io.out(formatOptimize(r, model));
    if (packaged) io.out(`packaged into ${packaged.file}: ${packaged.variants.join(', ')}\n`);
  }
}

export function registerOptimize(program: Command, io: CliIO): void {
  program
    .command('optimize')
    .description('build float, int8 and pruned variants of a float model, measure each here, show the Pareto front and recommend one')
    .argument('<model>', 'a float32 .tflite model')
    .option('--calib <dir|glob>', 'samples (images, .npy, .bin): the first ones calibrate, the last --eval measure')
    .option('--samples <n>', 'calibration samples at most', '100')
    .option('--eval <n>', 'samples held back to measure each variant', '50')
    .option('--mean <v>', 'subtracted from 0..255 pixels (one value or r,g,b); default: model metadata, else 127.5')
    .option('--std <v>', 'divides after the mean; default: model metadata, else 127.5')
    .option('--labels-csv <csv>', 'CSV with a header, a "file" column and a class column: quality is then top-1 accuracy')
    .option('--label-column <name>', 'the class column of --labels-csv')
    .option('--sparsities <list>', 'sparsities of the pruned variants', '0.25,0.5,0.75')
    .option('--budget-ms <ms>', 'recommend only variants at most this slow here')
    .option('--max-drop <x>', 'recommend only variants losing at most this many accuracy points (default 1); without labels, dB below 20 dB SQNR (default 0)')
    .option('--runs <n>', 'invokes timed per variant', '100')
    .option('--plot <file.svg>', 'write quality against latency as SVG (marker area: gzip size)')
    .option('--out-dir <dir>', 'write every variant there')
    .option('--package <file.reef>', 'bundle the recommended variant (its int8 and float forms, cpu-int8 and cpu-float) for reef deploy / serve')
    .option('--threads <n>', 'CPU threads for the sample runs')
    .option('--json', 'print JSON')
    .action(async (model: string, opts: OptimizeCliOptions) => optimizeCommand(model, opts, io));
}
