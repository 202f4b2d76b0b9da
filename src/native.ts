/**
 * The one typed boundary to the native addon. Nothing else in reef loads the
 * `.node` file; everything the addon offers is declared here.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ReefError } from './errors.js';
import { PACKAGE_ROOT } from './paths.js';
import type { DType } from './types.js';

export interface NativeTensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  scale: number;
  zeroPoint: number;
  byteLength: number;
  /** TFLite allocates this tensor during invoke: its shape and size are known only after each run. */
  dynamic: boolean;
}

/** What a finished run hands back besides the outputs written into the caller's arrays. */
export interface NativeRunResult {
  /** Time of TfLiteInterpreterInvoke alone, in nanoseconds. */
  ns: number;
  /** Every output's shape after the invoke, when any differs from outputs()' (else null). */
  shapes: number[][] | null;
  /** For each output passed as null: a new buffer holding what the invoke produced (else null). */
  buffers: Array<ArrayBuffer | undefined> | null;
}

/** Which delegate runs an interpreter's model, and why. */
export interface NativeDelegate {
  name: 'xnnpack' | 'edgetpu' | 'none';
  reason: string;
}

export interface LibraryInfo {
  path: string;
  version: string;
  xnnpack: boolean;
}

/** Owns model bytes and the TfLiteModel over them; shared by interpreters. */
export interface NativeModel {
  readonly byteLength: number;
  dispose(): void;
}

/** Jobs an interpreter accepts at once: one invoking, one waiting in its runner thread. */
export const INTERPRETER_SLOTS = 2;

/**
 * A camera frame for a run (native/preprocess.h): interleaved 8-bit pixels and a Float64Array of
 * FRAME_SPEC_LENGTH numbers: src width, height, channels; crop x, y, w, h (frame pixels); target
 * x, y, w, h (input pixels); input width, height, channels; filter (0 bilinear, 1 nearest); pad;
 * bgr (0/1); layout (0 NHWC, 1 NCHW); dtype (0 float32, 1 uint8, 2 int8); feed (0 float, 1 raw
 * pixels, 2 quantized); mean r, g, b; std r, g, b; scale; zero point.
 */
export interface NativeFrame {
  rgb: Uint8Array;
  spec: Float64Array;
}
export const FRAME_SPEC_LENGTH = 28;

/** One TFLite interpreter with its runner thread; invokes never overlap. */
export interface NativeInterpreter {
  /** Jobs handed over and not yet settled (0..INTERPRETER_SLOTS). */
  readonly inFlight: number;
  /** Jobs the runner thread has ended so far (their completion may still be on its way to JS). */
  readonly finished: number;
  /** Creates the interpreter and allocates tensors on a worker thread. */
  init(): Promise<void>;
  inputs(): NativeTensorInfo[];
  outputs(): NativeTensorInfo[];
  /** Which delegate runs the model (after init). */
  readonly delegate: NativeDelegate;
  /**
   * Copies inputs in, invokes, copies outputs out, on the runner thread. An output given as null is
   * returned in a new buffer of the size the invoke produced (dynamic outputs need that).
   */
  run(inputs: ArrayBufferView[], outputs: Array<ArrayBufferView | null>): Promise<NativeRunResult>;
  /** The same with input 0 made from a raw frame on the runner thread (`inputs[0]` is not read). */
  run(inputs: ArrayBufferView[], outputs: Array<ArrayBufferView | null>, frame: Uint8Array, spec: Float64Array): Promise<NativeRunResult>;
  /** A plain native loop of TfLiteInterpreterInvoke; resolves with per-invoke ns. */
  invokeLoop(iterations: number): Promise<Float64Array>;
  dispose(): void;
  /**
   * Gives up on the jobs in flight (an invoke that never returns): they are never settled, the
   * interpreter is freed (a stuck invoke keeps its TFLite objects until it returns). True when
   * there were jobs to give up on.
   */
  abandon(): boolean;
}

interface Addon {
  Model: new (bytes: Uint8Array) => NativeModel;
  Interpreter: new (model: NativeModel, threads: number, xnnpack: boolean, spinMicros?: number,
    options?: { edgetpu?: { type: 'usb' | 'pci'; path: string; options: Record<string, string> } }) => NativeInterpreter;
  loadLibrary(path: string): LibraryInfo;
  libraryInfo(): LibraryInfo | null;
  setErrorClass(cls: new (code: string, message: string) => Error): void;
  /** Opens libedgetpu (once per process); throws REEF_EDGETPU_RUNTIME_MISSING. */
  loadEdgetpu(path: string): { path: string; version: string };
  /** The Edge TPUs the loaded runtime lists (empty before loadEdgetpu). */
  edgetpuDevices(): Array<{ type: 'usb' | 'pci'; path: string }>;
  /** The lines TFLite logged (INFO: ...) while interpreters were created, instead of printing them; clears them. */
  takeTfliteLog(): string[];
  /** Median microseconds for a thread that slept sleepMicros to wake when notified (a machine floor for hand-offs). */
  wakeLatency(sleepMicros: number, rounds: number): number;
}


let addon: Addon | undefined;
let addonFile: string | undefined;

/** The platforms reef ships prebuilt addons (and TensorFlow Lite libraries) for, as `<platform>-<arch>`. */
export const PREBUILT_PLATFORMS = ['linux-x64', 'linux-arm64'] as const;

/** One place the addon may be, in the order they are tried. */
export interface AddonCandidate {
  path: string;
  /** env: $REEF_ADDON; prebuilt: prebuilds/<platform>-<arch>/ shipped in the package; local: build/Release (cmake-js or node-gyp). */
  source: 'env' | 'prebuilt' | 'local';
  exists: boolean;
}

/** True in a reef source checkout (src/ present), false in an installed package (dist/ only). */
export function isSourceCheckout(root: string = PACKAGE_ROOT): boolean {
  return existsSync(join(root, 'src', 'native.ts'));
}

/**
 * Where the addon is looked for: $REEF_ADDON alone when set; in an installed package the prebuilt addon
 * for this platform, then a local build (binding.gyp's, made by `npm rebuild reef`); in a source
 * checkout the local build first, so a developer's fresh build wins over a copy made at `npm pack`.
 */
export function addonCandidates(root: string = PACKAGE_ROOT, platform: string = process.platform, arch: string = process.arch): AddonCandidate[] {
  const env = process.env.REEF_ADDON;
  const prebuilt = { path: join(root, 'prebuilds', `${platform}-${arch}`, 'reef.node'), source: 'prebuilt' as const };
  const local = { path: join(root, 'build', 'Release', 'reef.node'), source: 'local' as const };
  const list: Array<Omit<AddonCandidate, 'exists'>> = env
    ? [{ path: env, source: 'env' }]
    : isSourceCheckout(root) ? [local, prebuilt] : [prebuilt, local];
  return list.map((c) => ({ ...c, exists: existsSync(c.path) }));
}

/** The fix for a missing addon, for where reef is: a source checkout or an installed package. */
export function addonFix(root: string = PACKAGE_ROOT, platform: string = process.platform, arch: string = process.arch): string {
  if (isSourceCheckout(root)) return 'in this source checkout run `npm run build` (cmake, a C++17 compiler)';
  const key = `${platform}-${arch}`;
  const shipped = (PREBUILT_PLATFORMS as readonly string[]).includes(key);
  return shipped
    ? `reef ships a prebuilt addon for ${key}: reinstall reef (its prebuilds/ folder is incomplete), or build one from source with \`npm rebuild reef\` (python3, make, a C++17 compiler)`
    : `reef ships prebuilt addons for ${PREBUILT_PLATFORMS.join(' and ')} only, not ${key}: build one from source with \`npm rebuild reef\` (python3, make, a C++17 compiler)`;
}

/** The file the loaded addon came from (undefined before native() succeeded). */
export function loadedAddonPath(): string | undefined {
  return addonFile;
}

/** Loads the addon once. Throws REEF_ADDON_NOT_BUILT when it is missing or does not load. */
export function native(): Addon {
  if (addon) return addon;
  const candidates = addonCandidates();
  const tried: string[] = [];
  const require = createRequire(import.meta.url);
  for (const c of candidates) {
    if (!c.exists) {
      tried.push(`${c.path} (${c.source}): no such file`);
      continue;
    }
    try {
      addon = require(c.path) as Addon;
      addonFile = c.path;
      break;
    } catch (e) {
      tried.push(`${c.path} (${c.source}): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (!addon) {
    const what = candidates.some((c) => c.exists) ? 'does not load' : 'is not built';
    throw new ReefError('REEF_ADDON_NOT_BUILT', `the native addon for ${process.platform}-${process.arch} ${what}; tried: ${tried.join('; ')}. Fix: ${addonFix()}`);
  }
  addon.setErrorClass(ReefError);
  return addon;
}
