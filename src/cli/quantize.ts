/**
 * `reef quantize <model> --calib <dir|glob> -o <out.tflite>`: post-training full-integer int8
 * quantization with calibration, a report (printed; --report JSON; --plot SVG).
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ReefError } from '../errors.js';
import { DEFAULT_NORMALIZATION, type Normalization } from '../image/preprocess.js';
import { readTflite } from '../model/tflite/reader.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { readTfliteMetadata } from '../model/tflite/metadata.js';
import { listCalibrationFiles, loadMultiInputSamples, loadSamples } from '../quantize/data.js';
import { quantizeTflite } from '../quantize/pipeline.js';
import type { Sample } from '../quantize/calibrate.js';
import { sqnrPlotSvg } from '../quantize/plot.js';
import { formatReport, reportJson } from '../quantize/report.js';
import { RANGE_METHODS, type RangeMethod } from '../quantize/ranges.js';
import { IO_TYPES, type IoType } from '../quantize/quantize.js';
import { checkOutputs, parseNumberList, parsePositiveInt, writeAtomic, type CliIO } from './io.js';
import { readUserFile } from '../files.js';
import { convertOnnxFile } from '../convert/index.js';

export interface QuantizeCliOptions {
  /** One source, or NAME=SOURCE per input of a multi-input model (repeatable). */
  calib?: string[];
  frames?: string;
  output?: string;
  method: string;
  percentile?: string;
  io?: string;
  report?: string;
  plot?: string;
  samples: string;
  eval: string;
  mean?: string;
  std?: string;
  labels?: string;
  labelColumn?: string;
  allowFloat?: boolean;
  keepFloat?: string[];
  acceptLowSqnr?: boolean;
  biasCorrection: boolean;
  equalize: boolean;
  threads?: string;
  json?: boolean;
}

/** Writes `data` to `path` through a temporary file and a rename: never a partial file. */

/** Reads a CSV with a header (file,label,...): basename of `file` -> class index from `column`. */
export async function readLabelCsv(path: string, column?: string): Promise<Map<string, number>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read labels ${path}: no such file`);
  }
  const rows = text.trim().split(/\r?\n/).map((l) => l.split(',').map((c) => c.trim().replace(/^"|"$/g, '')));
  const header = rows[0] ?? [];
  const fileCol = header.indexOf('file');
  const want = column ?? (header.includes('label') ? 'label' : header[1]);
  const col = want === undefined ? -1 : header.indexOf(want);
  if (fileCol < 0 || col < 0) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected a CSV with a header naming a "file" column and ${column ? `a "${column}"` : 'a label'} column for --labels but received header "${header.join(',')}"`);
  }
  const out = new Map<string, number>();
  for (const r of rows.slice(1)) {
    const v = Number(r[col]);
    if (r[fileCol] && Number.isInteger(v)) out.set(basename(r[fileCol]!), v);
  }
  return out;
}

function progress(io: CliIO, json: boolean | undefined): (stage: string, done: number, total: number) => void {
  let last = '';
  return (stage, done, total) => {
    if (json) return;
    const step = Math.max(1, Math.floor(total / 10));
    if (done !== total && done % step !== 0) return;
    const line = `${stage} ${done}/${total}`;
    if (line === last) return;
    last = line;
    io.err(`${line}\n`);
  };
}

/**
 * Samples for a model from a folder or glob (images pre-processed with --mean/--std, else the
 * model's metadata, else 127.5/127.5; .npy/.bin as they are), `limit` at most, with a line saying
 * where the normalisation came from and progress on stderr.
 */
export async function imageSamples(ir: TfliteModel, calib: string | string[], opts: { mean?: string; std?: string; limit: number; json?: boolean; frames?: number },
  io: CliIO): Promise<Array<{ file: string; sample: Sample }>> {
  const userMean = opts.mean === undefined ? undefined : parseNumberList('--mean', opts.mean);
  const userStd = opts.std === undefined ? undefined : parseNumberList('--std', opts.std);
  if ([userStd ?? []].flat().some((s) => s === 0)) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a non-zero --std but received 0');
  const sg = ir.subgraphs[0]!;
  const md = readTfliteMetadata(ir);
  const norm: Normalization = {
    mean: userMean ?? md.mean ?? DEFAULT_NORMALIZATION.mean,
    std: userStd ?? md.std ?? DEFAULT_NORMALIZATION.std,
  };
  const from = (u: unknown, m: unknown): string => (u !== undefined ? 'option' : m !== undefined ? 'model metadata' : 'default');
  const inputs = sg.inputs.map((i) => ({ name: sg.tensors[i]!.name, shape: sg.tensors[i]!.shape }));
  const normLine = `normalisation mean ${String(norm.mean)} (${from(userMean, md.mean)}), std ${String(norm.std)} (${from(userStd, md.std)})`;
  const tick = progress(io, opts.json);
  const specs = [calib].flat();
  const named = specs.map((spec) => /^([^=/\\]+)=(.+)$/.exec(spec));
  if (specs.length > 1 || (named[0] && inputs.some((i) => i.name === named[0]![1]))) {
    // Per-input sources: --calib NAME=DATA for each input.
    const bad = specs.findIndex((_, k) => !named[k]);
    if (bad >= 0) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected NAME=DATA for each --calib of a model calibrated per input but received "${specs[bad]}"`);
    const map = new Map<string, string>();
    for (const m of named) {
      if (map.has(m![1]!)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one --calib per input but received two for "${m![1]}"`);
      map.set(m![1]!, m![2]!);
    }
    const total = opts.limit * inputs.length;
    const { samples, counts } = await loadMultiInputSamples(map, inputs, norm, opts.limit, (n) => tick('loading', n, total), { frames: opts.frames });
    if (!opts.json) {
      io.err(`calibration data per input: ${Object.entries(counts).map(([n, c]) => `${n} ${c} sample(s) from ${map.get(n)}`).join(', ')}; ${samples.length} used; ${normLine}\n`);
    }
    return samples;
  }
  const files = await listCalibrationFiles(specs[0]!);
  if (!opts.json) io.err(`calibration data: ${files.length} file(s) in ${specs[0]}; ${normLine}\n`);
  return loadSamples(files, inputs, norm, opts.limit, (n) => tick('loading', n, opts.limit), { frames: opts.frames });
}

export async function quantizeCommand(model: string, opts: QuantizeCliOptions, io: CliIO): Promise<void> {
  if (!opts.output) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected an output path for -o/--output but received nothing');
  if (!RANGE_METHODS.includes(opts.method as RangeMethod)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one of ${RANGE_METHODS.join(', ')} for --method but received "${opts.method}"`);
  }
  if (opts.io !== undefined && !IO_TYPES.includes(opts.io as IoType)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one of ${IO_TYPES.join(', ')} for --io but received "${opts.io}"`);
  }
  const percentile = opts.percentile === undefined ? undefined : Number(opts.percentile);
  if (percentile !== undefined && !(percentile > 50 && percentile <= 100)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a number in (50, 100] for --percentile but received "${opts.percentile}"`);
  }
  const nCal = parsePositiveInt('--samples', opts.samples);
  const nEval = opts.eval === '0' ? 0 : parsePositiveInt('--eval', opts.eval);
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  // Every output path is checked before minutes of calibration, not after.
  await checkOutputs([['-o/--output', opts.output], ['--report', opts.report], ['--plot', opts.plot]], [['the model', model]]);

  let bytes = await readUserFile(model, 'model');
  if (model.toLowerCase().endsWith('.onnx')) {
    // An ONNX model is converted (and checked against onnxruntime) first, then quantized.
    const converted = await convertOnnxFile(model);
    if (!opts.json) io.err(`converted ${model} to TFLite (${converted.report.transposes.total} TRANSPOSE ops; check vs onnxruntime: ${converted.check!.outputs.map((o) => `${o.name} max|diff| ${o.maxAbs.toExponential(1)}`).join(', ')})\n`);
    bytes = converted.bytes;
  }
  const ir = readTflite(bytes);
  const sg = ir.subgraphs[0]!;
  const legacy = sg.inputs.some((i) => sg.tensors[i]!.dtype === 'uint8');
  let calibration: Array<{ file: string; sample: Sample }> = [];
  let held: Array<{ file: string; sample: Sample }> = [];
  if (opts.calib === undefined) {
    if (!legacy) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected calibration data for --calib (a folder or glob of images, .npy or .bin) but received nothing');
  } else {
    const frames = opts.frames === undefined ? undefined : parsePositiveInt('--frames', opts.frames);
    const all = await imageSamples(ir, opts.calib, { mean: opts.mean, std: opts.std, limit: nCal + nEval, json: opts.json, frames }, io);
    // Hold samples back for the report only when some remain for calibration.
    const evalCount = all.length > nCal ? Math.min(nEval, all.length - nCal) : all.length > 1 ? Math.min(nEval, Math.floor(all.length / 4)) : 0;
    // Held samples are spread evenly over the data (sorted folders are often grouped by class or value).
    const stride = evalCount > 0 ? all.length / evalCount : 0;
    const heldIdx = new Set(Array.from({ length: evalCount }, (_, k) => Math.floor(k * stride + stride / 2)));
    held = all.filter((_, k) => heldIdx.has(k));
    calibration = all.filter((_, k) => !heldIdx.has(k)).slice(0, nCal);
  }
  const labels = opts.labels ? await readLabelCsv(opts.labels, opts.labelColumn) : null;
  const tick = progress(io, opts.json);
  const result = await quantizeTflite(bytes, {
    calibration: calibration.map((s) => s.sample),
    evaluation: held.map((s) => {
      const label = labels?.get(basename(s.file));
      return label === undefined ? { inputs: s.sample } : { inputs: s.sample, label };
    }),
  }, {
    method: opts.method as RangeMethod, percentile, io: opts.io as IoType | undefined, allowFloat: opts.allowFloat,
    keepFloat: (opts.keepFloat ?? []).flatMap((l) => l.split(',')).map((l) => l.trim()).filter((l) => l !== ''),
    acceptLowSqnr: opts.acceptLowSqnr,
    biasCorrection: opts.biasCorrection, equalize: opts.equalize, threads, source: model,
    onProgress: (stage, done, total) => tick(stage, done, total),
  });
  const outputs: Array<[string, Uint8Array | string]> = [[opts.output, result.bytes]];
  if (opts.report) outputs.push([opts.report, reportJson(result.report)]);
  if (opts.plot) outputs.push([opts.plot, sqnrPlotSvg(result.report)]);
  await writeAtomic(outputs);
  const check = result.report.sqnrCheck;
  if (check?.message && !opts.json) io.err(`reef: warning: ${check.message}\n`);
  if (opts.json) {
    io.out(JSON.stringify({ output: opts.output, report: result.report }) + '\n');
  } else {
    io.out(formatReport(result.report));
    io.out(`wrote ${opts.output}${opts.report ? `, ${opts.report}` : ''}${opts.plot ? `, ${opts.plot}` : ''}\n`);
  }
}

export function registerQuantize(program: Command, io: CliIO): void {
  program
    .command('quantize')
    .description('post-training full-integer int8 quantization with calibration (float32, float16-weight or legacy uint8 TFLite in)')
    .argument('<model>', 'a float32 .tflite model (or a legacy uint8 one to re-quantize), or a float .onnx model (converted first)')
    .option('--calib <data>', 'calibration data: a folder or glob of images, .npy or .bin (float32) tensors, or a video file (frames through ffmpeg); NAME=DATA once per input for a model with several inputs', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--frames <n>', 'frames to take from a calibration video, spread evenly over it (default: --samples + --eval)')
    .option('-o, --output <file>', 'where to write the int8 .tflite')
    .option('--method <m>', `activation range method: ${RANGE_METHODS.join(', ')} (auto: per tensor the least-error range, checked against each single method)`, 'auto')
    .option('--percentile <p>', 'percentile kept on each side for --method percentile (default 99.99)')
    .option('--io <type>', `input/output type: ${IO_TYPES.join(', ')} (default int8; uint8 for legacy uint8 models)`)
    .option('--report <file.json>', 'write the report as JSON')
    .option('--plot <file.svg>', 'write an SVG plot of per-layer SQNR')
    .option('--samples <n>', 'calibration samples to use at most', '200')
    .option('--eval <n>', 'further samples held back for the report (0: none)', '50')
    .option('--mean <v>', 'subtracted from 0..255 pixels (one value or r,g,b); default: model metadata, else 127.5')
    .option('--std <v>', 'divides after the mean (one value or r,g,b); default: model metadata, else 127.5')
    .option('--labels <csv>', 'CSV with a header, a "file" column and a class column, for accuracy in the report')
    .option('--label-column <name>', 'the class column of --labels (default "label", else the second column)')
    .option('--allow-float', 'keep ops without int8 kernels in float between DEQUANTIZE/QUANTIZE (not Edge TPU friendly)')
    .option('--keep-float <layers...>', 'operators to keep in float: indices or output tensor names (comma or space separated; the report lists both)')
    .option('--accept-low-sqnr', 'write the model even when an output\'s SQNR against float is below 10 dB')
    .option('--no-bias-correction', 'skip the empirical bias correction (and the pointwise weight refit) after the rewrite')
    .option('--no-equalize', 'do not rescale the channels between a convolution and the depthwise convolution it feeds')
    .option('--threads <n>', 'CPU threads for calibration runs')
    .option('--json', 'print JSON')
    .action(async (model: string, opts: QuantizeCliOptions) => quantizeCommand(model, opts, io));
}
