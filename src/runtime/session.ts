/**
 * Session: the user-facing handle on a loaded model. Holds one native model
 * and a pool of interpreters; runs are queued and handed to whichever
 * interpreter is free, each invoke on a worker thread.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { ReefError, invalidArgument } from '../errors.js';
import {
  native, INTERPRETER_SLOTS,
  type NativeInterpreter, type NativeModel, type LibraryInfo, type NativeRunResult,
} from '../native.js';
import type { NativeFrame } from '../native.js';
import { hostProfile, type DeviceProfile } from '../devices.js';
import { ensureLibrary } from './library.js';
import { checkTfliteBytes } from './validate.js';
import { readTflite, validateTflite } from '../model/tflite/reader.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { defectError, detectDefects } from '../model/tflite/defects.js';
import {
  edgetpuLibraryWarnings, isCompiledForEdgetpu, listEdgetpuDevices, matchDevices, parseEdgetpuSpec, planEdgetpu,
  type EdgetpuDevice, type EdgetpuSpec,
} from './edgetpu.js';
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
  /**
   * Milliseconds an interpreter with runs in flight may go without finishing one before its invoke
   * is abandoned: the run rejects with REEF_INVOKE_TIMEOUT and the interpreter is replaced (on an
   * Edge TPU: treated as a lost device). Default 10000 on an Edge TPU, 0 (off) otherwise.
   */
  watchdogMs?: number;
  /** How often (ms) a session whose Edge TPU went away looks for it again. Default 1000. */
  edgetpuRetryMs?: number;
}

/**
 * What a session says about its Edge TPU while it runs (`session.on(name, listener)`):
 * - `device-lost`: the device failed a run or stopped answering; `error` is what that run got.
 * - `fallback`: runs go to the bundle's CPU variant until the device is back.
 * - `device-restored`: the device is there again and runs go back to it.
 * - `watchdog`: an invoke made no progress for `ms` and was abandoned.
 */
export interface SessionEvents {
  'device-lost': [{ device: string; error: ReefError }];
  fallback: [{ variant: string; reason: string }];
  'device-restored': [{ device: string }];
  watchdog: [{ ms: number; device: string | null }];
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
  /**
   * A raw camera frame made into the (single) input on the runner thread, resized and converted
   * natively (see NativeFrame); `feeds` is then ignored. TFLite models only: see `nativeFrames`.
   */
  frame?: NativeFrame;
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
  frame?: NativeFrame;
  /** invokeLoop(): this many plain invokes instead of a run; resolves with their times (ns). */
  loop?: number;
  /** With what the native job gave: a NativeRunResult (run) or the loop's times (loop). */
  resolve(r: never): void;
  reject: (e: unknown) => void;
}

/** One interpreter of the pool, the device it runs on (Edge TPU) and the jobs handed to it. */
interface Lane {
  interp: NativeInterpreter;
  device: EdgetpuDevice | null;
  /** Handed to the interpreter and not settled yet, oldest first. */
  jobs: Job[];
  /** The watchdog: re-armed whenever a job of this lane ends. */
  timer: NodeJS.Timeout | null;
  /** The runner's count of ended jobs when the watchdog was last armed (progress not yet seen by JS). */
  mark: number;
  /** Taken out of the pool (lost device, watchdog, replaced by the Edge TPU again). */
  gone: boolean;
  /** A new CPU interpreter like this one, for the watchdog to put in its place. */
  remake: (() => NativeInterpreter) | null;
}

/** How to build Edge TPU interpreters again when a lost device comes back, and what runs meanwhile. */
interface EdgetpuContext {
  spec: EdgetpuSpec;
  pool: number;
  threads: number;
  spin: number;
  options: Record<string, string>;
  retryMs: number;
  /** The bundle's CPU variant to run while the device is gone (null: none, runs reject). */
  fallback: { name: string; file: string; bytes: Uint8Array } | null;
}

function deviceName(d: EdgetpuDevice): string {
  return `${d.type} ${d.path}`;
}

function sameSignature(a: ReadonlyArray<{ dtype: string; shape: number[] }>, b: ReadonlyArray<{ dtype: string; shape: number[] }>): boolean {
  return a.length === b.length && a.every((t, i) => t.dtype === b[i]!.dtype && t.shape.join() === b[i]!.shape.join());
}

const EDGETPU_OP = 'edgetpu-custom-op';

/**
 * Whether TFLite's words about a failed invoke name one of its CPU kernels ("Node number 3 (RESHAPE)
 * failed to invoke": builtin op names are upper case; XNNPACK is a CPU delegate) rather than the Edge
 * TPU's node: then the run's own input was refused, and the device is not to blame.
 */
function cpuNodeFailed(words: string): boolean {
  const node = /Node number \d+ \(([^)]+)\) failed/.exec(words)?.[1];
  return node !== undefined && (/^[A-Z][A-Z0-9_]*$/.test(node) || /xnnpack/i.test(node));
}

function describeInfo(t: TensorInfo): string {
  return `"${t.name}" ${t.dtype}[${t.shape.join(',')}]`;
}

/** Loading a bundle's edgetpu variant failed in a way its CPU variant (`fallback`) avoids. */
class EdgetpuUnusable extends Error {
  constructor(override readonly cause: ReefError, readonly fallback: string) {
    super(cause.message);
  }
}

/** Turns a native interpreter-creation failure into the error a user can act on. */
function mapInitError(e: unknown, source: string): unknown {
  if (!(e instanceof ReefError) || e.code !== 'REEF_INTERPRETER_FAILED') return e;
  // The runtime's own refusal, when its version string could not be read before loading.
  const old = /Package requires runtime version \((\d+)\), which is newer than this runtime version \((\d+)\)/.exec(e.message);
  if (old) {
    return new ReefError('REEF_EDGETPU_RUNTIME_TOO_OLD',
      `${source} needs Edge TPU runtime version ${old[1]} or newer, and the installed runtime is version ${old[2]}. Either upgrade ` +
      `libedgetpu (\`sudo apt-get install --only-upgrade libedgetpu1-std\`), or recompile the model for this runtime: ` +
      `\`edgetpu_compiler -m ${old[2]} model.tflite\` (reef edgetpu compile --min-runtime ${old[2]}). The runtime said: ${e.message}`);
  }
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

export class Session extends EventEmitter<SessionEvents> {
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
  /** For a .reef bundle: the variant running and why (it changes while a lost Edge TPU is replaced by the CPU variant); null for a plain model. */
  get variant(): SessionVariant | null {
    return this.#fallbackVariant ?? this.#variantNote ?? this.#variant;
  }
  /** For a .reef bundle: its manifest (pre-processing, task) and labels; null for a plain model. */
  readonly bundle: SessionBundle | null;
  /**
   * Which delegate runs the model and why: `{ name: 'xnnpack', reason: 'default' }`, or
   * `{ name: 'none', reason: 'XNNPACK refused this model (...); ...' }` when TFLite's built-in kernels run it.
   * It changes while a lost Edge TPU is replaced by a bundle's CPU variant.
   */
  get delegate(): SessionDelegate {
    return this.#delegate;
  }
  /** Things worth saying about this setup that did not stop it (e.g. a TFLite newer than libedgetpu is tested with). */
  readonly warnings: readonly string[];

  readonly #model: NativeModel;
  /** The interpreters runs go to (the Edge TPU's, or the CPU variant's while the device is gone). */
  #lanes: Lane[];
  readonly #queue: Job[] = [];
  readonly #variant: SessionVariant | null;
  /** The variant loaded instead of an Edge TPU that could not be used at load, with why. */
  #variantNote: SessionVariant | null = null;
  #delegate: SessionDelegate;
  readonly #watchdogMs: number;
  readonly #tpu: EdgetpuContext | null;
  /** While the Edge TPU is gone: the CPU variant's model (null when running on the device). */
  #fallbackModel: NativeModel | null = null;
  #fallbackVariant: SessionVariant | null = null;
  /** The Edge TPU interpreters that are gone, waiting for their device (probe timer running). */
  #lostLanes = 0;
  /** Lost Edge TPU interpreters per device path (restored onto the same device when it is listed again). */
  readonly #lostByDevice = new Map<string, { device: EdgetpuDevice; lanes: number }>();
  /** While a device is gone and nothing else runs: a fresh error for each run that cannot run. */
  #lostError: (() => ReefError) | null = null;
  /** Bumped whenever the CPU interpreters standing in for the Edge TPU change: a replacement made for an older set is dropped. */
  #cpuEpoch = 0;
  #probe: NodeJS.Timeout | null = null;
  #probing = false;
  /** The CPU variant's interpreters are being created: runs wait for them. */
  #switching = false;
  readonly #inputIndex = new Map<string, number>();
  #inFlight = 0;
  #disposed = false;
  #drained: (() => void) | null = null;

  /** Whether run() takes a raw camera frame (`RunOptions.frame`): TFLite models with one input. */
  readonly nativeFrames: boolean;

  /** The placeholder feeds of a frame run (input 0 comes from the frame). */
  #frameFeeds(): ArrayBufferView[] {
    if (!this.nativeFrames) throw invalidArgument('options.frame', 'a TFLite model with one input', `${this.source} (${this.inputs.length} inputs)`);
    return [new Uint8Array(0)];
  }

  private constructor(init: {
    source: string; model: NativeModel; interpreters: NativeInterpreter[]; threads: number; xnnpack: boolean;
    library: LibraryInfo; device: DeviceProfile | null; timings: LoadTimings;
    variant: SessionVariant | null; bundle: SessionBundle | null; warnings?: string[];
    /** Output indices whose shape signature has a -1 past the batch: their shape is known only after an invoke. */
    dynamicOutputs?: Set<number>;
    devices?: EdgetpuDevice[]; watchdogMs: number; tpu: EdgetpuContext | null;
    /** A new CPU interpreter of this model (the watchdog's replacement for a hung one). */
    remake: () => NativeInterpreter;
  }) {
    super();
    this.source = init.source;
    this.#model = init.model;
    this.#lanes = init.interpreters.map((interp, i) => {
      const device = init.devices?.[i] ?? null;
      return { interp, device, jobs: [], timer: null, mark: 0, gone: false, remake: device ? null : init.remake };
    });
    this.#watchdogMs = init.watchdogMs;
    this.#tpu = init.tpu;
    this.threads = init.threads;
    this.xnnpack = init.xnnpack;
    this.library = init.library;
    this.device = init.device;
    this.timings = init.timings;
    this.#variant = init.variant;
    this.bundle = init.bundle;
    const toInfo = (t: ReturnType<NativeInterpreter['inputs']>[number], dynamic = false): TensorInfo => ({
      name: t.name, dtype: t.dtype, shape: t.shape,
      quantization: { scale: t.scale, zeroPoint: t.zeroPoint }, byteLength: t.byteLength,
      ...(t.dynamic || dynamic ? { dynamic: true } : {}),
    });
    this.#delegate = Session.#delegateOf(init.interpreters[0]!);
    this.warnings = Object.freeze([...(init.warnings ?? [])]);
    this.inputs = Object.freeze(init.interpreters[0].inputs().map((t) => toInfo(t)));
    this.nativeFrames = !(init.interpreters[0] instanceof OnnxInterpreter) && this.inputs.length === 1;
    this.outputs = Object.freeze(init.interpreters[0].outputs().map((t, i) => toInfo(t, init.dynamicOutputs?.has(i) ?? false)));
    this.inputs.forEach((t, i) => this.#inputIndex.set(t.name, i));
  }

  /**
   * @internal use {@link load}. A bundle whose Edge TPU was there when its variant was chosen but
   * cannot be used a moment later (gone, or held by another process) loads its CPU variant instead,
   * and says so in session.variant.
   */
  static async open(model: string | Uint8Array, options: LoadOptions = {}): Promise<Session> {
    try {
      return await Session.#open(model, options);
    } catch (e) {
      if (!(e instanceof EdgetpuUnusable)) throw e;
      const s = await Session.#open(model, { ...options, variant: e.fallback });
      const v = s.#variant!;
      s.#variantNote = {
        ...v,
        reason: `the Edge TPU could not be used (${e.cause.code}: ${e.cause.message.replace(/\.+$/, '')}); ${v.variant}: ${v.reason}`,
        skipped: [{ variant: 'edgetpu', reason: e.cause.message }, ...v.skipped],
      };
      return s;
    }
  }

  static async #open(model: string | Uint8Array, options: LoadOptions): Promise<Session> {
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
    let cpuVariant: EdgetpuContext['fallback'] = null;
    const fallbackWarnings: string[] = [];
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
      if (b.variant.name === 'edgetpu') {
        ir = readTflite(bytes);
        // The CPU variant that can stand in while the Edge TPU is gone: the first whose inputs and
        // outputs are the edgetpu variant's (runs made for one must fit the other).
        const io = (m: TfliteModel) => {
          const g = m.subgraphs[0]!;
          const desc = (i: number) => `${g.tensors[i]!.dtype}[${g.tensors[i]!.shape.join(',')}]`;
          return `inputs ${g.inputs.map(desc).join(', ')}; outputs ${g.outputs.map(desc).join(', ')}`;
        };
        const want = io(ir);
        for (const name of ['cpu-int8', 'cpu-float']) {
          const v = b.manifest.variants.find((x) => x.name === name && x.format === 'tflite');
          const vb = v && b.files.get(v.file);
          if (!v || !vb) continue;
          const has = io(readTflite(vb));
          if (has === want) {
            cpuVariant = { name: v.name, file: v.file, bytes: vb };
            break;
          }
          fallbackWarnings.push(`the bundle's ${v.name} variant cannot stand in for the Edge TPU while it is gone: its ${has} differ from the edgetpu variant's (${want})`);
        }
        if (cpuVariant) fallbackWarnings.length = 0;
      }
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
    if (options.watchdogMs !== undefined && (!Number.isInteger(options.watchdogMs) || options.watchdogMs < 0 || options.watchdogMs > 86_400_000)) {
      throw invalidArgument('watchdogMs', 'an integer number of milliseconds from 0 (off) to 86400000', options.watchdogMs);
    }
    const retryMs = options.edgetpuRetryMs ?? 1000;
    if (!Number.isInteger(retryMs) || retryMs < 10 || retryMs > 3_600_000) {
      throw invalidArgument('edgetpuRetryMs', 'an integer number of milliseconds from 10 to 3600000', options.edgetpuRetryMs);
    }

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
    // A bundle's Edge TPU chosen a moment ago that cannot be used now: its CPU variant instead (open()).
    const standIn = variant?.variant === 'edgetpu' && options.variant === undefined && cpuVariant ? cpuVariant.name : null;
    const unusable = (e: unknown): unknown => (standIn && e instanceof ReefError &&
      ['REEF_EDGETPU_NO_DEVICE', 'REEF_INTERPRETER_FAILED'].includes(e.code) ? new EdgetpuUnusable(e, standIn) : e);
    let plan: ReturnType<typeof planEdgetpu> | null;
    try {
      plan = ir && !spec.off && isCompiledForEdgetpu(ir)
        ? planEdgetpu(source, ir, spec, pool, options.edgetpuLibrary, device) : null;
    } catch (e) {
      nativeModel.dispose();
      throw unusable(e);
    }
    const tpuOptions: Record<string, string> = {};
    if (options.edgetpuOptions?.performance) tpuOptions.Performance = options.edgetpuOptions.performance;
    if (options.edgetpuOptions?.usbMaxBulkInQueueLength !== undefined) {
      tpuOptions['Usb.MaxBulkInQueueLength'] = String(options.edgetpuOptions.usbMaxBulkInQueueLength);
    }
    const remake = (): NativeInterpreter => (onnx
      ? new OnnxInterpreter(bytes, threads, source, options.inputShapes)
      : new addon.Interpreter(nativeModel, threads, xnnpack, spin));
    const interpreters = Array.from({ length: pool }, (_, i) => (plan
      ? new addon.Interpreter(nativeModel, threads, xnnpack, spin, { edgetpu: { ...plan.devices[i]!, options: tpuOptions } })
      : remake()));
    const results = await Promise.allSettled(interpreters.map((i) => i.init()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const i of interpreters) i.dispose();
      nativeModel.dispose();
      throw unusable(mapInitError(failed.reason, source));
    }
    const t3 = performance.now();
    return new Session({
      source, model: nativeModel, interpreters, threads, xnnpack, library, device, variant, bundle,
      ...(plan ? { devices: plan.devices } : {}), remake,
      watchdogMs: options.watchdogMs ?? (plan ? 10_000 : 0),
      tpu: plan ? { spec, pool, threads, spin, options: tpuOptions, retryMs, fallback: cpuVariant } : null,
      warnings: [
        ...(plan ? edgetpuLibraryWarnings(library.version) : []),
        ...(plan ? fallbackWarnings : []),
        ...(pool * threads > availableParallelism() ? [threadsWarning(pool, threads, availableParallelism())] : []),
      ],
      dynamicOutputs: new Set((ir?.subgraphs[0]?.outputs ?? []).flatMap((t, i) => (ir!.subgraphs[0]!.tensors[t]?.shapeSignature?.slice(1).includes(-1) ? [i] : []))),
      timings: { readMs, validateMs, modelMs: t2 - t1, interpretersMs: t3 - t2 },
    });
  }

  /** Number of interpreters in the pool. */
  get poolSize(): number {
    return this.#tpu?.pool ?? this.#lanes.length;
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
      inputs = options?.frame ? this.#frameFeeds() : this.#checkFeeds(feeds);
      outputs = this.#outputArrays(options?.outputs);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#lostError && this.#lanes.length === 0 && !this.#switching) return Promise.reject(this.#lostError());
    return new Promise<NativeRunResult>((resolve, reject) => {
      const job: Job = { inputs, outputs, resolve, reject, ...(options?.frame ? { frame: options.frame } : {}) };
      const lane = this.#freest();
      if (lane) this.#dispatch(lane, job);
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
    const lane = this.#lanes.find((l) => l.interp.inFlight === 0);
    if (!lane) throw new ReefError('REEF_BUSY', 'invokeLoop needs an idle interpreter; await pending runs first');
    // A job like a run's: the watchdog and an Edge TPU's device-lost handling apply to it too.
    const ns = await new Promise<Float64Array>((resolve, reject) => {
      this.#dispatch(lane, { inputs: [], outputs: [], loop: iterations, resolve, reject });
    });
    return ns.map((v) => v / 1e6);
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
      if (this.#probe) clearInterval(this.#probe);
      this.#probe = null;
      // Native dispose defers the free of a busy interpreter until its job ends.
      for (const l of this.#lanes) l.interp.dispose();
      this.#model.dispose();
      this.#fallbackModel?.dispose();
    }
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const prev = this.#drained;
      this.#drained = () => { prev?.(); resolve(); };
    });
  }

  /** An invoke that failed on an Edge TPU: the device went away (or stopped answering). */
  #deviceLostError(lane: Lane, words: string): ReefError {
    const then = this.#tpu?.fallback
      ? `runs go to the bundle's ${this.#tpu.fallback.name} variant until it is back`
      : 'runs fail until it is back (a .reef bundle would run its CPU variant meanwhile)';
    return new ReefError('REEF_EDGETPU_DEVICE_LOST',
      `the Edge TPU (${lane.device ? deviceName(lane.device) : this.#delegate.reason}) failed the run: ${words.replace(/\.+$/, '')}. ` +
      `Check that the device is still attached (\`reef doctor\`); reef looks for it every ${this.#tpu?.retryMs ?? 1000} ms and ${then}`);
  }

  #disposedError(): ReefError {
    return new ReefError('REEF_DISPOSED', `the session for ${this.source} was disposed; load the model again`);
  }

  static #delegateOf(interp: NativeInterpreter): SessionDelegate {
    const d = interp.delegate;
    // TFLite's words can span lines; the reason is said on one.
    return Object.freeze({ name: d.name, reason: d.reason.replace(/\s*\n\s*/g, '; ') });
  }

  #dispatch(lane: Lane, job: Job): void {
    let running: Promise<NativeRunResult | Float64Array>;
    try {
      // Throws at once when an input was detached or resized since run() checked it.
      running = job.loop !== undefined ? lane.interp.invokeLoop(job.loop)
        : job.frame ? lane.interp.run(job.inputs, job.outputs, job.frame.rgb, job.frame.spec) : lane.interp.run(job.inputs, job.outputs);
    } catch (e) {
      job.reject(e);
      const next = this.#queue.shift();
      if (next) queueMicrotask(() => this.#dispatchAnywhere(next));
      return;
    }
    this.#inFlight++;
    if (lane.jobs.length > 0 && (lane.device || this.#watchdogMs > 0)) {
      // Handed over behind a running job on an interpreter that may be lost or abandoned: then this
      // job runs elsewhere, and must run on the input as it was handed over, whatever the caller has
      // done with its arrays since (README: reuse or transfer them once run() has handed them over).
      job.inputs = job.inputs.map((v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice());
      if (job.frame) job.frame = { ...job.frame, rgb: job.frame.rgb.slice() };
    }
    lane.jobs.push(job);
    if (this.#watchdogMs > 0 && lane.timer === null) this.#arm(lane);
    running.then(
      (r) => {
        if (!this.#settled(lane, job)) return;
        job.resolve(r as never);
        this.#release(lane);
      },
      (e: unknown) => {
        if (!this.#settled(lane, job)) return;
        if (lane.device && e instanceof ReefError && e.code === 'REEF_INVOKE_FAILED' && this.#deviceFailed(lane, e.message)) {
          const lost = this.#deviceLostError(lane, e.message);
          job.reject(lost);
          this.#dropInFlight(1);
          this.#loseLane(lane, () => this.#deviceLostError(lane, e.message), lost);
          return;
        }
        job.reject(e);
        this.#release(lane);
      },
    );
  }

  /** A lane's job ended: false when the lane was abandoned and the job already dealt with. */
  #settled(lane: Lane, job: Job): boolean {
    const at = lane.jobs.indexOf(job);
    if (at < 0) return false;
    lane.jobs.splice(at, 1);
    if (lane.timer) {
      if (lane.jobs.length === 0) {
        clearTimeout(lane.timer);
        lane.timer = null;
      } else {
        clearTimeout(lane.timer);
        this.#arm(lane);  // Progress: the next job gets the whole limit.
      }
    }
    return true;
  }

  #dispatchAnywhere(job: Job): void {
    const lane = this.#freest();
    if (lane) this.#dispatch(lane, job);
    else this.#queue.unshift(job);
  }

  /** Starts the lane's watchdog for its oldest job (a loop of N invokes gets N times the limit). */
  #arm(lane: Lane): void {
    lane.mark = lane.interp.finished;
    const loop = lane.jobs[0]?.loop ?? 1;
    lane.timer = setTimeout(() => this.#onHang(lane), Math.min(this.#watchdogMs * loop, 2_147_483_647));
    lane.timer.unref();  // A stuck invoke holds the process; the watchdog need not.
  }

  /** The watchdog fired: the lane's oldest job made no progress for watchdogMs. */
  #onHang(lane: Lane): void {
    lane.timer = null;
    if (lane.gone || lane.jobs.length === 0) return;
    const finished = lane.interp.finished;
    if (finished !== lane.mark) {
      // The runner ended a job that JS has not heard of yet (a busy event loop runs its timers
      // before the completions): progress, not a hang.
      this.#arm(lane);
      return;
    }
    const device = lane.device ? deviceName(lane.device) : null;
    const err = new ReefError('REEF_INVOKE_TIMEOUT',
      `the invoke on ${device ? `the Edge TPU (${device})` : 'the CPU'} made no progress for ${this.#watchdogMs} ms and was abandoned; ` +
      `${device ? 'the device is treated as lost' : 'the interpreter was replaced'}. Raise watchdogMs (--watchdog) if the model is just this slow here`);
    const [stuck] = lane.jobs.splice(0, 1);
    stuck!.reject(err);
    this.#dropInFlight(1);
    this.#tell('watchdog', { ms: this.#watchdogMs, device });
    if (lane.device) {
      // Only the stuck run timed out; the runs behind it never ran: theirs is a lost device.
      this.#loseLane(lane, () => this.#deviceLostError(lane, `it stopped answering (an earlier run got no answer within ${this.#watchdogMs} ms)`), err);
    } else {
      this.#retire(lane, true);
      if (lane.remake) void this.#replaceCpuLane(lane.remake, this.#cpuEpoch);
    }
  }

  /**
   * Emits after the current step: the session's state is settled before any listener runs, and a
   * listener that throws cannot leave it half-changed.
   */
  #tell<K extends keyof SessionEvents>(name: K, ...args: SessionEvents[K]): void {
    queueMicrotask(() => (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args));
  }

  /** Jobs that will never settle through #release (abandoned). */
  #dropInFlight(n: number): void {
    this.#inFlight -= n;
    if (this.#disposed && this.#inFlight === 0 && this.#drained) {
      const done = this.#drained;
      this.#drained = null;
      done();
    }
  }

  /** Hands queued runs to lanes with room. */
  #pump(): void {
    for (let lane = this.#freest(); lane && this.#queue.length > 0; lane = this.#freest()) this.#dispatch(lane, this.#queue.shift()!);
  }

  /**
   * Takes a lane out of the pool: its waiting jobs go back to the queue (abandon: they never ran),
   * or finish where they are (dispose).
   */
  #retire(lane: Lane, abandon: boolean): void {
    if (lane.gone) return;
    lane.gone = true;
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = null;
    this.#lanes = this.#lanes.filter((l) => l !== lane);
    if (abandon) {
      const waiting = lane.jobs.splice(0);
      lane.interp.abandon();
      if (this.#disposed) {
        for (const job of waiting) job.reject(this.#disposedError());
      } else {
        this.#queue.unshift(...waiting);  // They never started: they run elsewhere.
      }
      this.#dropInFlight(waiting.length);
      this.#pump();
    } else {
      lane.interp.dispose();  // Native: freed when its jobs end; they settle as usual.
    }
  }

  async #replaceCpuLane(remake: () => NativeInterpreter, epoch: number): Promise<void> {
    if (this.#disposed) return;
    let interp: NativeInterpreter | null = null;
    try {
      interp = remake();
      await interp.init();
    } catch (e) {
      interp?.dispose();
      if (this.#lanes.length === 0) for (const job of this.#queue.splice(0)) job.reject(e);
      return;
    }
    if (this.#disposed || epoch !== this.#cpuEpoch) { interp.dispose(); return; }  // The set it belonged to is gone.
    this.#addLane({ interp, device: null, jobs: [], timer: null, mark: 0, gone: false, remake });
  }

  /**
   * An invoke failed on an Edge TPU lane: is the device to blame? Not when TFLite names one of its
   * CPU kernels and the device is still listed (that run's own input was refused).
   */
  #deviceFailed(lane: Lane, words: string): boolean {
    if (!cpuNodeFailed(words)) return true;
    try {
      return !listEdgetpuDevices().some((d) => d.path === lane.device!.path);
    } catch {
      return true;
    }
  }

  #addLane(lane: Lane): void {
    this.#lanes.push(lane);
    this.#pump();
  }

  /** An Edge TPU lane failed or hung: out of the pool, CPU variant in if it was the last, look for the device. */
  #loseLane(lane: Lane, lost: () => ReefError, event: ReefError = lost()): void {
    if (lane.gone) return;
    // The other interpreters on the same device would fail the same way: out with them too.
    const same = this.#lanes.filter((l) => l !== lane && l.device?.path === lane.device!.path);
    for (const l of [lane, ...same]) this.#retire(l, true);
    if (this.#disposed) return;
    this.#lostLanes += 1 + same.length;
    const entry = this.#lostByDevice.get(lane.device!.path);
    this.#lostByDevice.set(lane.device!.path, { device: lane.device!, lanes: (entry?.lanes ?? 0) + 1 + same.length });
    this.#lostError = lost;
    this.#tell('device-lost', { device: deviceName(lane.device!), error: event });
    if (!this.#probe && this.#tpu && !this.#disposed) {
      this.#probe = setInterval(() => void this.#lookForDevices(), this.#tpu.retryMs);
      this.#probe.unref();
    }
    if (this.#lanes.length > 0) return;  // Other devices carry on.
    if (this.#tpu?.fallback) {
      if (!this.#switching) void this.#startFallback(lane);
    } else {
      for (const job of this.#queue.splice(0)) job.reject(lost());
    }
  }

  async #startFallback(lost: Lane): Promise<void> {
    const tpu = this.#tpu!;
    const fb = tpu.fallback!;
    this.#switching = true;
    let model: NativeModel | null = null;
    const interps: NativeInterpreter[] = [];
    try {
      model = new (native().Model)(fb.bytes);
      for (let i = 0; i < tpu.pool; i++) interps.push(new (native().Interpreter)(model, tpu.threads, true, tpu.spin));
      await Promise.all(interps.map((i) => i.init()));
      const first = interps[0]!;
      if (!sameSignature(first.inputs(), this.inputs) || !sameSignature(first.outputs(), this.outputs)) {
        throw new ReefError('REEF_VARIANT_UNAVAILABLE', `the ${fb.name} variant's inputs or outputs differ from the edgetpu variant's`);
      }
    } catch (e) {
      for (const i of interps) i.dispose();
      model?.dispose();
      this.#switching = false;
      for (const job of this.#queue.splice(0)) job.reject(this.#lostError ? this.#lostError() : e);
      return;
    }
    this.#switching = false;
    if (this.#disposed || this.#lostLanes === 0 || this.#lanes.some((l) => l.device)) {  // Disposed, or a device came back first.
      for (const i of interps) i.dispose();
      model.dispose();
      return;
    }
    this.#fallbackModel = model;
    this.#cpuEpoch++;
    const reason = `the Edge TPU (${deviceName(lost.device!)}) went away; the ${fb.name} variant runs on the CPU until it is back`;
    this.#fallbackVariant = { variant: fb.name as SessionVariant['variant'], reason, skipped: [], file: fb.file };
    this.#delegate = Session.#delegateOf(interps[0]!);
    this.#tell('fallback', { variant: fb.name, reason });
    const fallbackModel = model;
    const remake = (): NativeInterpreter => new (native().Interpreter)(fallbackModel, tpu.threads, true, tpu.spin);
    for (const interp of interps) this.#addLane({ interp, device: null, jobs: [], timer: null, mark: 0, gone: false, remake });
  }

  /**
   * Every retryMs while an Edge TPU lane is lost: a lost device listed again (same path), else a
   * matching device no interpreter of this session uses (a re-plugged USB device may come back
   * under another path), gets its interpreters back; the CPU variant is retired once.
   */
  async #lookForDevices(): Promise<void> {
    const tpu = this.#tpu;
    if (!tpu || this.#disposed || this.#lostLanes === 0 || this.#probing) return;
    let devices: EdgetpuDevice[];
    try {
      devices = matchDevices(tpu.spec, listEdgetpuDevices());
    } catch {
      return;
    }
    const busy = new Set(this.#lanes.filter((l) => l.device).map((l) => l.device!.path));
    const lost = [...this.#lostByDevice.values()];
    const back = lost.find((l) => devices.some((d) => d.path === l.device.path));
    const stranger = devices.find((d) => !busy.has(d.path) && !this.#lostByDevice.has(d.path));
    const entry = back ?? (stranger && lost[0]);
    if (!entry) return;
    const device = back ? devices.find((d) => d.path === back.device.path)! : stranger!;
    this.#probing = true;
    const interps: NativeInterpreter[] = [];
    try {
      for (let i = 0; i < entry.lanes; i++) {
        interps.push(new (native().Interpreter)(this.#model, tpu.threads, false, tpu.spin, { edgetpu: { ...device, options: tpu.options } }));
      }
      await Promise.all(interps.map((i) => i.init()));
    } catch {
      for (const i of interps) i.dispose();
      return;  // Not ready yet: the next round tries again.
    } finally {
      this.#probing = false;
    }
    if (this.#disposed) { for (const i of interps) i.dispose(); return; }
    this.#lostByDevice.delete(entry.device.path);
    this.#lostLanes -= entry.lanes;
    this.#cpuEpoch++;  // A CPU interpreter being remade for the fallback set is not wanted any more.
    const cpuLanes = this.#lanes.filter((l) => !l.device);
    for (const l of cpuLanes) this.#retire(l, false);
    if (this.#fallbackModel) {
      this.#fallbackModel.dispose();  // Native: freed once its interpreters are.
      this.#fallbackModel = null;
      this.#fallbackVariant = null;
    }
    this.#delegate = Session.#delegateOf(interps[0]!);
    if (this.#lostLanes === 0) {
      this.#lostError = null;
      if (this.#probe) clearInterval(this.#probe);
      this.#probe = null;
    }
    this.#tell('device-restored', { device: deviceName(device) });
    for (const interp of interps) this.#addLane({ interp, device, jobs: [], timer: null, mark: 0, gone: false, remake: null });
  }

  /** The interpreter with the fewest jobs, if one can take another (each takes INTERPRETER_SLOTS). */
  #freest(): Lane | undefined {
    if (this.#switching && this.#lanes.length === 0) return undefined;
    let best: Lane | undefined;
    for (const l of this.#lanes) {
      const n = l.interp.inFlight;
      if (n === 0) return l;
      if (n < INTERPRETER_SLOTS && (!best || n < best.interp.inFlight)) best = l;
    }
    return best;
  }

  #release(lane: Lane): void {
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
    if (!next) return;
    if (!lane.gone) this.#dispatch(lane, next);
    else this.#dispatchAnywhere(next);
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
