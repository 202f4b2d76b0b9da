/**
 * The onnxruntime backend: ONNX models run through onnxruntime-node (CPU execution provider)
 * behind the same interpreter contract as the native TFLite one ({@link NativeInterpreter}),
 * so a Session over an .onnx file has the same inputs/outputs vocabulary, feed checks, pool,
 * queue, dispose and ReefError codes. Threads map to onnxruntime's intra-op threads.
 */
import type * as Ort from 'onnxruntime-node';
import { ReefError } from '../errors.js';
import { isOnnx, readOnnx } from '../model/onnx/reader.js';
import type { NativeDelegate, NativeInterpreter, NativeModel, NativeRunResult, NativeTensorInfo } from '../native.js';
import { TYPED_ARRAY_FOR, type DType, type TypedArray } from '../types.js';

const ORT_DTYPES: Record<string, DType> = {
  float32: 'float32', float64: 'float64', float16: 'float16', int8: 'int8', uint8: 'uint8', int16: 'int16',
  int32: 'int32', int64: 'int64', uint32: 'uint32', uint64: 'uint64', bool: 'bool', string: 'string',
};

/**
 * onnxruntime-node is an optional peer dependency (its linux-x64 install script downloads CUDA
 * libraries, and TFLite users never need it): loaded on the first .onnx model, never before.
 */
let ort: typeof Ort | undefined;
let loading: Promise<typeof Ort> | undefined;

/** The install command REEF_ONNX_RUNTIME_MISSING names: the range reef is tested with. */
export const ONNXRUNTIME_INSTALL = 'npm install onnxruntime-node@^1.30.0';

/**
 * Loads onnxruntime-node (once).
 * @throws ReefError REEF_ONNX_RUNTIME_MISSING when it is not installed (or does not load here).
 */
export function loadOnnxRuntime(source = 'an .onnx model'): Promise<typeof Ort> {
  if (ort) return Promise.resolve(ort);
  loading ??= import('onnxruntime-node').then((m) => {
    ort = m;
    return m;
  }, (e: Error & { code?: string }) => {
    loading = undefined;
    throw e;
  });
  return loading.catch((e: Error & { code?: string }) => {
    const absent = (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && /onnxruntime-node/.test(e.message) && !/onnxruntime-node[\\/]/.test(e.message);
    throw new ReefError('REEF_ONNX_RUNTIME_MISSING', absent
      ? `${source} needs onnxruntime-node, an optional dependency of reef that is not installed. Install it beside reef: \`${ONNXRUNTIME_INSTALL}\` (or convert the model to TFLite once, where it is installed: \`reef convert model.onnx -o model.tflite\`)`
      : `${source} needs onnxruntime-node, which is installed but does not load here (${e.message.split('\n')[0]}). Reinstall it: \`${ONNXRUNTIME_INSTALL}\``, { cause: e });
  });
}

/** The onnxruntime version reef runs ONNX models with (null until an .onnx model was loaded). */
export function onnxRuntimeVersion(): string | null {
  return ort ? ort.env.versions.node ?? ort.env.versions.common : null;
}

/**
 * Is this an ONNX model (a `.onnx` path, or bytes reef's ONNX reader accepts)?
 * @throws ReefError REEF_MODEL_INVALID for a `.onnx` file whose bytes are not a valid ONNX model.
 */
export function isOnnxModel(bytes: Uint8Array, source: string): boolean {
  const named = source.toLowerCase().endsWith('.onnx');
  if (!named && !isOnnx(bytes)) return false;
  try {
    readOnnx(bytes);
    return true;
  } catch (e) {
    if (!named) return false;
    if (e instanceof ReefError) throw new ReefError(e.code, `${source}: ${e.message}`);
    throw e;
  }
}

/** The "model" of an ONNX session: the bytes are held by onnxruntime's sessions. */
export function onnxModel(bytes: Uint8Array): NativeModel {
  return { byteLength: bytes.byteLength, dispose: () => undefined };
}

function info(m: Ort.InferenceSession.ValueMetadata, source: string, kind: 'input' | 'output', given?: number[]): NativeTensorInfo {
  if (!m.isTensor) throw new ReefError('REEF_MODEL_INVALID', `${source}: ${kind} "${m.name}" is not a tensor (a sequence or map); reef runs tensor models`);
  const dtype = ORT_DTYPES[m.type] ?? 'unknown';
  // Symbolic dimensions (batch, height...) run as 1 for inputs; outputs take the shape each run produces.
  const dynamic = m.shape.length === 0 || m.shape.some((d) => typeof d !== 'number' || d < 0);
  if (given && (given.length !== m.shape.length || given.some((d, i) => !Number.isInteger(d) || d < 1 || typeof m.shape[i] === 'number' && m.shape[i]! >= 0 && m.shape[i] !== d))) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a shape matching [${m.shape.join(',')}] for inputShapes.${m.name} but received [${given.join(',')}]`);
  }
  const shape = given ? [...given] : m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : kind === 'input' ? 1 : -1));
  const size = TYPED_ARRAY_FOR[dtype]?.BYTES_PER_ELEMENT ?? 0;
  const n = shape.reduce((a, b) => a * Math.max(b, 0), 1);
  return { name: m.name, dtype, shape, scale: 0, zeroPoint: 0, byteLength: n * size, dynamic: kind === 'output' && dynamic };
}

/** onnxruntime-node after loadOnnxRuntime() (init() ran before any run). */
function loaded(): typeof Ort {
  if (!ort) throw new ReefError('REEF_INVALID_STATE', 'onnxruntime-node was used before it was loaded');
  return ort;
}

/** One onnxruntime InferenceSession; runs on it never overlap (the Session queues up to INTERPRETER_SLOTS). */
export class OnnxInterpreter implements NativeInterpreter {
  delegate: NativeDelegate = { name: 'none', reason: 'onnxruntime-node (CPU execution provider) runs ONNX models; no TFLite delegate' };
  #session: Ort.InferenceSession | undefined;
  #inputs: NativeTensorInfo[] = [];
  #outputs: NativeTensorInfo[] = [];
  #inFlight = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #disposed = false;

  constructor(readonly bytes: Uint8Array, readonly threads: number, readonly source: string, readonly inputShapes: Record<string, number[]> = {}) {}

  #finished = 0;
  /** Runs ended so far (the watchdog's progress count). */
  get finished(): number {
    return this.#finished;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async init(): Promise<void> {
    const ort = await loadOnnxRuntime(this.source);
    this.delegate = { name: 'none', reason: `onnxruntime-node ${onnxRuntimeVersion()} (CPU execution provider) runs ONNX models; no TFLite delegate` };
    try {
      this.#session = await ort.InferenceSession.create(this.bytes, {
        executionProviders: ['cpu'], intraOpNumThreads: this.threads, interOpNumThreads: 1,
        graphOptimizationLevel: 'all', logSeverityLevel: 3,
      });
    } catch (e) {
      throw new ReefError('REEF_INTERPRETER_FAILED', `${this.source}: onnxruntime could not create a session: ${(e as Error).message}`);
    }
    this.#inputs = this.#session.inputMetadata.map((m) => info(m, this.source, 'input', this.inputShapes[m.name]));
    for (const name of Object.keys(this.inputShapes)) {
      if (!this.#inputs.some((t) => t.name === name)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an input name of ${this.source} (${this.#inputs.map((t) => t.name).join(', ')}) for inputShapes but received "${name}"`);
    }
    this.#outputs = this.#session.outputMetadata.map((m) => info(m, this.source, 'output'));
  }

  inputs(): NativeTensorInfo[] {
    return this.#inputs.map((t) => ({ ...t, shape: [...t.shape] }));
  }

  outputs(): NativeTensorInfo[] {
    return this.#outputs.map((t) => ({ ...t, shape: [...t.shape] }));
  }

  run(inputs: ArrayBufferView[], outputs: Array<ArrayBufferView | null>): Promise<NativeRunResult> {
    if (this.#disposed || !this.#session) return Promise.reject(new ReefError('REEF_DISPOSED', `the session for ${this.source} was disposed; load the model again`));
    // Copied at hand-over, as the native backend does: the caller may reuse its arrays at once.
    const ort = loaded();
    const feeds: Record<string, Ort.Tensor> = {};
    this.#inputs.forEach((t, i) => {
      const v = inputs[i] as TypedArray;
      const copy = v.slice() as TypedArray;
      feeds[t.name] = new ort.Tensor(t.dtype as 'float32', copy as Float32Array, t.shape);
    });
    this.#inFlight++;
    const session = this.#session;
    const job = this.#tail.then(async () => {
      const t0 = process.hrtime.bigint();
      let result: Ort.InferenceSession.OnnxValueMapType;
      try {
        result = await session.run(feeds);
      } catch (e) {
        throw new ReefError('REEF_INVOKE_FAILED', `${this.source}: onnxruntime failed to run the model: ${(e as Error).message}`);
      }
      const ns = Number(process.hrtime.bigint() - t0);
      let changed = false;
      const shapes = this.#outputs.map((t) => {
        const dims = [...(result[t.name]!.dims as readonly number[])];
        if (dims.length !== t.shape.length || dims.some((d, k) => d !== t.shape[k])) changed = true;
        return dims;
      });
      const buffers = this.#outputs.map((t, k) => {
        const data = result[t.name]!.data as TypedArray;
        const into = outputs[k];
        if (into) {
          if (into.byteLength !== data.byteLength) throw new ReefError('REEF_OUTPUT_MISMATCH', `output "${t.name}" produced ${data.byteLength} bytes but the array given holds ${into.byteLength}`);
          new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          return undefined;
        }
        return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
      });
      for (const t of Object.values(result)) t.dispose();
      return { ns, shapes: changed ? shapes : null, buffers: outputs.some((o) => o === null) ? buffers : null };
    });
    this.#tail = job.catch(() => undefined);
    return job.finally(() => {
      this.#finished++;
      this.#inFlight--;
      if (this.#disposed && this.#inFlight === 0) void session.release();
    });
  }

  async invokeLoop(iterations: number): Promise<Float64Array> {
    const out = new Float64Array(iterations);
    const zeros = this.#inputs.map((t) => new (TYPED_ARRAY_FOR[t.dtype] ?? Float32Array)(t.byteLength / (TYPED_ARRAY_FOR[t.dtype]?.BYTES_PER_ELEMENT ?? 4)));
    const nulls = this.#outputs.map(() => null);
    for (let i = 0; i < iterations; i++) out[i] = (await this.run(zeros, nulls)).ns;
    return out;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#inFlight === 0) void this.#session?.release();
  }

  /** onnxruntime cannot cancel a run: the session is let go (freed when the run ends). */
  abandon(): boolean {
    const had = this.#inFlight > 0;
    this.dispose();
    return had;
  }
}
