/**
 * A served model version: a Session, the names clients use for its tensors (the TFLite
 * signature's keys when it has one, else the tensor names), its labels, and the scheduler that
 * feeds it. infer() is protocol-neutral: named tensors in, named tensors out; a request with N
 * rows on a model whose batch dimension is 1 becomes N runs spread over the pool.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { ReefError } from '../errors.js';
import { load, type LoadOptions, type Outputs, type Session } from '../runtime/session.js';
import { dequantize } from '../quant.js';
import { inferTask } from '../tasks/vision.js';
import { ssdPostprocessRoles } from '../tasks/detect/ssd.js';
import { readTflite } from '../model/tflite/reader.js';
import { isOnnx } from '../model/onnx/reader.js';
import type { DType, Quantization, TypedArray } from '../types.js';
import { Scheduler, type RunGroup } from './scheduler.js';
import { checkTritonConfig, type TritonConfig } from './triton.js';
import { allocate, elementCount, shapeText, type WireTensor } from './tensor.js';

/** One input or output as clients see it. */
export interface IoSpec {
  /** The name clients use: the signature key, or the tensor name when the model has no signature. */
  name: string;
  /** The TFLite tensor name. */
  tensorName: string;
  /** Position in session.inputs / session.outputs. */
  index: number;
  dtype: DType;
  shape: number[];
  quantization: Quantization;
}

export interface ServedModelOptions {
  load: LoadOptions;
  maxQueue: number;
  labels?: string[] | null;
  /** Called for every run of this model dropped unrun because its deadline passed (for metrics). */
  onExpire?: (name: string, version: number) => void;
  /** A Triton config.pbtxt the model must match. */
  triton?: TritonConfig;
  /** Edge TPU events of the model's session (device lost, CPU variant in, device back, watchdog), for the log. */
  onDevice?: (name: string, version: number, event: string, detail: string) => void;
}

export interface InferOptions {
  /** performance.now() time after which waiting work is dropped (Infinity: none). */
  deadline: number;
  /** Names of the outputs wanted (all when absent). */
  outputs?: string[];
}

/** What one run predicted, for the prediction statistics: a class and its score. */
export interface Prediction {
  cls: string;
  score: number;
}

export interface InferResult {
  outputs: WireTensor[];
  /** Classifiers: the top-1 of every row; detectors (TFLite_Detection_PostProcess): every detection. */
  predictions: Prediction[];
  /** Summed over the request's runs. */
  invokeMs: number;
  queueMs: number;
  runs: number;
}

/** What runs a model, in Triton's platform words (KServe v2 metadata, config.pbtxt). */
export type Platform = 'tensorflow_lite' | 'onnxruntime_onnx' | 'reef_bundle';

/** The signature key TF Serving uses by default. */
export const DEFAULT_SIGNATURE = 'serving_default';

interface SignatureNames {
  key: string;
  inputs: Map<number, string>;
  outputs: Map<number, string>;
}

/** Reads the serving signature of a .tflite file: tensor position -> signature key. */
function readSignature(bytes: Uint8Array, session: Session): SignatureNames | null {
  try {
    const model = readTflite(bytes);
    const sig = model.signatureDefs.find((s) => s.signatureKey === DEFAULT_SIGNATURE) ?? model.signatureDefs[0];
    if (!sig || sig.subgraphIndex !== 0) return null;
    const sg = model.subgraphs[0];
    const toPos = (list: number[], maps: Array<{ name: string; tensorIndex: number }>): Map<number, string> | null => {
      const m = new Map<number, string>();
      for (const t of maps) {
        const pos = list.indexOf(t.tensorIndex);
        if (pos < 0) return null;
        m.set(pos, t.name);
      }
      return m.size === list.length ? m : null;
    };
    const inputs = toPos(sg.inputs, sig.inputs);
    const outputs = toPos(sg.outputs, sig.outputs);
    if (!inputs || !outputs || inputs.size !== session.inputs.length || outputs.size !== session.outputs.length) return null;
    return { key: sig.signatureKey ?? DEFAULT_SIGNATURE, inputs, outputs };
  } catch {
    return null; // load() already validated the bytes; a signature we cannot read means tensor names
  }
}

/** Classifiers (one score vector) and detectors whose outputs are TFLite_Detection_PostProcess's. */
function predictionKind(session: Session): 'classify' | 'detect' | null {
  try {
    const t = inferTask(session.outputs);
    if (t.task === 'classify' && session.outputs[0].dtype !== 'string') return 'classify';
    if (t.task === 'detect' && t.decoder === 'ssd-postprocess') return 'detect';
  } catch {
    // Not a vision layout reef reads: no prediction statistics.
  }
  return null;
}

export class ServedModel {
  readonly name: string;
  readonly version: number;
  readonly path: string;
  readonly session: Session;
  readonly scheduler: Scheduler;
  readonly inputs: readonly IoSpec[];
  readonly outputs: readonly IoSpec[];
  readonly signatureKey: string;
  readonly labels: string[] | null;
  readonly loadMs: number;
  readonly platform: Platform;
  /** What its outputs say it is (tasks/vision.ts inferTask): prediction statistics are kept for these. */
  readonly kind: 'classify' | 'detect' | null;
  /** Triton's max_batch_size from a config.pbtxt: rows a request may carry (0: one); null without a config. */
  readonly maxBatch: number | null;
  #retired = false;

  private constructor(init: {
    name: string; version: number; path: string; session: Session; maxQueue: number;
    sig: SignatureNames | null; labels: string[] | null; loadMs: number; onExpire?: ServedModelOptions['onExpire'];
    platform: Platform; maxBatch: number | null;
  }) {
    this.platform = init.platform;
    this.kind = predictionKind(init.session);
    this.maxBatch = init.maxBatch;
    this.name = init.name;
    this.version = init.version;
    this.path = init.path;
    this.session = init.session;
    const onExpire = init.onExpire;
    this.scheduler = new Scheduler(init.session, {
      maxQueue: init.maxQueue, ...(onExpire ? { onExpire: () => onExpire(init.name, init.version) } : {}),
    });
    const spec = (names: Map<number, string> | undefined) => (t: Session['inputs'][number], i: number): IoSpec => ({
      name: names?.get(i) ?? t.name, tensorName: t.name, index: i, dtype: t.dtype, shape: t.shape.slice(),
      quantization: t.quantization,
    });
    this.inputs = init.session.inputs.map(spec(init.sig?.inputs));
    this.outputs = init.session.outputs.map(spec(init.sig?.outputs));
    this.signatureKey = init.sig?.key ?? DEFAULT_SIGNATURE;
    this.labels = init.labels;
    this.loadMs = init.loadMs;
  }

  /** Loads a model file and warms every interpreter up with one run, so the first request pays nothing. */
  static async open(name: string, version: number, path: string, opts: ServedModelOptions): Promise<ServedModel> {
    const t0 = performance.now();
    const session = await load(path, opts.load);
    const tell = opts.onDevice;
    if (tell) {
      session.on('device-lost', (e) => tell(name, version, 'device-lost', `Edge TPU ${e.device} lost (${e.error.code}): ${e.error.message}`));
      session.on('fallback', (e) => tell(name, version, 'fallback', e.reason));
      session.on('device-restored', (e) => tell(name, version, 'device-restored', `Edge TPU ${e.device} is back; runs go to it again`));
      session.on('watchdog', (e) => tell(name, version, 'watchdog', `an invoke on ${e.device ?? 'the CPU'} made no progress for ${e.ms} ms and was abandoned`));
    }
    try {
      // load() read and checked these bytes already; the file is read again only for its format and signature.
      const bytes = session.bundle ? null : await readFile(path);
      const platform: Platform = !bytes ? 'reef_bundle' : isOnnx(bytes) ? 'onnxruntime_onnx' : 'tensorflow_lite';
      const sig = platform === 'tensorflow_lite' ? readSignature(bytes as Uint8Array, session) : null;
      const labels = opts.labels ?? session.bundle?.labels ?? opts.triton?.labels ?? null;
      const m = new ServedModel({
        name, version, path, session, maxQueue: opts.maxQueue, sig, labels, loadMs: 0, platform,
        maxBatch: opts.triton ? opts.triton.maxBatchSize : null, ...(opts.onExpire ? { onExpire: opts.onExpire } : {}),
      });
      if (opts.triton) checkTritonConfig(opts.triton, m);
      await m.#warmup();
      (m as { loadMs: number }).loadMs = performance.now() - t0;
      return m;
    } catch (e) {
      await session.dispose();
      throw e;
    }
  }

  /**
   * One run per interpreter, so the first request pays neither interpreter creation nor first-invoke
   * cost. An Edge TPU that fails it (a device that drops its first transfers) does not stop the
   * model: the session has dealt with that (its events are logged; a bundle's CPU variant takes
   * over, and is warmed up in turn); requests are answered by what runs now, or 503 until it is back.
   */
  async #warmup(): Promise<void> {
    const feeds = this.session.inputs.map((t) => allocate(t.dtype, elementCount(t.shape)));
    for (let attempt = 0; ; attempt++) {
      const results = await Promise.allSettled(Array.from({ length: this.session.poolSize }, () => this.session.run(feeds)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) return;
      const code = (failed.reason as { code?: string }).code;
      if (code !== 'REEF_EDGETPU_DEVICE_LOST' && code !== 'REEF_INVOKE_TIMEOUT') throw failed.reason;
      if (attempt === 1) return;
    }
  }

  get retired(): boolean {
    return this.#retired;
  }

  /** Names an input by its client name or its tensor name. */
  input(name: string): IoSpec | undefined {
    return this.inputs.find((t) => t.name === name) ?? this.inputs.find((t) => t.tensorName === name);
  }

  output(name: string): IoSpec | undefined {
    return this.outputs.find((t) => t.name === name) ?? this.outputs.find((t) => t.tensorName === name);
  }

  /**
   * How many runs a request shape needs for this input: 1 when it is the model's shape, N when
   * the model's batch dimension is 1 and the request has N rows of the rest. Throws naming the
   * expected and the received shape otherwise. Checked before any tensor is allocated.
   */
  rowsFor(spec: IoSpec, shape: readonly number[]): number {
    const want = spec.shape;
    const same = shape.length === want.length && shape.every((d, i) => d === want[i]);
    if (same) return 1;
    const batched = this.maxBatch === null || this.maxBatch > 1;
    const rows = batched && want.length > 0 && want[0] === 1 && shape.length === want.length && shape[0] >= 1 &&
      shape.every((d, i) => i === 0 || d === want[i]);
    if (rows && this.maxBatch !== null && shape[0] > this.maxBatch) {
      throw new ReefError('REEF_SERVE_BAD_REQUEST',
        `input "${spec.name}" has ${shape[0]} rows, more than the model's max_batch_size ${this.maxBatch} (config.pbtxt)`);
    }
    if (rows) return shape[0];
    const alt = batched && want.length > 0 && want[0] === 1 ? ` (or [N,${want.slice(1).join(',')}] for N rows${this.maxBatch ? `, N <= ${this.maxBatch}` : ''})` : '';
    throw new ReefError('REEF_SERVE_BAD_REQUEST',
      `input "${spec.name}" expects shape ${shapeText(want)}${alt} but received ${shapeText(shape)}`);
  }

  /** Runs the model on named tensors (all inputs, with shapes already checked by rowsFor). */
  async infer(tensors: Map<string, WireTensor>, opts: InferOptions): Promise<InferResult> {
    let rows = -1;
    const feeds: WireTensor[] = [];
    for (const spec of this.inputs) {
      const t = tensors.get(spec.name);
      if (!t) throw new ReefError('REEF_SERVE_BAD_REQUEST', `missing input "${spec.name}" (${spec.dtype}${shapeText(spec.shape)})`);
      if (t.dtype !== spec.dtype) {
        throw new ReefError('REEF_SERVE_BAD_REQUEST', `input "${spec.name}" expects dtype ${spec.dtype} but received ${t.dtype}`);
      }
      const n = this.rowsFor(spec, t.shape);
      if (rows >= 0 && n !== rows) {
        throw new ReefError('REEF_SERVE_BAD_REQUEST',
          `inputs have different numbers of rows: "${feeds[0].name}" has ${rows}, "${spec.name}" has ${n}`);
      }
      rows = n;
      feeds.push(t);
    }
    const wanted = opts.outputs ? opts.outputs.map((n) => {
      const o = this.output(n);
      if (!o) {
        throw new ReefError('REEF_SERVE_BAD_REQUEST',
          `unknown output "${n}"; the model's outputs are ${this.outputs.map((x) => `"${x.name}"`).join(', ')}`);
      }
      return o;
    }) : this.outputs.slice();

    this.scheduler.admit(rows, `model ${this.name} version ${this.version}`);
    const group: RunGroup = { failed: false };
    const runs = Array.from({ length: rows }, (_, r) => {
      const slice = feeds.map((t) => rows === 1 ? t.data : t.data.subarray(r * (t.data.length / rows), (r + 1) * (t.data.length / rows)));
      return this.scheduler.submit(slice as TypedArray[], group, opts.deadline);
    });
    const results = await Promise.all(runs);
    let invokeMs = 0;
    let queueMs = 0;
    for (const r of results) { invokeMs += r.invokeMs; queueMs += r.queueMs; }
    const outputs = wanted.map((spec): WireTensor => {
      const first = results[0].outputs[spec.tensorName];
      if (rows === 1) return { name: spec.name, dtype: spec.dtype, shape: first.shape.slice(), data: first.data };
      const per = first.data.length;
      const data = allocate(spec.dtype, per * rows);
      results.forEach((r, i) => (data as Float32Array).set(r.outputs[spec.tensorName].data as Float32Array, i * per));
      const shape = first.shape.length > 0 && first.shape[0] === 1 ? [rows, ...first.shape.slice(1)] : [rows, ...first.shape];
      return { name: spec.name, dtype: spec.dtype, shape, data };
    });
    const predictions: Prediction[] = [];
    if (this.kind) for (const r of results) this.#predictions(r.outputs, predictions);
    return { outputs, predictions, invokeMs, queueMs, runs: rows };
  }

  /** The classes one run predicted: the top-1 of a classifier, every detection of a detector. */
  #predictions(out: Outputs, into: Prediction[]): void {
    const label = (i: number) => this.labels?.[i] || String(i);
    if (this.kind === 'classify') {
      const spec = this.outputs[0];
      const scores = dequantize(out[spec.tensorName].data as ArrayLike<number>, spec.quantization);
      let best = 0;
      for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
      into.push({ cls: label(best), score: scores[best] });
      return;
    }
    const views = this.outputs.map((o) => out[o.tensorName]);
    const roles = ssdPostprocessRoles(views.map((v) => v.shape));
    if (!roles) return;
    const classes = views[roles.classes].data as ArrayLike<number>;
    const scores = views[roles.scores].data as ArrayLike<number>;
    const count = Math.max(0, Math.min(classes.length, Math.round(Number(views[roles.count].data[0]))));
    for (let i = 0; i < count; i++) into.push({ cls: label(Math.round(classes[i])), score: scores[i] });
  }

  /** Stops taking work from new lookups, lets queued and running work finish, then frees the session. */
  async retire(): Promise<void> {
    this.#retired = true;
    await new Promise((r) => setImmediate(r));
    await this.scheduler.idle();
    await this.session.dispose();
  }
}
