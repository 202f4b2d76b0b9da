/**
 * `reef run <model> <image...>`: classify images and print the top-k classes.
 */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { load } from '../runtime/session.js';
import { imageToInput, DEFAULT_NORMALIZATION, type Normalization } from '../image/preprocess.js';
import { dequantize } from '../quant.js';
import { topK } from '../postprocess/classify.js';
import { readLabels } from '../labels.js';
import { readFile } from 'node:fs/promises';
import { readTfliteMetadata, type TfliteMetadataSummary } from '../model/tflite/metadata.js';
import { ReefError } from '../errors.js';
import { parseNumberList, parsePositiveInt, type CliIO } from './io.js';

export interface RunCliOptions {
  labels?: string;
  topK: string;
  mean?: string;
  std?: string;
  threads?: string;
  xnnpack: boolean;
  library?: string;
  device?: string;
  json?: boolean;
  verbose?: boolean;
  /** For .reef bundles: force a variant. */
  variant?: string;
}

export interface ClassifyResult {
  image: string;
  top: Array<{ index: number; label: string | null; score: number }>;
}

export async function runCommand(model: string, images: string[], opts: RunCliOptions, io: CliIO): Promise<void> {
  const k = parsePositiveInt('--top-k', opts.topK);
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  const userMean = opts.mean === undefined ? undefined : parseNumberList('--mean', opts.mean);
  const userStd = opts.std === undefined ? undefined : parseNumberList('--std', opts.std);
  if ([userStd ?? []].flat().some((s) => s === 0)) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a non-zero --std but received 0');
  // A .reef bundle: load() chooses the variant; its manifest supplies pre-processing and labels.
  const session = await load(model, { threads, xnnpack: opts.xnnpack, library: opts.library, device: opts.device, variant: opts.variant });
  const bundle = session.bundle;
  try {
    // The model's own metadata fills in what the user did not say.
    const md: TfliteMetadataSummary | null = bundle
      ? {
        entries: [], inputs: [], outputs: [], associatedFiles: [],
        mean: [bundle.manifest.preprocess.mean].flat(), std: [bundle.manifest.preprocess.std].flat(),
        ...(bundle.labels ? { labels: bundle.labels, labelsFile: bundle.manifest.labels } : {}),
      }
      : opts.labels && userMean !== undefined && userStd !== undefined ? null : readTfliteMetadata(await readFile(model));
    const norm: Normalization = {
      mean: userMean ?? md?.mean ?? DEFAULT_NORMALIZATION.mean,
      std: userStd ?? md?.std ?? DEFAULT_NORMALIZATION.std,
    };
    const labels = opts.labels ? await readLabels(opts.labels) : md?.labels ?? null;
    const variant = session.variant;
    if (variant && opts.verbose && !opts.json) {
      io.err(`variant ${variant.variant} (${variant.file}): ${variant.reason}\n`);
      for (const s of variant.skipped) io.err(`  skipped ${s.variant}: ${s.reason}\n`);
    }

    const input = session.inputs[0];
    const output = session.outputs[0];
    if (opts.verbose && !opts.json) {
      io.err(`model ${model}: ${input.dtype}[${input.shape.join(',')}] -> ${output.dtype}[${output.shape.join(',')}]; ` +
        `${session.xnnpack ? 'XNNPACK' : 'built-in kernels'}, ${session.threads} thread(s); TFLite ${session.library.version} from ${session.library.path}\n`);
      const where = bundle ? 'bundle manifest' : 'model metadata';
      const from = (user: unknown, meta: unknown) => (user !== undefined ? 'option' : meta !== undefined ? where : 'default');
      io.err(`normalisation: mean ${String(norm.mean)} (${from(userMean, md?.mean)}), std ${String(norm.std)} (${from(userStd, md?.std)}); ` +
        `labels: ${opts.labels ? opts.labels : md?.labels ? `${md.labelsFile ?? where} (${where})` : 'none'}\n`);
    }
    const results: ClassifyResult[] = [];
    for (const image of images) {
      const feed = await imageToInput(image, input, norm);
      const out = await session.run([feed]);
      const raw = out[output.name].data as ArrayLike<number>;
      const scores = output.quantization.scale !== 0 ? dequantize(raw, output.quantization) : raw;
      results.push({
        image,
        top: topK(scores, k).map((c) => ({ index: c.index, label: labels ? labels[c.index] ?? null : null, score: c.score })),
      });
    }
    if (opts.json) {
      io.out(JSON.stringify({ model, ...(variant ? { variant: { name: variant.variant, reason: variant.reason } } : {}), results }) + '\n');
    } else {
      for (const r of results) {
        io.out(`${basename(r.image)}\n`);
        r.top.forEach((c, i) => {
          io.out(`  ${String(i + 1).padStart(2)}  ${c.score.toFixed(4)}  ${c.label ?? `class ${c.index}`}${c.label ? ` (${c.index})` : ''}\n`);
        });
      }
    }
  } finally {
    await session.dispose();
  }
}

export function registerRun(program: Command, io: CliIO): void {
  program
    .command('run')
    .description('classify images with a model and print the top-k classes')
    .argument('<model>', 'a .tflite model or a .reef bundle')
    .argument('<images...>', 'image files (JPEG, PNG, WebP, ...)')
    .option('--labels <file>', 'label file, one label per line (line = class index)')
    .option('-k, --top-k <n>', 'how many classes to print', '5')
    .option('--mean <v>', 'subtracted from 0..255 pixels for float inputs (one value or r,g,b)', undefined)
    .option('--std <v>', 'divides after the mean (one value or r,g,b); default 127.5', undefined)
    .option('--threads <n>', 'CPU threads (default: the device profile\'s)')
    .option('--no-xnnpack', 'use TFLite\'s built-in kernels instead of XNNPACK')
    .option('--library <path>', 'libtensorflowlite_c to load')
    .option('--device <id>', 'device profile to use instead of the detected one')
    .option('--json', 'print JSON')
    .option('--variant <name>', 'for a .reef bundle: run this variant (edgetpu, cpu-int8, cpu-float)')
    .option('-v, --verbose', 'say which model, runtime and settings are used')
    .action(async (model: string, images: string[], opts: RunCliOptions) => runCommand(model, images, opts, io));
}
