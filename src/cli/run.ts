/**
 * `reef run <model> [inputs...]`: classify images, or feed raw tensors and print every output.
 * Parsing and printing only; the work is in src/tasks/run.ts.
 */
import type { Command } from 'commander';
import { basename, join } from 'node:path';
import { mkdir, stat } from 'node:fs/promises';
import { load, type Outputs, type Session } from '../runtime/session.js';
import { DEFAULT_NORMALIZATION, type Layout, type Normalization } from '../image/preprocess.js';
import { readLabels } from '../labels.js';
import { readUserFile } from '../files.js';
import { readTfliteMetadata } from '../model/tflite/metadata.js';
import { ReefError } from '../errors.js';
import { writeNpy } from '../tensor/npy.js';
import { formatValues } from '../tensor/values.js';
import {
  imageStem, isTensorFile, rawFeeds, runImage, safeTensorFileName, tensorRecords,
  type RawInputSpec,
} from '../tasks/run.js';
import { decodePhoto, visionRunner } from '../tasks/vision.js';
import { writeAnnotated, writeMaskPng } from '../tasks/annotate.js';
import { addVisionOptions, parseVisionOptions, resultJson, resultTable, visionOptions, type VisionCliOptions } from './vision.js';
import { parsePositiveInt, writeAtomic, checkWritable, type CliIO } from './io.js';
import {
  addNormalizationOptions, addRuntimeOptions, loadOptions, parseNormalization, reportSession, type RuntimeCliOptions,
} from './options.js';

export interface RunCliOptions extends RuntimeCliOptions, VisionCliOptions {
  labels?: string;
  topK: string;
  mean?: string;
  std?: string;
  layout?: string;
  input?: string[];
  random?: string | boolean;
  raw?: boolean;
  save?: string;
  saveMask?: string;
  annotate?: string;
  json?: boolean;
  verbose?: boolean;
}


/** Makes `dir` (a folder for `flag`) if needed and checks reef can write there. */
async function outputFolder(flag: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch(() => undefined);
  if (!(await stat(dir).then((st) => st.isDirectory(), () => false))) {
    throw new ReefError('REEF_OUTPUT_UNWRITABLE', `Expected a folder for ${flag} but received "${dir}" (it is not a folder and cannot be made one)`);
  }
  await checkWritable(flag, join(dir, 'probe.png'));
}

function parseLayout(text: string | undefined): Layout | undefined {
  if (text === undefined) return undefined;
  if (text !== 'nhwc' && text !== 'nchw') throw new ReefError('REEF_INVALID_ARGUMENT', `Expected nhwc or nchw for --layout but received "${text}"`);
  return text;
}

function parseNamedInputs(list: string[] | undefined): Array<[string, string]> | undefined {
  if (!list?.length) return undefined;
  return list.map((s) => {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected NAME=FILE for --input but received "${s}"`);
    return [s.slice(0, eq), s.slice(eq + 1)];
  });
}

/** Pre-processing the user did not give, from the bundle manifest or the model's metadata; and where each came from. */
async function normalization(session: Session, model: string, opts: RunCliOptions): Promise<{ norm: Normalization; labels: string[] | null; said: string }> {
  const user = parseNormalization(opts);
  const b = session.bundle;
  const md: { mean?: number[]; std?: number[]; labels?: string[]; labelsFile?: string } = b
    ? { mean: [b.manifest.preprocess.mean].flat(), std: [b.manifest.preprocess.std].flat(), labels: b.labels ?? undefined, labelsFile: b.manifest.labels }
    : opts.labels && user.mean !== undefined && user.std !== undefined ? {} : readTfliteMetadata(await readUserFile(model, 'model'));
  const where = b ? 'bundle manifest' : 'model metadata';
  const from = (u: unknown, m: unknown): string => (u !== undefined ? 'option' : m !== undefined ? where : 'default');
  const norm = { mean: user.mean ?? md.mean ?? DEFAULT_NORMALIZATION.mean, std: user.std ?? md.std ?? DEFAULT_NORMALIZATION.std };
  const said = `normalisation: mean ${String(norm.mean)} (${from(user.mean, md.mean)}), std ${String(norm.std)} (${from(user.std, md.std)}); ` +
    `labels: ${opts.labels ? opts.labels : md.labels ? `${md.labelsFile ?? where} (${where})` : 'none'}`;
  return { norm, labels: opts.labels ? await readLabels(opts.labels) : md.labels ?? null, said };
}

function printRaw(io: CliIO, out: Outputs, session: Session, title?: string): void {
  if (title !== undefined) io.out(`${title}\n`);
  for (const o of session.outputs) {
    const t = out[o.name]!;
    io.out(`  ${o.name}  ${t.dtype}[${t.shape.join(',')}]  ${formatValues(t.dtype, t.data)}\n`);
  }
}

/** One file-name prefix per image: its stem, or more of its name where stems repeat; never two alike. */
function imagePrefixes(images: string[]): string[] {
  const stems = images.map(imageStem);
  const names = images.map((p, i) => (stems.filter((s) => s === stems[i]).length > 1 ? basename(p) : stems[i]!));
  return names.map((n, i) => `${names.filter((m) => m === n).length > 1 ? `${i + 1}_` : ''}${n}.`);
}

async function saveOutputs(dir: string, prefix: string, out: Outputs, session: Session): Promise<string[]> {
  const base = session.outputs.map((o, i) => safeTensorFileName(o.name, i));
  // Names that sanitise alike ("a/b", "a:b") get their output index, so no output overwrites another.
  const names = base.map((b, i) => (base.filter((x) => x === b).length > 1 ? `${b}_${i}` : b));
  const files: Array<[string, Uint8Array]> = session.outputs.map((o, i) => [join(dir, `${prefix}${names[i]}.npy`), writeNpy(out[o.name]!)]);
  await writeAtomic(files);
  return files.map(([f]) => f);
}

const TASK_SOURCE = { option: '--task', bundle: 'bundle manifest', metadata: 'model metadata', outputs: 'from the output shapes' } as const;

export async function runCommand(model: string, inputs: string[], opts: RunCliOptions, io: CliIO): Promise<void> {
  const k = parsePositiveInt('--top-k', opts.topK);
  const layout = parseLayout(opts.layout);
  const named = parseNamedInputs(opts.input);
  const randomSeed = opts.random === undefined || opts.random === false ? undefined : opts.random === true ? 1
    : /^\d{1,10}$/.test(opts.random) && Number(opts.random) <= 0xffffffff ? Number(opts.random) : NaN;
  if (randomSeed !== undefined && !Number.isInteger(randomSeed)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a seed from 0 to 4294967295 for --random but received "${String(opts.random)}"`);
  }
  const tensorFiles = inputs.filter(isTensorFile);
  if (tensorFiles.length > 0 && tensorFiles.length !== inputs.length) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected either images or .npy/.bin tensor files but received both: ${inputs.join(' ')}`);
  }
  const sources = [named !== undefined, randomSeed !== undefined, tensorFiles.length > 0].filter(Boolean).length;
  if (sources > 1) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected one source of input tensors (--input NAME=FILE, .npy/.bin files in input order, or --random) but received ${sources}`);
  }
  const rawMode = sources === 1;
  if (rawMode && tensorFiles.length === 0 && inputs.length > 0) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected no images with --input or --random but received ${inputs.join(' ')}`);
  }
  if (!rawMode && inputs.length === 0) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected images, .npy/.bin tensor files, --input NAME=FILE or --random but received none');
  }
  const vision = parseVisionOptions(opts);
  const sSave = opts.save;
  if (rawMode || opts.raw || sSave !== undefined) {
    const given = [['--task', opts.task], ['--annotate', opts.annotate], ['--save-mask', opts.saveMask]].filter(([, v]) => v !== undefined).map(([f]) => f);
    if (given.length) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected ${given.join(' and ')} with images run for a task, but received ${rawMode ? 'raw tensors' : opts.raw ? '--raw' : '--save'}, which print every output as it is`);
    }
  }
  for (const [flag, dir] of [['--save', sSave], ['--annotate', opts.annotate], ['--save-mask', opts.saveMask]] as const) {
    if (dir !== undefined) await outputFolder(flag, dir);
  }

  const session = await load(model, loadOptions(opts, io));
  try {
    reportSession(session, io, opts.verbose === true && !opts.json);
    const variant = session.variant ? { variant: { name: session.variant.variant, reason: session.variant.reason } } : {};
    const delegate = { delegate: session.delegate };
    if (rawMode) {
      const spec: RawInputSpec = named ? { named } : randomSeed !== undefined ? { randomSeed } : { positional: tensorFiles };
      const out = await session.run(await rawFeeds(session, spec));
      const saved = sSave !== undefined ? await saveOutputs(sSave, '', out, session) : [];
      if (opts.json) io.out(JSON.stringify({ model, ...variant, ...delegate, outputs: tensorRecords(session, out), ...(saved.length ? { saved } : {}) }) + '\n');
      else {
        printRaw(io, out, session);
        for (const f of saved) io.out(`saved ${f}\n`);
      }
      return;
    }
    const { norm, labels, said } = await normalization(session, model, opts);
    if (opts.verbose && !opts.json) io.err(`${said}\n`);
    if (opts.raw || sSave !== undefined) {
      const results = [];
      const prefixes = imagePrefixes(inputs);
      for (const [k, image] of inputs.entries()) {
        const out = await runImage(session, image, { norm, layout });
        const saved = sSave !== undefined ? await saveOutputs(sSave, prefixes[k]!, out, session) : [];
        results.push({ image, out, saved });
      }
      if (opts.json) {
        io.out(JSON.stringify({
          model, ...variant, ...delegate,
          results: results.map((r) => ({ image: r.image, outputs: tensorRecords(session, r.out), ...(r.saved.length ? { saved: r.saved } : {}) })),
        }) + '\n');
      } else {
        for (const r of results) {
          printRaw(io, r.out, session, basename(r.image));
          for (const f of r.saved) io.out(`saved ${f}\n`);
        }
      }
      return;
    }
    const runner = await visionRunner(session, model, { ...visionOptions(vision, labels), labels, norm, layout, topK: k });
    if (opts.verbose && !opts.json) io.err(`task ${runner.task} (${TASK_SOURCE[runner.taskSource]})\n`);
    if (opts.saveMask !== undefined && runner.task !== 'segment') {
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected --save-mask with a segmentation model but received it for the task ${runner.task} (${TASK_SOURCE[runner.taskSource]})`);
    }
    const prefixes = imagePrefixes(inputs);
    const results: Array<Record<string, unknown>> = [];
    for (const [i, image] of inputs.entries()) {
      const photo = await decodePhoto(image, runner.inputSize.channels);
      const { result } = await runner.runPixels(photo.pixels, photo.width, photo.height);
      const files: Record<string, string> = {};
      if (opts.saveMask !== undefined && result.task === 'segment') {
        files.mask_png = join(opts.saveMask, `${prefixes[i]}mask.png`);
        await writeMaskPng(result.mask, files.mask_png);
      }
      if (opts.annotate !== undefined) {
        files.annotated = join(opts.annotate, `${prefixes[i]}png`);
        await writeAnnotated({ ...photo, channels: runner.inputSize.channels }, result, files.annotated);
      }
      if (opts.json) {
        results.push({ image, task: result.task, width: photo.width, height: photo.height, ...resultJson(result), ...files });
      } else {
        const what = result.task === 'detect' ? `${result.detections.length} detection${result.detections.length === 1 ? '' : 's'}` : '';
        io.out(result.task === 'classify' ? `${basename(image)}\n` : `${basename(image)}  ${photo.width}x${photo.height}  ${result.task}${what ? `: ${what}` : ''}\n`);
        io.out(resultTable(result));
        for (const f of Object.values(files)) io.out(`  wrote ${f}\n`);
      }
    }
    if (opts.json) io.out(JSON.stringify({ model, ...variant, ...delegate, task: runner.task, task_source: runner.taskSource, results }) + '\n');
  } finally {
    await session.dispose();
  }
}

export function registerRun(program: Command, io: CliIO): void {
  const cmd = program
    .command('run')
    .description('run images through a model for its task (classify, detect, segment, embed), or feed raw tensors (.npy/.bin/--random) and print every output')
    .argument('<model>', 'a .tflite model or a .reef bundle')
    .argument('[inputs...]', 'image files (JPEG, PNG, WebP, ...), or .npy/.bin tensors in input order')
    .option('--input <name=file...>', 'a raw tensor for the named input (.npy of its dtype, or .bin of its exact bytes); repeat per input')
    .option('--random [seed]', 'feed seeded random data to every input')
    .option('--raw', 'print every output tensor instead of classifying')
    .option('--save <dir>', 'write every output as a .npy file into this folder')
    .option('--labels <file>', 'label file, one label per line (line = class index)')
    .option('-k, --top-k <n>', 'classify: how many classes to print', '5')
    .option('--annotate <dir>', 'write each image with its boxes, labels or mask drawn (PNG) into this folder')
    .option('--save-mask <dir>', 'segment: write each mask as a PNG of class indices into this folder')
    .option('--layout <nhwc|nchw>', 'image input layout when the shape does not tell (default: from the shape)');
  addVisionOptions(cmd, { scoreThreshold: '0.5' });
  addNormalizationOptions(cmd);
  addRuntimeOptions(cmd);
  cmd
    .option('--json', 'print JSON')
    .option('-v, --verbose', 'say which variant, delegate and settings are used, and what TFLite logged')
    .action(async (model: string, inputs: string[], opts: RunCliOptions) => runCommand(model, inputs, opts, io));
}
