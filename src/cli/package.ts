/**
 * `reef package`: one `.reef` file holding the model variants, labels, pre/post-processing and
 * reports, so one file runs on any board. Argument parsing and printing only (src/package).
 */
import type { Command } from 'commander';
import { basename, join } from 'node:path';
import { ReefError } from '../errors.js';
import { reefVersion } from '../paths.js';
import { buildBundle, readInputFile, type VariantInput } from '../package/writer.js';
import { sha256 } from '../runtime/bundle.js';
import type { ColorOrder, Preprocess, ResizeMode, Task } from '../bundle/manifest.js';
import { checkOutputs, parseNumberList, parsePositiveInt, writeAtomic, type CliIO } from './io.js';
import { isOnnxPath, OnnxConversions } from '../package/onnx.js';
import { readTflite } from '../model/tflite/reader.js';
import { imageSamples } from './quantize.js';

export interface PackageCliOptions {
  output: string;
  name?: string;
  edgetpu?: string;
  cpuInt8?: string;
  cpuFloat?: string;
  onnx?: string;
  labels?: string;
  task?: string;
  topK?: string;
  scoreThreshold?: string;
  maxDetections?: string;
  mean?: string;
  std?: string;
  color?: string;
  resize?: string;
  quantReport?: string;
  calib?: string;
  samples: string;
  json?: boolean;
}

function choice<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one of ${allowed.join(', ')} for ${name} but received "${value}"`);
  return value as T;
}

function parseThreshold(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a number in [0, 1] for --score-threshold but received "${text}"`);
  return n;
}

function producer(): string {
  try {
    return `reef ${reefVersion()}`;
  } catch {
    return 'reef';
  }
}

/** `reef package`. */
export async function packageCommand(opts: PackageCliOptions, io: CliIO): Promise<void> {
  await checkOutputs([['-o/--output', opts.output]], [
    ['--edgetpu', opts.edgetpu], ['--cpu-int8', opts.cpuInt8], ['--cpu-float', opts.cpuFloat], ['--onnx', opts.onnx], ['--labels', opts.labels],
  ]);
  const variants: VariantInput[] = [];
  const onnx = new OnnxConversions();
  let onnxQuantReport: unknown;
  const add = async (name: VariantInput['name'], path: string | undefined): Promise<void> => {
    if (path === undefined) return;
    if (name === 'cpu-float' && isOnnxPath(path)) {
      // An ONNX model as the float variant: converted to TFLite (and checked against onnxruntime).
      const c = await onnx.float(path);
      if (!opts.json) io.err(`converted ${path} to TFLite for cpu-float (check vs onnxruntime: ${c.check!.outputs.map((o) => `${o.name} max|diff| ${o.maxAbs.toExponential(1)}`).join(', ')})\n`);
      variants.push({ name, source: `${path} (converted by reef)`, data: c.bytes });
    } else if (name === 'cpu-int8' && isOnnxPath(path)) {
      // An ONNX model as the int8 variant: converted, then quantized on --calib.
      if (opts.calib === undefined) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected calibration data (--calib) to quantize ${path} for --cpu-int8 but received nothing`);
      const c = await onnx.float(path);
      const calibration = await imageSamples(readTflite(c.bytes), opts.calib, { mean: opts.mean, std: opts.std, limit: parsePositiveInt('--samples', opts.samples), json: opts.json }, io);
      const q = await onnx.int8(path, calibration.map((x) => x.sample), { acceptLowSqnr: false });
      if (!opts.json) io.err(`quantized ${path} for cpu-int8 on ${calibration.length} samples: output SQNR ${q.report.outputs.map((o) => `${o.name} ${o.sqnrDb?.toFixed(1)} dB`).join(', ')}\n`);
      onnxQuantReport = q.report;
      variants.push({ name, source: `${path} (converted and quantized by reef)`, data: q.bytes });
    } else {
      variants.push({ name, source: path, data: await readInputFile(path, `the ${name} model`) });
    }
  };
  await add('edgetpu', opts.edgetpu);
  await add('cpu-int8', opts.cpuInt8);
  await add('cpu-float', opts.cpuFloat);
  await add('onnx', opts.onnx);
  const labels = opts.labels !== undefined ? { source: opts.labels, data: await readInputFile(opts.labels, 'labels') } : undefined;
  const taskName = choice('--task', opts.task ?? (labels ? 'classification' : 'raw'), ['classification', 'detection', 'raw'] as const);
  let task: Task;
  if (taskName === 'classification') {
    task = { type: 'classification', topK: opts.topK === undefined ? 5 : parsePositiveInt('--top-k', opts.topK),
      ...(opts.scoreThreshold !== undefined ? { scoreThreshold: parseThreshold(opts.scoreThreshold) } : {}) };
  } else if (taskName === 'detection') {
    task = { type: 'detection', kind: 'ssd', scoreThreshold: opts.scoreThreshold === undefined ? 0.5 : parseThreshold(opts.scoreThreshold),
      maxDetections: opts.maxDetections === undefined ? 25 : parsePositiveInt('--max-detections', opts.maxDetections) };
  } else task = { type: 'raw' };
  const pre: Partial<Preprocess> = {};
  if (opts.mean !== undefined) pre.mean = parseNumberList('--mean', opts.mean);
  if (opts.std !== undefined) pre.std = parseNumberList('--std', opts.std);
  if ([pre.std ?? 1].flat().some((s) => s === 0)) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a non-zero --std but received 0');
  if (opts.color !== undefined) pre.colorOrder = choice<ColorOrder>('--color', opts.color, ['rgb', 'bgr']);
  if (opts.resize !== undefined) pre.resize = choice<ResizeMode>('--resize', opts.resize, ['squash', 'crop', 'letterbox']);
  let quantizationReport: unknown;
  if (opts.quantReport !== undefined) {
    const text = new TextDecoder().decode(await readInputFile(opts.quantReport, 'quantization report'));
    try {
      quantizationReport = JSON.parse(text);
    } catch (e) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a JSON quantization report for --quant-report but received ${opts.quantReport} (${(e as Error).message})`);
    }
  }
  if (quantizationReport === undefined && onnxQuantReport !== undefined) quantizationReport = onnxQuantReport;
  const name = opts.name ?? basename(opts.output).replace(/\.reef$/, '');
  const { bytes, manifest } = buildBundle({ name, variants, task, preprocess: pre, producer: producer(),
    ...(labels ? { labels } : {}), ...(quantizationReport !== undefined ? { quantizationReport } : {}) });
  await writeAtomic([[opts.output, bytes]]);
  if (opts.json) {
    io.out(JSON.stringify({ bundle: opts.output, bytes: bytes.length, sha256: sha256(bytes), manifest }) + '\n');
    return;
  }
  io.out(`wrote ${opts.output} (${bytes.length} bytes, sha256 ${sha256(bytes)})\n`);
  for (const v of manifest.variants) {
    const p = v.provenance;
    const extra = v.name === 'edgetpu'
      ? ` compiler ${p.compilerVersion}, min runtime ${p.minRuntimeVersion}${p.compiledFrom ? `, compiled from ${p.compiledFrom}: ${p.tpuOps} TPU / ${p.cpuOps} CPU ops` : ''}`
      : '';
    io.out(`  ${v.name.padEnd(9)} ${v.file.padEnd(24)} ${v.inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(' ')} from ${p.source}${extra}\n`);
  }
  const pp = manifest.preprocess;
  io.out(`  task ${manifest.task.type}; input ${pp.width}x${pp.height}x${pp.channels} ${pp.colorOrder}, mean ${JSON.stringify(pp.mean)}, std ${JSON.stringify(pp.std)}, resize ${pp.resize}` +
    `${manifest.labels ? `; labels ${basename(labels!.source)}` : ''}\n`);
}

/** Registers `reef package`. */
export function registerPackage(program: Command, io: CliIO): void {
  program
    .command('package')
    .description('bundle model variants, labels and pre/post-processing into one .reef file')
    .requiredOption('-o, --output <file>', 'the .reef file to write')
    .option('--name <name>', 'bundle name (default: the output file name)')
    .option('--edgetpu <file>', 'the model compiled by edgetpu_compiler (X_edgetpu.tflite)')
    .option('--cpu-int8 <file>', 'the full-integer model (the compiler\'s input); a float .onnx is converted and quantized on --calib')
    .option('--cpu-float <file>', 'the float model; a .onnx is converted to TFLite (and checked against onnxruntime)')
    .option('--calib <data>', 'calibration data to quantize a .onnx given as --cpu-int8 (folder, glob, video; as reef quantize)')
    .option('--samples <n>', 'calibration samples at most for --calib', '200')
    .option('--onnx <file>', 'an ONNX model')
    .option('--labels <file>', 'label file, one label per line')
    .option('--task <task>', 'classification | detection | raw (default: classification with labels, else raw)')
    .option('-k, --top-k <n>', 'classification: classes to report (default 5)')
    .option('--score-threshold <x>', 'classification/detection: minimum score (detection default 0.5)')
    .option('--max-detections <n>', 'detection: at most n boxes (default 25)')
    .option('--mean <v>', 'subtracted from 0..255 pixels for float inputs (one value or r,g,b; default 127.5)')
    .option('--std <v>', 'divides after the mean (one value or r,g,b; default 127.5)')
    .option('--color <order>', 'rgb | bgr (default rgb)')
    .option('--resize <mode>', 'squash | crop | letterbox (default squash)')
    .option('--quant-report <file>', 'the quantizer\'s JSON report to include')
    .option('--json', 'print JSON: {bundle, bytes, sha256, manifest}')
    .action(async (opts: PackageCliOptions) => packageCommand(opts, io));
}

