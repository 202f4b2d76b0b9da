/**
 * The vision application: one photo (a file or raw RGB pixels) through a model for a task
 * (classify, detect, segment, embed), with results in the photo's own pixels. Used by `reef run`,
 * `reef eval` and `reef camera`.
 */
import sharp from 'sharp';
import { access, readFile } from 'node:fs/promises';
import type { Outputs, Session } from '../runtime/session.js';
import type { TensorInfo, TypedArray } from '../types.js';
import { ReefError } from '../errors.js';
import { dequantize } from '../quant.js';
import { topK } from './classify.js';
import { checkNormalization, inputFeed, pixelsToInput, imageGeometry, DEFAULT_NORMALIZATION, type Layout, type Normalization } from '../image/preprocess.js';
import { FRAME_SPEC_LENGTH } from '../native.js';
import { readTfliteMetadata, type TfliteMetadataSummary } from '../model/tflite/metadata.js';
import { load, type LoadOptions } from '../runtime/session.js';
import { readLabels } from '../labels.js';
import { placement, resizePixels, boxToPhoto, pointToPhoto, type Box, type Placement, type ResizeFilter, type ResizeMode } from './resize.js';
import { decodeSsdPostprocess, ssdPostprocessRoles } from './detect/ssd.js';
import { decodeAnchorBoxes, ssdAnchors, BLAZEFACE_FRONT_ANCHORS, BLAZEFACE_FRONT_DECODE, type Anchor } from './detect/anchors.js';
import { decodeGrid, gridLayout, type GridLayout } from './detect/grid.js';
import { weightedNms } from './detect/nms.js';
import { applyDetectOptions, type Detection, type DetectOptions, type OutputView } from './detect/types.js';
import { classAreas, isMaskShape, maskFromOutput, maskToPhoto, type ClassArea, type Mask } from './segment.js';
import { l2Normalize } from './embed.js';

export type Task = 'classify' | 'detect' | 'segment' | 'embed';
export const TASKS: readonly Task[] = ['classify', 'detect', 'segment', 'embed'];

/** How a detector's outputs are read. */
export type DetectDecoder = 'ssd-postprocess' | 'anchors-blazeface' | 'grid';

/** Where a runner's task came from. */
export type TaskSource = 'option' | 'bundle' | 'metadata' | 'outputs';

export interface VisionOptions {
  /** Forces the task; otherwise `declaredTask`, else it comes from the outputs. */
  task?: Task;
  /** The task the model's bundle manifest or TFLite metadata declares (see taskFromMetadata). */
  declaredTask?: { task: Task; from: 'bundle' | 'metadata' };
  /** Image input layout when the shape does not tell ([1,3,H,3]); default from the shape. */
  layout?: Layout;
  /** Classify and detect: keep only these class indices / drop these. */
  allow?: ReadonlySet<number>;
  deny?: ReadonlySet<number>;
  resize?: ResizeMode;
  filter?: ResizeFilter;
  /** Pixel value for letterbox padding (default 0). */
  pad?: number;
  /** Feed channels in BGR order (models trained with OpenCV, e.g. FastestDet). */
  bgr?: boolean;
  norm?: Normalization;
  labels?: string[] | null;
  /** Detection: threshold (default 0.5), max results, class filters, NMS IoU (grid 0.45, BlazeFace 0.3). */
  detect?: DetectOptions & { iouThreshold?: number };
  /** Classification: how many classes (default 5). */
  topK?: number;
  /**
   * Pre-process natively on the runner thread, from the raw pixels straight into the input tensor
   * (default: whenever the session can, `session.nativeFrames`; false: in TypeScript on the JS thread).
   * Both give the same bytes.
   */
  nativePreprocess?: boolean;
}

export interface PhotoDetection {
  index: number;
  label: string | null;
  score: number;
  /** In the photo's pixels. */
  box: Box;
  keypoints?: Array<{ x: number; y: number }>;
}

export type VisionResult =
  | { task: 'classify'; top: Array<{ index: number; label: string | null; score: number }> }
  | { task: 'detect'; detections: PhotoDetection[] }
  /** mask: in the photo's pixels; modelMask: as the model gave it (its output's resolution, over the model input). */
  | { task: 'segment'; mask: Mask; classes: ClassArea[]; modelMask: Mask }
  | { task: 'embed'; embedding: Float32Array };

/** Per-photo timing, milliseconds. */
export interface VisionTimings {
  /** Pre-processing on the JS thread (with native pre-processing: only building its spec). */
  pre: number;
  /** From the hand-over to the runner thread to the result back on the JS thread, less the invoke: copies, thread wake-ups, and the native pre-processing when it runs. */
  handoff: number;
  /** TFLite's invoke alone. */
  invoke: number;
  /** Reading the outputs (dequantize, decode, NMS, mapping to the photo). */
  post: number;
  /** Whether pre-processing ran natively on the runner thread. */
  native: boolean;
}

function shapeText(outputs: readonly TensorInfo[]): string {
  return outputs.map((o) => `${o.name} ${o.dtype}[${o.shape.join(',')}]`).join(', ');
}

/**
 * The task and decoder the outputs say: four TFLite_Detection_PostProcess outputs -> detect;
 * BlazeFace heads ([1,896,16] + [1,896,1]) -> detect; a grid head [1,5+C,H,W] -> detect;
 * one [1,H,W] / [1,H,W,C] map -> segment; one vector -> classify.
 */
export function inferTask(outputs: readonly TensorInfo[], classes?: number): { task: Task; decoder?: DetectDecoder } {
  const shapes = outputs.map((o) => o.shape);
  if (ssdPostprocessRoles(shapes)) return { task: 'detect', decoder: 'ssd-postprocess' };
  if (blazefaceOutputs(outputs)) return { task: 'detect', decoder: 'anchors-blazeface' };
  if (outputs.length === 1) {
    const s = shapes[0];
    if (gridLayout(s, classes ?? 80)) return { task: 'detect', decoder: 'grid' };
    if (isMaskShape(s) && (s.length === 3 || s[3] > 1)) return { task: 'segment' };
    const n = s.reduce((a, b) => a * b, 1);
    if (s.length >= 1 && n === s[s.length - 1] && n >= 2) return { task: 'classify' };
  }
  throw new ReefError('REEF_TASK_UNSUPPORTED',
    `reef cannot tell which vision task the outputs ${shapeText(outputs)} are for (no task in the model's metadata, and none of the ` +
    'layouts reef reads); pass --task classify|detect|segment|embed if you know it, or --raw to print the outputs as they are');
}

/**
 * The task a model's TFLite metadata declares, the way tflite-support's metadata writers mark it:
 * the model name (ImageClassifier, ObjectDetector, ImageSegmenter, ImageEmbedder), or the outputs'
 * content (a BoundingBoxProperties output -> detect; an ImageProperties output -> segment; one
 * FeatureProperties output with a label file -> classify). Undefined when the metadata says nothing.
 */
export function taskFromMetadata(md: TfliteMetadataSummary | null): Task | undefined {
  const raw = md?.raw;
  if (!raw) return undefined;
  const byName: Record<string, Task> = { ImageClassifier: 'classify', ObjectDetector: 'detect', ImageSegmenter: 'segment', ImageEmbedder: 'embed' };
  if (raw.name !== undefined && byName[raw.name]) return byName[raw.name];
  const outs = raw.subgraphMetadata?.[0]?.outputTensorMetadata ?? [];
  const kinds = outs.map((t) => t.content?.contentProperties?.type);
  if (kinds.includes('BoundingBoxProperties')) return 'detect';
  if (outs.length === 1 && kinds[0] === 'ImageProperties') return 'segment';
  if (outs.length === 1 && kinds[0] === 'FeatureProperties' && (outs[0].associatedFiles ?? []).some((f) => f.type === 2 || f.type === 3)) return 'classify';
  return undefined;
}

/** What a task needs of the outputs, in words (for REEF_TASK_MISMATCH). */
const TASK_NEEDS: Record<Task, string> = {
  classify: 'one scores vector ([N] or [1,N], N >= 2)',
  detect: 'one of the detector layouts reef reads (TFLite_Detection_PostProcess: boxes [1,N,4], classes [1,N], scores [1,N], count [1]; ' +
    'BlazeFace [1,896,16]+[1,896,1]; a grid head [1,5+C,H,W])',
  segment: 'one [1,H,W] class map or [1,H,W,C] scores map (H, W >= 8)',
  embed: 'one feature vector',
};

/**
 * Checks that the outputs fit `task` (asked for by --task, declared by the model, or needed by a
 * command); the decoder for detect.
 * @throws ReefError REEF_TASK_MISMATCH naming the task, where it came from, what it needs, the outputs
 * and, when reef can tell, the task the outputs do fit.
 */
export function checkTask(task: Task, outputs: readonly TensorInfo[], why: string, classes?: number): { decoder?: DetectDecoder } {
  let fits: boolean;
  let decoder: DetectDecoder | undefined;
  let inferred: { task: Task; decoder?: DetectDecoder } | null = null;
  try { inferred = inferTask(outputs, classes); } catch { inferred = null; }
  switch (task) {
    case 'detect':
      decoder = inferred?.task === 'detect' ? inferred.decoder : undefined;
      fits = decoder !== undefined;
      break;
    case 'segment':
      fits = outputs.length === 1 && isMaskShape(outputs[0].shape);
      break;
    case 'classify':
    case 'embed': {
      const s = outputs.length === 1 ? outputs[0].shape : [];
      const n = s.reduce((a, b) => a * b, 1);
      fits = s.length >= 1 && n >= 2 && n === s[s.length - 1];
      break;
    }
  }
  if (!fits) {
    const other = inferred && inferred.task !== task ? `; they fit ${inferred.task} (run without --task, or with --task ${inferred.task})` : '';
    throw new ReefError('REEF_TASK_MISMATCH', `${why}, which needs ${TASK_NEEDS[task]}, but the model's outputs are ${shapeText(outputs)}${other}`);
  }
  return { decoder };
}

function blazefaceOutputs(outputs: readonly TensorInfo[]): { boxes: number; scores: number } | null {
  if (outputs.length !== 2) return null;
  const i = outputs.findIndex((o) => o.shape.length === 3 && o.shape[1] === 896 && o.shape[2] === 16);
  const j = outputs.findIndex((o) => o.shape.length === 3 && o.shape[1] === 896 && o.shape[2] === 1);
  return i >= 0 && j >= 0 ? { boxes: i, scores: j } : null;
}

/** The values of an output as numbers: dequantized when quantized, int64 as numbers. */
export function outputValues(t: { data: TypedArray | BigInt64Array | BigUint64Array }, info: TensorInfo): ArrayLike<number> {
  const d = t.data as unknown;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    const out = new Float64Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
    return out;
  }
  const values = d as ArrayLike<number>;
  return info.quantization.scale !== 0 ? dequantize(values, info.quantization) : values;
}

/** Decodes an image file to interleaved RGB (or gray) pixels at its own size. */
export async function decodePhoto(path: string, channels: 1 | 3 = 3): Promise<{ pixels: Uint8Array; width: number; height: number }> {
  try {
    await access(path);
  } catch {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read image ${path}: no such file`);
  }
  try {
    let img = sharp(await readFile(path), { failOn: 'error' }).removeAlpha();
    img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (e) {
    throw new ReefError('REEF_IMAGE_INVALID', `cannot decode image ${path}: ${(e as Error).message}`);
  }
}

/** Labels and normalisation from the model's TFLite metadata (null when the file has none or is not TFLite). */
export async function modelMetadata(path: string): Promise<TfliteMetadataSummary | null> {
  if (!path.endsWith('.tflite')) return null;
  try {
    return readTfliteMetadata(await readFile(path));
  } catch {
    return null;
  }
}

/** Runs photos through one session for one task. */
export class VisionRunner {
  readonly task: Task;
  /** Where the task came from: --task, the bundle manifest, the model's metadata, or the output shapes. */
  readonly taskSource: TaskSource;
  readonly decoder?: DetectDecoder;
  readonly input: TensorInfo;
  readonly labels: string[] | null;
  readonly layout: Layout;
  /** Whether pre-processing runs natively (see VisionOptions.nativePreprocess). */
  readonly nativePreprocess: boolean;
  private readonly opts: VisionOptions;
  private anchors: Anchor[] | null = null;
  private grid: GridLayout | null = null;

  constructor(readonly session: Session, opts: VisionOptions = {}) {
    this.opts = opts;
    this.labels = opts.labels ?? null;
    if (session.inputs.length !== 1) {
      throw new ReefError('REEF_INPUT_NAME_MISMATCH',
        `${session.source} has ${session.inputs.length} inputs (${shapeText(session.inputs)}); images feed single-input models. ` +
        'Give raw tensors instead: --input NAME=FILE.npy for each input, or --random');
    }
    this.input = session.inputs[0];
    this.layout = imageGeometry(this.input, opts.layout).layout;
    // int8 without quantization parameters cannot be fed: the TypeScript path says so.
    const nativeDtype = this.input.dtype === 'float32' || this.input.dtype === 'uint8' || (this.input.dtype === 'int8' && this.input.quantization.scale !== 0);
    this.nativePreprocess = (opts.nativePreprocess ?? true) && session.nativeFrames && nativeDtype;
    const classes = this.labels?.length;
    if (opts.task !== undefined) {
      this.task = opts.task;
      this.taskSource = 'option';
      this.decoder = checkTask(opts.task, session.outputs, `--task ${opts.task} was asked for`, classes).decoder;
    } else if (opts.declaredTask) {
      const { task, from } = opts.declaredTask;
      this.task = task;
      this.taskSource = from;
      this.decoder = checkTask(task, session.outputs, `the model's ${from === 'bundle' ? 'bundle manifest' : 'metadata'} says it is for ${task}`, classes).decoder;
    } else {
      const inferred = inferTask(session.outputs, classes);
      this.task = inferred.task;
      this.taskSource = 'outputs';
      this.decoder = inferred.decoder;
    }
  }

  /** The normalisation and the resize mode and filter photos get. */
  get preprocessing(): { norm: Normalization; resize: ResizeMode; filter: ResizeFilter; bgr: boolean } {
    return { norm: this.opts.norm ?? DEFAULT_NORMALIZATION, resize: this.opts.resize ?? 'squash', filter: this.opts.filter ?? 'bilinear', bgr: this.opts.bgr === true };
  }

  /** The detection filters results get (threshold, max results, class lists), JSON-ready. */
  get detectFilters(): { scoreThreshold: number; maxResults: number | null; allow: number[] | null; deny: number[] | null } {
    const opts = this.opts.detect ?? {};
    const allow = opts.allow ?? this.opts.allow;
    const deny = opts.deny ?? this.opts.deny;
    return { scoreThreshold: opts.scoreThreshold ?? 0.5, maxResults: opts.maxResults ?? null, allow: allow ? [...allow] : null, deny: deny ? [...deny] : null };
  }

  get inputSize(): { width: number; height: number; channels: 1 | 3 } {
    const g = imageGeometry(this.input, this.layout);
    return { height: g.height, width: g.width, channels: g.channels as 1 | 3 };
  }

  /** Runs one image file. */
  async runFile(path: string): Promise<{ result: VisionResult; placement: Placement; timings: VisionTimings }> {
    const photo = await decodePhoto(path, this.inputSize.channels);
    return this.runPixels(photo.pixels, photo.width, photo.height);
  }

  /** Runs one photo given as interleaved pixels (the input's channel count). */
  async runPixels(pixels: Uint8Array, width: number, height: number): Promise<{ result: VisionResult; placement: Placement; timings: VisionTimings }> {
    const t0 = performance.now();
    const { width: iw, height: ih, channels } = this.inputSize;
    const p = placement(width, height, iw, ih, this.opts.resize ?? 'squash');
    const norm = this.opts.norm ?? DEFAULT_NORMALIZATION;
    let run: Promise<{ outputs: Outputs; invokeMs: number }>;
    if (this.nativePreprocess) {
      if (pixels.length !== width * height * channels) {
        throw new ReefError('REEF_INVALID_ARGUMENT', `Expected ${width * height * channels} bytes (${width}x${height}x${channels}) for the pixels but received ${pixels.length}`);
      }
      checkNormalization(norm, channels);
      run = this.session.runTimed([], { frame: { rgb: pixels, spec: this.frameSpec(p, norm, width, height) } });
    } else {
      const resized = resizePixels(pixels, channels, p, this.opts.filter ?? 'bilinear', this.opts.pad ?? 0);
      if (this.opts.bgr && channels === 3) {
        for (let i = 0; i < resized.length; i += 3) { const r = resized[i]; resized[i] = resized[i + 2]; resized[i + 2] = r; }
      }
      run = this.session.runTimed([pixelsToInput(resized, this.input, norm, this.layout)]);
    }
    const t1 = performance.now();
    const { outputs: out, invokeMs } = await run;
    const t2 = performance.now();
    const views: OutputView[] = this.session.outputs.map((info) => {
      const t = out[info.name];
      return { name: info.name, shape: t.shape ?? info.shape, data: outputValues(t, info) };
    });
    const result = this.decode(views, p);
    return { result, placement: p, timings: { pre: t1 - t0, handoff: Math.max(0, t2 - t1 - invokeMs), invoke: invokeMs, post: performance.now() - t2, native: this.nativePreprocess } };
  }

  /** The native pre-processing spec of a frame (native/preprocess.h; src/native.ts NativeFrame). */
  private frameSpec(p: Placement, norm: Normalization, width: number, height: number): Float64Array {
    const { width: iw, height: ih, channels } = this.inputSize;
    const feed = inputFeed(this.input, norm);
    const dtype = { float32: 0, uint8: 1, int8: 2 }[this.input.dtype as 'float32' | 'uint8' | 'int8'];
    const at = (v: number | number[], c: number) => (Array.isArray(v) ? v[c % v.length] : v);
    const spec = new Float64Array(FRAME_SPEC_LENGTH);
    spec.set([
      width, height, channels, p.src.x, p.src.y, p.src.width, p.src.height, p.dst.x, p.dst.y, p.dst.width, p.dst.height,
      iw, ih, channels, (this.opts.filter ?? 'bilinear') === 'nearest' ? 1 : 0, this.opts.pad ?? 0, this.opts.bgr && channels === 3 ? 1 : 0,
      this.layout === 'nchw' ? 1 : 0, dtype, { float: 0, raw: 1, quantized: 2 }[feed],
      at(norm.mean, 0), at(norm.mean, 1), at(norm.mean, 2), at(norm.std, 0), at(norm.std, 1), at(norm.std, 2),
      this.input.quantization.scale, this.input.quantization.zeroPoint,
    ]);
    return spec;
  }

  private label(i: number): string | null {
    return this.labels?.[i] ?? null;
  }

  private decode(views: OutputView[], p: Placement): VisionResult {
    switch (this.task) {
      case 'classify': {
        let v = views[0].data;
        const { allow, deny } = this.opts;
        if (allow || deny) {
          // Filtered classes never make the top k (the Task Library's allow/deny lists).
          const f = Float64Array.from(v);
          for (let i = 0; i < f.length; i++) if ((allow && !allow.has(i)) || deny?.has(i)) f[i] = -Infinity;
          v = f;
        }
        const top = topK(v, this.opts.topK ?? 5).filter((c) => c.score !== -Infinity);
        return { task: 'classify', top: top.map((c) => ({ index: c.index, label: this.label(c.index), score: c.score })) };
      }
      case 'embed':
        return { task: 'embed', embedding: l2Normalize(views[0].data) };
      case 'segment': {
        const modelMask = maskFromOutput(views[0].data, views[0].shape);
        const mask = maskToPhoto(modelMask, p);
        return { task: 'segment', mask, classes: classAreas(mask, this.labels), modelMask };
      }
      case 'detect': {
        const dets = this.detect(views);
        return {
          task: 'detect',
          detections: dets.map((d) => ({
            index: d.index, label: this.label(d.index), score: d.score, box: boxToPhoto(d.box, p),
            ...(d.keypoints ? { keypoints: d.keypoints.map((k) => pointToPhoto(k.x, k.y, p)) } : {}),
          })),
        };
      }
    }
  }

  private detect(views: OutputView[]): Detection[] {
    const opts = this.opts.detect ?? {};
    const filters: DetectOptions = { ...opts, allow: opts.allow ?? this.opts.allow, deny: opts.deny ?? this.opts.deny };
    switch (this.decoder) {
      case 'ssd-postprocess':
        return decodeSsdPostprocess(views, filters);
      case 'anchors-blazeface': {
        const roles = blazefaceOutputs(this.session.outputs) as { boxes: number; scores: number };
        const { width, height } = this.inputSize;
        this.anchors ??= ssdAnchors({ ...BLAZEFACE_FRONT_ANCHORS, inputWidth: width, inputHeight: height });
        const decode = { ...BLAZEFACE_FRONT_DECODE, xScale: width, yScale: height, wScale: width, hScale: height, minScoreThresh: opts.scoreThreshold ?? 0.5 };
        const raw = decodeAnchorBoxes(views[roles.boxes].data, views[roles.scores].data, this.anchors, decode);
        return applyDetectOptions(weightedNms(raw, opts.iouThreshold ?? 0.3), { ...filters, scoreThreshold: -Infinity });
      }
      case 'grid': {
        this.grid ??= gridLayout(views[0].shape, this.labels?.length ?? 80);
        if (!this.grid) throw new ReefError('REEF_TASK_MISMATCH', `the output [${views[0].shape.join(',')}] is not a grid head for ${this.labels?.length ?? 80} classes`);
        return decodeGrid(views[0].data, this.grid, filters);
      }
      default:
        throw new ReefError('REEF_TASK_MISMATCH', `no detector decoder for the outputs ${shapeText(this.session.outputs)}`);
    }
  }
}

export interface OpenVisionOptions extends VisionOptions {
  /** A label file; otherwise the bundle's or the model metadata's labels. */
  labelsFile?: string;
  /** Subtracted from 0..255 pixels; otherwise the bundle's or metadata's, else 127.5. */
  mean?: number | number[];
  std?: number | number[];
}

/**
 * A VisionRunner over an open session: labels, normalisation, resize mode, colour order and the
 * declared task from the options, else the bundle manifest, else the model's TFLite metadata, else
 * the defaults (and the task from the output shapes).
 */
export async function visionRunner(session: Session, model: string, opts: OpenVisionOptions = {}): Promise<VisionRunner> {
  const b = session.bundle;
  const md = b ? null : await modelMetadata(model);
  const labels = opts.labelsFile ? await readLabels(opts.labelsFile) : opts.labels ?? b?.labels ?? md?.labels ?? null;
  const pre = b?.manifest.preprocess;
  const norm: Normalization = {
    mean: opts.norm?.mean ?? opts.mean ?? (pre ? pre.mean : undefined) ?? md?.mean ?? DEFAULT_NORMALIZATION.mean,
    std: opts.norm?.std ?? opts.std ?? (pre ? pre.std : undefined) ?? md?.std ?? DEFAULT_NORMALIZATION.std,
  };
  const bundleResize: ResizeMode | undefined = pre ? (pre.resize === 'crop' ? 'center-crop' : pre.resize) : undefined;
  const bundleTask = b?.manifest.task.type;
  const declared = bundleTask === 'classification' ? 'classify' : bundleTask === 'detection' ? 'detect' : undefined;
  const mdTask = taskFromMetadata(md);
  const declaredTask = opts.declaredTask ?? (declared ? { task: declared, from: 'bundle' as const } : mdTask ? { task: mdTask, from: 'metadata' as const } : undefined);
  return new VisionRunner(session, {
    ...opts, labels, norm, declaredTask, resize: opts.resize ?? bundleResize, bgr: opts.bgr ?? (pre ? pre.colorOrder === 'bgr' : undefined),
  });
}

/** Loads a model (or .reef bundle) for vision: `load` + `visionRunner`. */
export async function openVision(model: string, loadOptions: LoadOptions, opts: OpenVisionOptions = {}): Promise<VisionRunner> {
  const session = await load(model, loadOptions);
  try {
    return await visionRunner(session, model, opts);
  } catch (e) {
    await session.dispose();
    throw e;
  }
}
