/**
 * Session: the user-facing handle on a loaded model. Holds one native model
 * and a pool of interpreters; runs are queued and handed to whichever
 * interpreter is free, each invoke on a worker thread.
 */
import { performance } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { ReefError, invalidArgument } from '../errors.js';
import {
  native, INTERPRETER_SLOTS,
  type NativeInterpreter, type NativeModel, type LibraryInfo, type NativeRunResult,
} from '../native.js';
import { hostProfile, type DeviceProfile } from '../devices.js';
import { ensureLibrary } from './library.js';
import { checkTfliteBytes } from './validate.js';
import { readTflite, validateTflite } from '../model/tflite/reader.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { defectError, detectDefects } from '../model/tflite/defects.js';
import { edgetpuLibraryWarnings, isCompiledForEdgetpu, parseEdgetpuSpec, planEdgetpu } from './edgetpu.js';
import { isBundle, openBundleBytes, probeHost } from './bundle.js';
import type { Manifest } from '../bundle/manifest.js';
import type { VariantChoice } from './variant.js';
import { readUserFile } from '../files.js';
import { isOnnxModel, onnxModel, OnnxInterpreter } from './onnx.js';
import {
  TYPED_ARRAY_FOR, elementCount, type TypedArrayClass,
  type Tensor, type TensorInfo, type TypedArray,
} from '../types.js';

export interface LoadOptions {
  /** CPU threads per interpreter. Default: the device profile's defaultThreads (1 on x86-64). */
  threads?: number;
  /** Use the XNNPACK delegate (with its int8 QS8 path). Default true. */
  xnnpack?: boolean;
  /** Number of interpreters; runs are queued across them. Default 1. */
  pool?: number;
  /** Path of libtensorflowlite_c to use instead of the default. */
  library?: string;
  /** Device profile id (devices/*.json) instead of the one matching this host. */
  device?: string;
  /**
   * The least time (microseconds) an interpreter's runner thread spins for the next job before it
   * sleeps; it stretches this to the usual gap between runs, up to a tenth of a run. Spinning saves
   * a thread wake-up per run (tens of microseconds on some hosts) for that much CPU after each run.
   * Default 200; 0 never spins.
   */
  spinMicros?: number;
  /** For an .onnx model: shapes for inputs with symbolic dimensions (else those run as 1), e.g. { input: [1,3,240,320] }. */
  inputShapes?: Record<string, number[]>;
  /** For a .reef bundle: run this variant instead of the one chosen for this host. */
  variant?: string;
  /**
   * Which Edge TPU runs a model compiled for it (pycoral's grammar): '' any (the default), 'usb',
   * 'pci', ':N', 'usb:N', 'pci:N'; 'off' never uses the Edge TPU. A pool spreads its interpreters
   * over the matching devices.
   */
  edgetpu?: string;
  /** Path of libedgetpu to use instead of $REEF_EDGETPU_LIBRARY, the device profile's or the system's. */
  edgetpuLibrary?: string;
  /** Edge TPU delegate options. */
  edgetpuOptions?: { performance?: 'Low' | 'Medium' | 'High' | 'Max'; usbMaxBulkInQueueLength?: number };
}

/** Which variant of a .reef bundle a session runs, and why. */
export interface SessionVariant extends VariantChoice {
  /** The model file inside the bundle. */
  file: string;
}

/** What a .reef bundle says about feeding and reading the model. */
export interface SessionBundle {
  manifest: Manifest;
  labels: string[] | null;
}

/** Inputs for run(): by name, or an array in input order. A Tensor also checks its shape. */
export type Feed = TypedArray | Tensor;
export type Feeds = Record<string, Feed> | Feed[];

export interface RunOptions {
  /** Typed arrays to write the outputs into (by name or in output order) instead of new ones. */
  outputs?: Record<string, TypedArray | null> | Array<TypedArray | null> | null;
}

/** run() result: one tensor per output name. */
export type Outputs = Record<string, Tensor>;

export interface TimedOutputs {
  outputs: Outputs;
  /** Time of TfLiteInterpreterInvoke alone, measured in the addon next to the call. */
  invokeMs: number;
}

export interface LoadTimings {
  /** Reading the file (0 for buffers). */
  readMs: number;
  /** Checking the bytes in TypeScript before they reach TFLite (bundle checks included). */
  validateMs: number;
  /** TfLiteModelCreate (flatbuffer verification and model build). */
  modelMs: number;
  /** Creating the interpreters and allocating their tensors (in parallel). */
  interpretersMs: number;
}

/** Which delegate runs the model, and why (e.g. XNNPACK refused the model and TFLite's own kernels run it). */
export interface SessionDelegate {
  name: 'xnnpack' | 'edgetpu' | 'none';
  reason: string;
}

interface Job {
  inputs: ArrayBufferView[];
  outputs: Array<TypedArray | null>;
  resolve: (r: NativeRunResult) => void;
  reject: (e: unknown) => void;
}

const EDGETPU_OP = 'edgetpu-custom-op';

function describeInfo(t: TensorInfo): string {
  return `"${t.name}" ${t.dtype}[${t.shape.join(',')}]`;
}

/** Turns a native interpreter-creation failure into the error a user can act on. */
function mapInitError(e: unknown, source: string): unknown {
  if (!(e instanceof ReefError) || e.code !== 'REEF_INTERPRETER_FAILED') return e;
  const m = /unresolved custom op: ([^\s.]+(?:\.[^\s.]+)*?)\.?(?:\n|$)/.exec(e.message);
  if (!m) return new ReefError('REEF_INTERPRETER_FAILED', `${source}: ${e.message}`);
  const op = m[1];
  if (op === EDGETPU_OP) {
    const cpuTwin = source.endsWith('_edgetpu.tflite') ? ` (here: ${source.replace(/_edgetpu\.tflite$/, '.tflite')})` : '';
    return new ReefError(
      'REEF_CUSTOM_OP_UNRESOLVED',
      `${source} was compiled for the Edge TPU (custom op "${EDGETPU_OP}"): it needs the Edge TPU runtime ` +
        `(libedgetpu) and a Coral device, which this host does not have. Run the CPU model instead, the one ` +
        `that was given to edgetpu_compiler${cpuTwin}. TFLite said: ${e.message}`,
    );
  }
  return new ReefError('REEF_CUSTOM_OP_UNRESOLVED', `${source} uses the custom op "${op}", which this runtime does not provide. TFLite said: ${e.message}`);
}

/** More threads than cores: TFLite's threads then wait for each other (256 on 2 cores ran 150x slower here). */
function threadsWarning(pool: number, threads: number, cores: number): string {
  const what = pool === 1 ? `${threads} threads` : `${pool} interpreters x ${threads} thread${threads === 1 ? '' : 's'}`;
  return `${what} on ${cores} core${cores === 1 ? '' : 's'}: threads beyond the cores wait for each other and run much slower; ` +
    `use ${pool === 1 ? `--threads ${cores}` : `pool x threads <= ${cores}`} or fewer`;
}

export class Session {
  /** The model's inputs, in order. */
  readonly inputs: readonly TensorInfo[];
  /** The model's outputs, in order. */
  readonly outputs: readonly TensorInfo[];
  /** Where the model came from (a path, or "<buffer>"). */
  readonly source: string;
  readonly threads: number;
  readonly xnnpack: boolean;
  readonly library: LibraryInfo;
  readonly device: DeviceProfile | null;
  readonly timings: LoadTimings;
  /** For a .reef bundle: the variant running and why; null for a plain model. */
  readonly variant: SessionVariant | null;
  /** For a .reef bundle: its manifest (pre-processing, task) and labels; null for a plain model. */
  readonly bundle: SessionBundle | null;
  /**
   * Which delegate runs the model and why: `{ name: 'xnnpack', reason: 'default' }`, or
   * `{ name: 'none', reason: 'XNNPACK refused this model (...); ...' }` when TFLite's built-in kernels run it.
   */
  readonly delegate: SessionDelegate;
  /** Things worth saying about this setup that did not stop it (e.g. a TFLite newer than libedgetpu is tested with). */
  readonly warnings: readonly string[];

  readonly #model: NativeModel;
  readonly #interpreters: NativeInterpreter[];
  readonly #queue: Job[] = [];
  readonly #inputIndex = new Map<string, number>();
  #inFlight = 0;
  #disposed = false;
  #drained: (() => void) | null = null;

  private constructor(init: {
    source: string; model: NativeModel; interpreters: NativeInterpreter[]; threads: number; xnnpack: boolean;
    library: LibraryInfo; device: DeviceProfile | null; timings: LoadTimings;
    variant: SessionVariant | null; bundle: SessionBundle | null; warnings?: string[];
    /** Output indices whose shape signature has a -1 past the batch: their shape is known only after an invoke. */
    dynamicOutputs?: Set<number>;
  }) {
    this.source = init.source;
    this.#model = init.model;
    this.#interpreters = init.interpreters;
    this.threads = init.threads;
    this.xnnpack = init.xnnpack;
    this.library = init.library;
    this.device = init.device;
    this.timings = init.timings;
    this.variant = init.variant;
    this.bundle = init.bundle;
    const toInfo = (t: ReturnType<NativeInterpreter['inputs']>[number], dynamic = false): TensorInfo => ({
      name: t.name, dtype: t.dtype, shape: t.shape,
      quantization: { scale: t.scale, zeroPoint: t.zeroPoint }, byteLength: t.byteLength,
      ...(t.dynamic || dynamic ? { dynamic: true } : {}),
    });
    const d = init.interpreters[0].delegate;
    // TFLite's words can span lines; the reason is said on one.
    this.delegate = Object.freeze({ name: d.name, reason: d.reason.replace(/\s*\n\s*/g, '; ') });
    this.warnings = Object.freeze([...(init.warnings ?? [])]);
    this.inputs = Object.freeze(init.interpreters[0].inputs().map((t) => toInfo(t)));
    this.outputs = Object.freeze(init.interpreters[0].outputs().map((t, i) => toInfo(t, init.dynamicOutputs?.has(i) ?? false)));
    this.inputs.forEach((t, i) => this.#inputIndex.set(t.name, i));
  }

  /** @internal use {@link load}. */
  static async open(model: string | Uint8Array, options: LoadOptions = {}): Promise<Session> {
    const t0 = performance.now();
    let bytes: Uint8Array;
    let source: string;
    if (typeof model === 'string') {
      source = model;
      bytes = await readUserFile(model, 'model');
    } else if (model instanceof Uint8Array) {
      source = '<buffer>';
      // Shared memory can change between the checks below and the native copy: check a private copy.
      bytes = model.buffer instanceof SharedArrayBuffer ? new Uint8Array(model) : model;
    } else {
      throw invalidArgument('model', 'a file path or a Uint8Array', model);
    }
    const readMs = typeof model === 'string' ? performance.now() - t0 : 0;
    const tv = performance.now();
    let variant: SessionVariant | null = null;
    let bundle: SessionBundle | null = null;
    let ir: TfliteModel | null = null;
    let onnx = false;
    if (isBundle(bytes)) {
      const off = options.edgetpu === 'off';
      const b = openBundleBytes(bytes, source, {
        ...(options.variant === undefined ? {} : { variant: options.variant }),
        ...(off ? { host: { ...probeHost(), edgetpuEnabled: false } } : {}),
      });
      if (b.variant.format !== 'tflite') {
        throw new ReefError('REEF_VARIANT_UNAVAILABLE',
          `${source}: the ${b.variant.name} variant is ${b.variant.format}, which this runtime cannot run yet; choose a TFLite variant with --variant`);
      }
      bytes = b.model;
      if (b.variant.name === 'edgetpu') ir = readTflite(bytes);
      variant = { ...b.choice, file: b.variant.file };
      bundle = { manifest: b.manifest, labels: b.labels };
    } else {
      if (options.variant !== undefined) {
        throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a .reef bundle for the variant option (--variant) but received ${source}`);
      }
      onnx = isOnnxModel(bytes, source);
      if (!onnx) {
        checkTfliteBytes(bytes, source);
        try {
          ir = validateTflite(bytes);
        } catch (e) {
          if (e instanceof ReefError && e.code === 'REEF_MODEL_INVALID') throw new ReefError('REEF_MODEL_INVALID', `${source}: ${e.message}`);
          throw e;
        }
        const defects = detectDefects(ir);
        if (defects.length > 0) throw defectError(source, defects);
      }
    }
    const validateMs = performance.now() - tv;

    const pool = options.pool ?? 1;
    if (!Number.isInteger(pool) || pool < 1 || pool > 64) throw invalidArgument('pool', 'an integer from 1 to 64', options.pool);
    const device = hostProfile(options.device);
    const threads = options.threads ?? device?.defaultThreads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw invalidArgument('threads', 'an integer from 1 to 256', options.threads);
    const xnnpack = onnx ? false : options.xnnpack ?? true;
    if (typeof xnnpack !== 'boolean') throw invalidArgument('xnnpack', 'a boolean', options.xnnpack);
    const spin = options.spinMicros ?? 200;
    if (!Number.isInteger(spin) || spin < 0 || spin > 1_000_000) throw invalidArgument('spinMicros', 'an integer from 0 to 1000000', options.spinMicros);

    const library = ensureLibrary(options.library, device);
    const addon = native();
    const t1 = performance.now();
    let nativeModel: NativeModel;
    try {
      nativeModel = onnx ? onnxModel(bytes) : new addon.Model(bytes);
    } catch (e) {
      if (e instanceof ReefError && e.code === 'REEF_MODEL_INVALID') {
        throw new ReefError('REEF_MODEL_INVALID', `${source}: ${e.message}`);
      }
      throw e;
    }
    const t2 = performance.now();
    const spec = parseEdgetpuSpec(options.edgetpu ?? '');
    const plan = ir && !spec.off && isCompiledForEdgetpu(ir)
      ? planEdgetpu(source, ir, spec, pool, options.edgetpuLibrary, device) : null;
    const tpuOptions: Record<string, string> = {};
    if (options.edgetpuOptions?.performance) tpuOptions.Performance = options.edgetpuOptions.performance;
    if (options.edgetpuOptions?.usbMaxBulkInQueueLength !== undefined) {
      tpuOptions['Usb.MaxBulkInQueueLength'] = String(options.edgetpuOptions.usbMaxBulkInQueueLength);
    }
    const interpreters = Array.from({ length: pool }, (_, i) => (onnx
      ? new OnnxInterpreter(bytes, threads, source, options.inputShapes)
      : new addon.Interpreter(nativeModel, threads, xnnpack, spin, plan ? { edgetpu: { ...plan.devices[i]!, options: tpuOptions } } : undefined)));
    const results = await Promise.allSettled(interpreters.map((i) => i.init()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const i of interpreters) i.dispose();
      nativeModel.dispose();
      throw mapInitError(failed.reason, source);
    }
    const t3 = performance.now();
    return new Session({
      source, model: nativeModel, interpreters, threads, xnnpack, library, device, variant, bundle,
      warnings: [
        ...(plan ? edgetpuLibraryWarnings(library.version) : []),
        ...(pool * threads > availableParallelism() ? [threadsWarning(pool, threads, availableParallelism())] : []),
      ],
      dynamicOutputs: new Set((ir?.subgraphs[0]?.outputs ?? []).flatMap((t, i) => (ir!.subgraphs[0]!.tensors[t]?.shapeSignature?.slice(1).includes(-1) ? [i] : []))),
      timings: { readMs, validateMs, modelMs: t2 - t1, interpretersMs: t3 - t2 },
    });
  }

  /** Number of interpreters in the pool. */
  get poolSize(): number {
    return this.#interpreters.length;
  }

  /** Runs waiting for a free interpreter. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Runs handed to the interpreters: invoking, or waiting in an interpreter's runner (up to 2 each). */
  get inFlight(): number {
    return this.#inFlight;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Runs the model once.
   * @example
   * const out = await session.run({ input: pixels });
   * const scores = out['MobilenetV1/Predictions/Reshape_1'].data;
   */
  async run(feeds: Feeds, options?: RunOptions): Promise<Outputs> {
    return (await this.runTimed(feeds, options)).outputs;
  }

  /** Like run(), and also returns the time of the invoke alone. */
  runTimed(feeds: Feeds, options?: RunOptions): Promise<TimedOutputs> {
    if (this.#disposed) return Promise.reject(this.#disposedError());
    let inputs: ArrayBufferView[];
    let outputs: Array<TypedArray | null>;
    try {
      inputs = this.#checkFeeds(feeds);
      outputs = this.#outputArrays(options?.outputs);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<NativeRunResult>((resolve, reject) => {
      const job: Job = { inputs, outputs, resolve, reject };
      const interp = this.#freest();
      if (interp) this.#dispatch(interp, job);
      else this.#queue.push(job);
    }).then((r) => {
      const result: Outputs = {};
      this.outputs.forEach((t, i) => {
        const given = outputs[i];
        // TYPED_ARRAY_FOR has a class for every output dtype: #outputArrays refused the others.
        const data = given ?? new (TYPED_ARRAY_FOR[t.dtype] as TypedArrayClass)(r.buffers?.[i] as ArrayBuffer);
        result[t.name] = { data, shape: r.shapes ? r.shapes[i] : t.shape.slice(), dtype: t.dtype };
      });
      return { outputs: result, invokeMs: r.ns / 1e6 };
    });
  }

  /**
   * A plain native loop of `iterations` invokes on the first interpreter, with
   * whatever is in its input tensors; per-invoke times in ms. The baseline that
   * benchmarks compare run() against.
   */
  async invokeLoop(iterations: number): Promise<Float64Array> {
    if (this.#disposed) throw this.#disposedError();
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) {
      throw invalidArgument('iterations', 'an integer from 1 to 10000000', iterations);
    }
    const interp = this.#interpreters.find((i) => i.inFlight === 0);
    if (!interp) throw new ReefError('REEF_BUSY', 'invokeLoop needs an idle interpreter; await pending runs first');
    this.#inFlight++;
    try {
      const ns = await interp.invokeLoop(iterations);
      return ns.map((v) => v / 1e6);
    } finally {
      this.#release(interp);
    }
  }

  /**
   * Frees the model and interpreters. Queued runs reject with REEF_DISPOSED;
   * runs already executing finish and resolve. The returned promise settles
   * when the last of them is done and everything is freed.
   */
  dispose(): Promise<void> {
    if (!this.#disposed) {
      this.#disposed = true;
      const err = this.#disposedError();
      for (const job of this.#queue.splice(0)) job.reject(err);
      // Native dispose defers the free of a busy interpreter until its job ends.
      for (const i of this.#interpreters) i.dispose();
      this.#model.dispose();
    }
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.#drained;
      this.#drained = () => { prev?.(); resolve(); };
    });
  }

  /** An invoke that failed on an Edge TPU: the device went away (or stopped answering). */
  #invokeError(interp: NativeInterpreter, e: unknown): unknown {
    if (!(e instanceof ReefError) || e.code !== 'REEF_INVOKE_FAILED' || interp.delegate.name !== 'edgetpu') return e;
    return new ReefError('REEF_EDGETPU_DEVICE_LOST',
      `the Edge TPU (${interp.delegate.reason}) failed the run: ${e.message.replace(/\.+$/, '')}. Check that the device is still attached ` +
      '(`reef doctor`), then load the model again; a .reef bundle can run its cpu-int8 variant meanwhile (variant: \'cpu-int8\')');
  }

  #disposedError(): ReefError {
    return new ReefError('REEF_DISPOSED', `the session for ${this.source} was disposed; load the model again`);
  }

  #dispatch(interp: NativeInterpreter, job: Job): void {
    let running: Promise<NativeRunResult>;
    try {
      // Throws at once when an input was detached or resized since run() checked it.
      running = interp.run(job.inputs, job.outputs);
    } catch (e) {
      job.reject(e);
      const next = this.#queue.shift();
      if (next) queueMicrotask(() => this.#dispatch(interp, next));
      return;
    }
    this.#inFlight++;
    running.then(
      (r) => { job.resolve(r); this.#release(interp); },
      (e: unknown) => { job.reject(this.#invokeError(interp, e)); this.#release(interp); },
    );
  }

  /** The interpreter with the fewest jobs, if one can take another (each takes INTERPRETER_SLOTS). */
  #freest(): NativeInterpreter | undefined {
    let best: NativeInterpreter | undefined;
    for (const i of this.#interpreters) {
      const n = i.inFlight;
      if (n === 0) return i;
      if (n < INTERPRETER_SLOTS && (!best || n < best.inFlight)) best = i;
    }
    return best;
  }

  #release(interp: NativeInterpreter): void {
    this.#inFlight--;
    if (this.#disposed) {
      if (this.#inFlight === 0 && this.#drained) {
        const done = this.#drained;
        this.#drained = null;
        done();
      }
      return;
    }
    const next = this.#queue.shift();
    if (next) this.#dispatch(interp, next);
  }

  #checkFeeds(feeds: Feeds): ArrayBufferView[] {
    const n = this.inputs.length;
    const list: Array<Feed | undefined> = new Array(n);
    if (Array.isArray(feeds)) {
      if (feeds.length !== n) {
        throw new ReefError('REEF_INPUT_NAME_MISMATCH',
          `expected ${n} input${n === 1 ? '' : 's'} (${this.inputs.map(describeInfo).join(', ')}) but received ${feeds.length}`);
      }
      for (let i = 0; i < n; i++) list[i] = feeds[i];
    } else if (typeof feeds === 'object' && feeds !== null && !ArrayBuffer.isView(feeds)) {
      for (const name of Object.keys(feeds)) {
        const i = this.#inputIndex.get(name);
        if (i === undefined) {
          throw new ReefError('REEF_INPUT_NAME_MISMATCH',
            `unknown input "${name}"; the model's inputs are ${this.inputs.map(describeInfo).join(', ')}`);
        }
        list[i] = feeds[name];
      }
      for (let i = 0; i < n; i++) {
        if (list[i] === undefined) {
          throw new ReefError('REEF_INPUT_NAME_MISMATCH', `missing input ${describeInfo(this.inputs[i])}`);
        }
      }
    } else {
      throw invalidArgument('feeds', 'an object of input name -> typed array, or an array in input order', feeds);
    }
    const out: ArrayBufferView[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const info = this.inputs[i];
      const feed = list[i] as Feed;
      const data = ArrayBuffer.isView(feed) ? feed : (feed as Tensor | undefined)?.data;
      const ctor = TYPED_ARRAY_FOR[info.dtype];
      if (!ArrayBuffer.isView(data)) {
        throw new ReefError('REEF_INPUT_DTYPE_MISMATCH',
          `input "${info.name}" expects a ${ctor?.name ?? info.dtype} (${info.dtype}) but received ${feed === null ? 'null' : typeof feed}`);
      }
      if (!ctor || !(data instanceof ctor)) {
        throw new ReefError('REEF_INPUT_DTYPE_MISMATCH',
          `input "${info.name}" expects ${info.dtype} (${ctor?.name ?? 'no typed array'}) but received ${data.constructor.name}`);
      }
      const want = elementCount(info.shape);
      const got = (data as TypedArray).length;
      if (!ArrayBuffer.isView(feed)) {
        const shape = (feed as Tensor).shape;
        if (!Array.isArray(shape)) {
          throw new ReefError('REEF_INPUT_SHAPE_MISMATCH',
            `input "${info.name}" was given as a tensor ({ data, shape }) without a shape array; expected shape [${info.shape.join(',')}]`);
        }
        if (shape.length !== info.shape.length || shape.some((d, k) => d !== info.shape[k])) {
          throw new ReefError('REEF_INPUT_SHAPE_MISMATCH',
            `input "${info.name}" expects shape [${info.shape.join(',')}] but received [${String(shape)}]`);
        }
      }
      if (got !== want) {
        throw new ReefError('REEF_INPUT_SHAPE_MISMATCH',
          `input "${info.name}" expects shape [${info.shape.join(',')}] (${want} elements) but received ${got} elements`);
      }
      out[i] = data;
    }
    return out;
  }

  /** The caller's arrays, or null where the addon allocates the output at the size the invoke produces. */
  #outputArrays(given: RunOptions['outputs']): Array<TypedArray | null> {
    for (const t of this.outputs) {
      if (!TYPED_ARRAY_FOR[t.dtype]) throw new ReefError('REEF_OUTPUT_MISMATCH', `output "${t.name}" has dtype ${t.dtype}, which reef cannot return`);
    }
    if (given === undefined || given === null) return this.outputs.map(() => null);
    if (typeof given !== 'object') throw invalidArgument('outputs', 'an array or an object of typed arrays (or null entries)', given);
    const list = Array.isArray(given) ? given : this.outputs.map((t) => (given as Record<string, TypedArray>)[t.name]);
    if (list.length !== this.outputs.length) {
      throw new ReefError('REEF_OUTPUT_MISMATCH', `expected ${this.outputs.length} output arrays but received ${list.length}`);
    }
    return list.map((arr, i) => {
      const t = this.outputs[i];
      if (arr === null) return null;  // This one is allocated at the size the invoke produces.
      const ctor = TYPED_ARRAY_FOR[t.dtype];
      if (!ctor || !(arr instanceof ctor) || (arr.byteLength !== t.byteLength && !t.dynamic)) {
        throw new ReefError('REEF_OUTPUT_MISMATCH',
          `output "${t.name}" needs a ${ctor?.name ?? t.dtype} of ${t.byteLength / (ctor?.BYTES_PER_ELEMENT ?? 1)} elements but received ${arr === undefined ? 'nothing' : `${arr.constructor.name}(${arr.length})`}`);
      }
      return arr;
    });
  }
}

/**
 * Loads a TFLite model from a path or bytes.
 * @example
 * import { load } from 'reef';
 * const session = await load('model.tflite', { threads: 2 });
 * const out = await session.run([new Float32Array(session.inputs[0].byteLength / 4)]);
 * await session.dispose();
 */
export function load(model: string | Uint8Array, options?: LoadOptions): Promise<Session> {
  return Session.open(model, options);
}
