/**
 * The Edge TPU at run time: finding and loading libedgetpu, listing devices, choosing one with
 * pycoral's device grammar, and checking a compiled model against the runtime before TFLite sees
 * it, so every failure is said in the user's terms.
 */
import { existsSync } from 'node:fs';
import { ReefError } from '../errors.js';
import { native } from '../native.js';
import type { DeviceProfile } from '../devices.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { edgetpuSegments } from '../edgetpu/custom_op.js';
import { EDGETPU_LIBRARY_PATHS } from './edgetpu-host.js';

/** An Edge TPU the runtime lists. */
export interface EdgetpuDevice {
  type: 'usb' | 'pci';
  path: string;
}

/** The loaded Edge TPU runtime. */
export interface EdgetpuRuntime {
  path: string;
  /** edgetpu_version() as the runtime says it. */
  version: string;
  /** The N of "RuntimeVersion(N)". */
  runtimeVersion: number;
}

/** What --edgetpu / the `edgetpu` load option asks for (pycoral's grammar). */
export interface EdgetpuSpec {
  /** 'off': never use the Edge TPU. */
  off: boolean;
  type: 'usb' | 'pci' | null;
  /** Index among the devices of `type` (or among all when type is null). */
  index: number | null;
}

/**
 * Parses a device spec: '' (any), 'usb', 'pci', ':N', 'usb:N', 'pci:N', or 'off'.
 * @example parseEdgetpuSpec('usb:1') // { off: false, type: 'usb', index: 1 }
 * @throws ReefError REEF_INVALID_ARGUMENT for anything else.
 */
export function parseEdgetpuSpec(spec: string): EdgetpuSpec {
  if (spec === 'off') return { off: true, type: null, index: null };
  const m = /^(usb|pci)?(?::(\d+))?$/.exec(spec);
  if (!m || (spec.startsWith(':') && m[2] === undefined)) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected an Edge TPU device spec ('' for any, usb, pci, :N, usb:N, pci:N, or off) for edgetpu but received "${spec}"`);
  }
  return { off: false, type: (m[1] as 'usb' | 'pci' | undefined) ?? null, index: m[2] === undefined ? null : Number(m[2]) };
}

/** The devices a spec selects, in the runtime's order (all matching ones when no index is given). */
export function matchDevices(spec: EdgetpuSpec, devices: readonly EdgetpuDevice[]): EdgetpuDevice[] {
  const ofType = spec.type ? devices.filter((d) => d.type === spec.type) : [...devices];
  if (spec.index === null) return ofType;
  const d = ofType[spec.index];
  return d ? [d] : [];
}

/** The N of "... RuntimeVersion(N)"; NaN when the text does not say. */
export function parseRuntimeVersion(version: string): number {
  const m = /RuntimeVersion\((\d+)\)/.exec(version);
  return m ? Number(m[1]) : NaN;
}

/** Where libedgetpu is looked for: option, $REEF_EDGETPU_LIBRARY, the device profile, the usual paths, then the loader's search. */
export function edgetpuLibraryCandidates(option?: string, profile?: DeviceProfile | null): string[] {
  const out: string[] = [];
  if (option) out.push(option);
  if (process.env.REEF_EDGETPU_LIBRARY) out.push(process.env.REEF_EDGETPU_LIBRARY);
  for (const a of profile?.accelerators ?? []) if (a.type === 'edgetpu' && a.library) out.push(a.library);
  out.push(...EDGETPU_LIBRARY_PATHS.filter((p) => existsSync(p)), 'libedgetpu.so.1');
  return out.filter((p, i) => out.indexOf(p) === i);
}

export const EDGETPU_INSTALL =
  'install the Edge TPU runtime: add Coral\'s apt repository (https://coral.ai/software/#debian-packages) and ' +
  '`sudo apt-get install libedgetpu1-std`, or point REEF_EDGETPU_LIBRARY at a libedgetpu.so.1';

/**
 * Loads libedgetpu (once per process) and says its version, or null when none can be loaded.
 * An explicit choice (option or $REEF_EDGETPU_LIBRARY) that fails is an error, never replaced.
 */
export function loadEdgetpuRuntime(option?: string, profile?: DeviceProfile | null): EdgetpuRuntime | null {
  const addon = native();
  const explicit = option ?? process.env.REEF_EDGETPU_LIBRARY;
  const tried: string[] = [];
  for (const path of edgetpuLibraryCandidates(option, profile)) {
    try {
      const r = addon.loadEdgetpu(path);
      return { path: r.path, version: r.version, runtimeVersion: parseRuntimeVersion(r.version) };
    } catch (e) {
      tried.push((e as Error).message);
      if (path === explicit) {
        throw new ReefError('REEF_EDGETPU_RUNTIME_MISSING', `cannot load the Edge TPU runtime ${path}: ${(e as Error).message}`);
      }
    }
  }
  return null;
}

/** The Edge TPUs the loaded runtime sees (none before a runtime is loaded). */
export function listEdgetpuDevices(): EdgetpuDevice[] {
  return native().edgetpuDevices();
}

/** The oldest runtime version the model's compiled segments need (0 when it has none). */
export function minRuntimeVersion(model: TfliteModel): number {
  return Math.max(0, ...edgetpuSegments(model).flatMap((s) => s.info.packages.map((p) => p.minRuntimeVersion)));
}

/** True when the model holds edgetpu-custom-op segments (compiled by edgetpu_compiler). */
export function isCompiledForEdgetpu(model: TfliteModel): boolean {
  return edgetpuSegments(model).length > 0;
}

/** " (here: x.tflite)" when the compiler's input sits beside its output, as edgetpu_compiler leaves it. */
function cpuTwin(source: string): string {
  const twin = source.replace(/_edgetpu\.tflite$/, '.tflite');
  return twin !== source && existsSync(twin) ? ` (here: ${twin})` : '';
}

export interface EdgetpuPlan {
  runtime: EdgetpuRuntime;
  /** One device per interpreter of the pool, spread round-robin over the matching devices. */
  devices: EdgetpuDevice[];
}

/**
 * Everything that can be checked before a compiled model reaches TFLite: a runtime is there and
 * new enough for the model, and a device matches the spec.
 * @throws ReefError REEF_EDGETPU_RUNTIME_MISSING, REEF_EDGETPU_RUNTIME_TOO_OLD, REEF_EDGETPU_NO_DEVICE.
 */
export function planEdgetpu(source: string, model: TfliteModel, spec: EdgetpuSpec, pool: number,
  library?: string, profile?: DeviceProfile | null): EdgetpuPlan {
  const runtime = loadEdgetpuRuntime(library, profile);
  if (!runtime) {
    throw new ReefError('REEF_EDGETPU_RUNTIME_MISSING',
      `${source} was compiled for the Edge TPU, and no Edge TPU runtime (libedgetpu.so.1) is installed: ${EDGETPU_INSTALL}. ` +
      `Or run the CPU model, the one given to edgetpu_compiler${cpuTwin(source)}.`);
  }
  const need = minRuntimeVersion(model);
  if (Number.isFinite(runtime.runtimeVersion) && need > runtime.runtimeVersion) {
    throw new ReefError('REEF_EDGETPU_RUNTIME_TOO_OLD',
      `${source} needs Edge TPU runtime version ${need} or newer, and the installed runtime (${runtime.path}) is version ` +
      `${runtime.runtimeVersion}. Either upgrade libedgetpu (\`sudo apt-get install --only-upgrade libedgetpu1-std\`), or ` +
      `recompile the model for this runtime: \`edgetpu_compiler -m ${runtime.runtimeVersion} model.tflite\` ` +
      `(reef edgetpu compile --min-runtime ${runtime.runtimeVersion}).`);
  }
  const all = listEdgetpuDevices();
  const chosen = matchDevices(spec, all);
  if (chosen.length === 0) {
    const want = spec.type === null && spec.index === null ? 'an Edge TPU' : `the Edge TPU "${specText(spec)}"`;
    throw new ReefError('REEF_EDGETPU_NO_DEVICE',
      all.length === 0
        ? `${source} needs ${want}, and the runtime (${runtime.path}, version ${runtime.runtimeVersion}) sees no Coral device: ` +
          'plug in the USB Accelerator (on a USB 3 port) or check the PCIe driver (/dev/apex_0); `reef doctor` says what is missing'
        : `${source} asked for ${want}, which is not there; the runtime sees ${all.map((d, i) => `${d.type}:${all.filter((x, j) => j < i && x.type === d.type).length} (${d.path})`).join(', ')}`);
  }
  return { runtime, devices: Array.from({ length: pool }, (_, i) => chosen[i % chosen.length]!) };
}

function specText(s: EdgetpuSpec): string {
  return `${s.type ?? ''}${s.index === null ? '' : `:${s.index}`}`;
}

/**
 * libedgetpu's last release was built against TensorFlow Lite 2.5-2.11; with 2.12 and newer users
 * report segfaults. reef ships 2.9; a user's own newer TFLite gets a warning, not a refusal.
 */
export function edgetpuLibraryWarnings(tfliteVersion: string): string[] {
  const m = /^(\d+)\.(\d+)/.exec(tfliteVersion);
  if (!m || Number(m[1]) < 2 || (Number(m[1]) === 2 && Number(m[2]) <= 11)) return [];
  return [`TensorFlow Lite ${tfliteVersion} is newer than libedgetpu was built for (2.5-2.11); users report crashes with 2.12 and newer: ` +
    'use the TFLite 2.9 reef ships (unset REEF_TFLITE_LIBRARY / --library) if the Edge TPU misbehaves'];
}
