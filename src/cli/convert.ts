/**
 * `reef convert model.onnx -o model.tflite`: float ONNX -> float TFLite (NHWC), checked against
 * onnxruntime on random inputs; prints the report (ops, transposes, agreement per output).
 */
import type { Command } from 'commander';
import { ReefError } from '../errors.js';
import { convertOnnxFile, type ConvertFileResult } from '../convert/index.js';
import { checkWritable, parseNumberList, parsePositiveInt, writeAtomic, type CliIO } from './io.js';
import { DEFAULT_NORMALIZATION } from '../image/preprocess.js';

export interface ConvertCliOptions {
  output?: string;
  inputShape: string[];
  keepNchwIo?: boolean;
  check: boolean;
  samples?: string;
  checkImages?: string;
  mean?: string;
  std?: string;
  report?: string;
  json?: boolean;
}

/** Parses repeated `--input-shape name=1,3,240,320`. */
export function parseInputShapes(specs: string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of specs) {
    const m = /^(.+)=(\d+(?:,\d+)*)$/.exec(s.trim());
    if (!m || m[2]!.split(',').some((d) => Number(d) < 1)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected NAME=D1,D2,... (positive integers) for --input-shape but received "${s}"`);
    out[m[1]!] = m[2]!.split(',').map(Number);
  }
  return out;
}

function formatResult(model: string, out: string, r: ConvertFileResult): string {
  const lines = [`${model} -> ${out}`];
  const rep = r.report;
  lines.push(`  opset ${rep.opset}, ${rep.onnxNodes} ONNX nodes -> ${Object.values(rep.ops).reduce((a, b) => a + b, 0)} TFLite ops (${rep.folded} folded, ${rep.batchNormsFolded} BatchNormalization folded, ${rep.activationsFused} activations fused${rep.biasAddsFused ? `, ${rep.biasAddsFused} MatMul+Add fused into FULLY_CONNECTED` : ''}${rep.padsFolded ? `, ${rep.padsFolded} PAD folded into convolutions` : ''}${rep.pointwiseComposed ? `, ${rep.pointwiseComposed} 1x1 convolutions merged` : ''})`);
  lines.push(`  ops: ${Object.entries(rep.ops).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`  transposes: ${rep.transposes.total} (${rep.transposes.edge} at the edges)${rep.transposes.inner ? `; inside, needed by: ${rep.transposes.at.filter((t) => !t.edge).map((t) => t.node).join(', ')}` : ''}`);
  for (const io of rep.inputs) lines.push(`  input  ${io.name}: onnx [${io.onnxShape}] -> tflite [${io.tfliteShape}]`);
  for (const io of rep.outputs) lines.push(`  output ${io.name}: onnx [${io.onnxShape}] -> tflite [${io.tfliteShape}]`);
  if (r.check) {
    lines.push(`  check vs onnxruntime (${r.check.samples} ${r.check.images ? `images from ${r.check.images}` : 'random inputs'}):`);
    for (const o of r.check.outputs) lines.push(`    ${o.name}: max|diff| ${o.maxAbs.toExponential(2)} (bound ${o.bound.toExponential(2)}), mean|diff| ${o.meanAbs.toExponential(2)}, cosine ${o.cosine.toFixed(6)}  ${o.ok ? 'ok' : 'MISMATCH'}`);
  } else lines.push('  check skipped (--no-check)');
  lines.push(`  ${r.timings.convertMs.toFixed(0)} ms to convert, ${r.timings.checkMs.toFixed(0)} ms to check`);
  return lines.join('\n') + '\n';
}

export async function convertCommand(model: string, opts: ConvertCliOptions, io: CliIO): Promise<ConvertFileResult> {
  if (!opts.output) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected an output path for -o/--output but received nothing');
  const samples = opts.samples === undefined ? undefined : parsePositiveInt('--samples', opts.samples);
  const norm = {
    mean: opts.mean === undefined ? DEFAULT_NORMALIZATION.mean : parseNumberList('--mean', opts.mean),
    std: opts.std === undefined ? DEFAULT_NORMALIZATION.std : parseNumberList('--std', opts.std),
  };
  if ((opts.mean !== undefined || opts.std !== undefined) && opts.checkImages === undefined) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --check-images with --mean/--std (they normalise its images) but received no --check-images');
  }
  const inputShapes = parseInputShapes(opts.inputShape);
  await checkWritable('-o/--output', opts.output);
  if (opts.report) await checkWritable('--report', opts.report);
  if (!opts.json) io.err(`converting ${model}${opts.check ? ' (then checking against onnxruntime)' : ''}\n`);
  const r = await convertOnnxFile(model, { inputShapes, keepNchwIo: opts.keepNchwIo, check: opts.check, samples,
    ...(opts.checkImages !== undefined ? { checkImages: { source: opts.checkImages, norm } } : {}) });
  const json = JSON.stringify({ model, output: opts.output, report: r.report, check: r.check ?? null, timings: r.timings });
  await writeAtomic([[opts.output, r.bytes], ...(opts.report ? [[opts.report, json + '\n'] as [string, string]] : [])]);
  io.out(opts.json ? json + '\n' : formatResult(model, opts.output, r));
  return r;
}

export function registerConvert(program: Command, io: CliIO): void {
  program
    .command('convert')
    .description('convert a float ONNX model to a float TFLite model (NHWC), checked against onnxruntime')
    .argument('<model>', 'a float .onnx model (opsets 7-18)')
    .option('-o, --output <file>', 'where to write the .tflite')
    .option('--input-shape <name=dims>', 'fix an input\'s dynamic dimensions (ONNX layout), e.g. input=1,3,240,320; repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--keep-nchw-io', 'keep 4-D inputs and outputs in NCHW (one TRANSPOSE at each edge)')
    .option('--no-check', 'do not compare with onnxruntime (not recommended)')
    .option('--samples <n>', 'inputs for the check: random ones (default 3), or images at most with --check-images (default 8)')
    .option('--check-images <dir|glob>', 'check on these images (decoded to the input size, (pixel - mean) / std) instead of random inputs')
    .option('--mean <v>', 'with --check-images: subtracted from 0..255 pixels (one value or r,g,b; default 127.5)')
    .option('--std <v>', 'with --check-images: divides after the mean (default 127.5)')
    .option('--report <file.json>', 'write the report as JSON')
    .option('--json', 'print JSON')
    .action(async (model: string, opts: ConvertCliOptions) => { await convertCommand(model, opts, io); });
}
