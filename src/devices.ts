/**
 * Device profiles: one JSON file per board in devices/. The runtime reads the
 * profile that matches the host, or the one the user names.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ReefError } from './errors.js';
import { PACKAGE_ROOT } from './paths.js';

export interface Accelerator {
  type: 'edgetpu';
  interface: 'usb' | 'pcie';
  library: string;
}

export interface DeviceMatch {
  platform: string;
  arch: string;
  /** Substring of /proc/device-tree/model. */
  deviceTreeModel?: string;
  /** Any of these USB vendor:product ids present. */
  usb?: string[];
}

export interface DeviceProfile {
  id: string;
  name: string;
  arch: 'x64' | 'arm64';
  cpu: string;
  /** null: take the host's core count. */
  cores: number | null;
  accelerators: Accelerator[];
  defaultThreads: number;
  /** Path of libtensorflowlite_c on this board, or null for the build tfjs-tflite-node ships. */
  tfliteLibrary: string | null;
  match: DeviceMatch;
}

/** What the probe saw of the host; every field can come from fixture files in tests. */
export interface HostFacts {
  platform: string;
  arch: string;
  deviceTreeModel: string | null;
  usbIds: string[];
}

export const DEVICES_DIR = join(PACKAGE_ROOT, 'devices');

const REQUIRED: Array<[keyof DeviceProfile, string]> = [
  ['id', 'string'], ['name', 'string'], ['arch', 'string'], ['cpu', 'string'],
  ['accelerators', 'object'], ['defaultThreads', 'number'], ['match', 'object'],
];

/** Parses and checks one profile file. */
export function parseProfile(text: string, file: string): DeviceProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ReefError('REEF_DEVICE_PROFILE_INVALID', `device profile ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) {
    throw new ReefError('REEF_DEVICE_PROFILE_INVALID', `device profile ${file} must be a JSON object`);
  }
  const p = raw as Record<string, unknown>;
  for (const [key, type] of REQUIRED) {
    if (typeof p[key] !== type || p[key] === null) {
      throw new ReefError('REEF_DEVICE_PROFILE_INVALID', `device profile ${file}: field "${key}" must be a ${type}`);
    }
  }
  if (p.arch !== 'x64' && p.arch !== 'arm64') {
    throw new ReefError('REEF_DEVICE_PROFILE_INVALID', `device profile ${file}: arch must be "x64" or "arm64", got "${String(p.arch)}"`);
  }
  if (!Number.isInteger(p.defaultThreads) || (p.defaultThreads as number) < 1) {
    throw new ReefError('REEF_DEVICE_PROFILE_INVALID', `device profile ${file}: defaultThreads must be a positive integer`);
  }
  return raw as DeviceProfile;
}

/** All profiles in `dir` (devices/ by default), sorted by id. */
export function listProfiles(dir = DEVICES_DIR): DeviceProfile[] {
  if (!existsSync(dir)) {
    throw new ReefError('REEF_DEVICE_PROFILE_INVALID', `the device profile folder ${dir} does not exist`);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => parseProfile(readFileSync(join(dir, f), 'utf8'), join(dir, f)))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The profile with this id; REEF_DEVICE_PROFILE_INVALID naming the known ids otherwise. */
export function getProfile(id: string, dir = DEVICES_DIR): DeviceProfile {
  const all = listProfiles(dir);
  const p = all.find((x) => x.id === id);
  if (!p) {
    throw new ReefError('REEF_DEVICE_PROFILE_INVALID', `unknown device profile "${id}"; known: ${all.map((x) => x.id).join(', ')}`);
  }
  return p;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Reads the facts profiles match on. `root` lets tests point at fixture trees of /proc and /sys. */
export function probeHost(root = '/', platform: string = process.platform, arch: string = process.arch): HostFacts {
  const model = readText(join(root, 'proc/device-tree/model'));
  const usbIds: string[] = [];
  const usbDir = join(root, 'sys/bus/usb/devices');
  if (existsSync(usbDir)) {
    for (const d of readdirSync(usbDir)) {
      const v = readText(join(usbDir, d, 'idVendor'));
      const p = readText(join(usbDir, d, 'idProduct'));
      if (v && p) usbIds.push(`${v.trim()}:${p.trim()}`.toLowerCase());
    }
  }
  return {
    platform,
    arch,
    deviceTreeModel: model === null ? null : model.replace(/\0/g, '').trim(),
    usbIds,
  };
}

function score(p: DeviceProfile, host: HostFacts): number {
  const m = p.match;
  if (m.platform !== host.platform || m.arch !== host.arch) return -1;
  let s = 1;
  if (m.deviceTreeModel !== undefined) {
    if (!host.deviceTreeModel?.includes(m.deviceTreeModel)) return -1;
    s += 2;
  }
  if (m.usb !== undefined) {
    if (!m.usb.some((id) => host.usbIds.includes(id.toLowerCase()))) return -1;
    s += 4;
  }
  return s;
}

/** The most specific profile whose match rules all hold for the host, or null. */
export function matchProfile(host: HostFacts, profiles: DeviceProfile[]): DeviceProfile | null {
  let best: DeviceProfile | null = null;
  let bestScore = -1;
  for (const p of profiles) {
    const s = score(p, host);
    if (s > bestScore) {
      best = p;
      bestScore = s;
    }
  }
  return best;
}

/** The profile for this host (or `id` when given), null when nothing matches. */
export function hostProfile(id?: string): DeviceProfile | null {
  if (id !== undefined) return getProfile(id);
  return matchProfile(probeHost(), listProfiles());
}
