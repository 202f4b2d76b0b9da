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

/** One TFLite interpreter with its runner thread; invokes never overlap. */
export interface NativeInterpreter {
  /** Jobs handed over and not yet settled (0..INTERPRETER_SLOTS). */
  readonly inFlight: number;
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

/** Loads the addon once. Throws REEF_ADDON_NOT_BUILT when it is missing. */
export function native(): Addon {
  if (addon) return addon;
  const file = process.env.REEF_ADDON ?? join(PACKAGE_ROOT, 'build', 'Release', 'reef.node');
  if (!existsSync(file)) {
    throw new ReefError('REEF_ADDON_NOT_BUILT', `the native addon is not built: ${file} does not exist; run \`npm run build\``);
  }
  const require = createRequire(import.meta.url);
  try {
    addon = require(file) as Addon;
  } catch (e) {
    throw new ReefError('REEF_ADDON_NOT_BUILT', `the native addon ${file} failed to load: ${(e as Error).message}`, { cause: e });
  }
  addon.setErrorClass(ReefError);
  return addon;
}
