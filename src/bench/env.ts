/**
 * The environment a benchmark ran in, so that a result can be compared with
 * another: CPU, cores, frequency governor and frequencies, temperatures and
 * throttling where the board exposes them. Every probe reads files under a
 * `root` (default "/") and runs commands through an injectable runner, so
 * tests use fixture trees of /proc and /sys.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';

/** One thermal zone (/sys/class/thermal/thermal_zoneN). */
export interface ThermalZone {
  zone: string;
  type: string | null;
  celsius: number;
}

/** Raspberry Pi firmware throttling state (`vcgencmd get_throttled`). */
export interface ThrottleState {
  /** The raw bit field, e.g. "0x50005". */
  raw: string;
  /** Conditions active now. */
  now: string[];
  /** Conditions that occurred since boot. */
  sinceBoot: string[];
}

/** What the host looked like. Fields are null where the host does not expose them. */
export interface HostEnv {
  platform: string;
  arch: string;
  kernel: string;
  node: string;
  cpu: {
    model: string;
    cores: number;
    /** "Hardware" line of /proc/cpuinfo on ARM boards (e.g. BCM2835). */
    hardware: string | null;
  };
  /** /proc/device-tree/model (Raspberry Pi and other device-tree boards). */
  board: string | null;
  /** Governor of each CPU that has one, distinct values in CPU order. */
  governor: string | null;
  freqMHz: { cur: number | null; min: number | null; max: number | null } | null;
  thermal: ThermalZone[];
  /** Raspberry Pi: from vcgencmd; null when it is not installed. */
  throttled: ThrottleState | null;
  /** Linux x86: sum of cpu*\/thermal_throttle/core_throttle_count, null where absent. */
  coreThrottleCount: number | null;
  /** /proc/loadavg: runnable tasks averaged over 1, 5 and 15 minutes; null where absent. */
  loadAvg: [number, number, number] | null;
  /** Things that make the numbers less trustworthy or less comparable. */
  warnings: string[];
}

/** Runs a command and resolves with its stdout, or null when it cannot be run. */
export type CommandRunner = (cmd: string, args: string[]) => Promise<string | null>;

/** The real runner: execFile with a 2 s timeout; null on any failure. */
export const runCommand: CommandRunner = (cmd, args) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 2000 }, (err, stdout) => resolve(err ? null : stdout));
  });

/** Where the probes look; every field defaults to the real host. */
export interface ProbeOptions {
  /** Folder standing for "/" (tests: a fixture tree). Default "/". */
  root?: string;
  /** Runs vcgencmd; default {@link runCommand}. */
  run?: CommandRunner;
  platform?: string;
  arch?: string;
  kernel?: string;
  node?: string;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readNumber(path: string): number | null {
  const t = readText(path);
  if (t === null) return null;
  const n = Number(t.trim());
  return t.trim() !== '' && Number.isFinite(n) ? n : null;
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** ARM "CPU part" ids of /proc/cpuinfo (implementer 0x41, Arm Ltd). */
const ARM_PARTS: Record<string, string> = {
  '0xd03': 'Cortex-A53', '0xd04': 'Cortex-A35', '0xd05': 'Cortex-A55', '0xd07': 'Cortex-A57',
  '0xd08': 'Cortex-A72', '0xd09': 'Cortex-A73', '0xd0a': 'Cortex-A75', '0xd0b': 'Cortex-A76',
  '0xd0d': 'Cortex-A77', '0xd41': 'Cortex-A78', '0xd44': 'Cortex-X1', '0xd46': 'Cortex-A510',
  '0xd47': 'Cortex-A710', '0xd4b': 'Cortex-A78C',
};

/**
 * Parses /proc/cpuinfo: the CPU model (x86 "model name"; ARM "CPU part" mapped
 * to the core's name, or "Model"), the number of "processor" entries and
 * the ARM "Hardware" line.
 */
export function parseCpuinfo(text: string): { model: string | null; cores: number; hardware: string | null } {
  let model: string | null = null;
  let part: string | null = null;
  let boardModel: string | null = null;
  let hardware: string | null = null;
  let cores = 0;
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (key === 'processor') cores++;
    else if (key === 'model name' && model === null) model = value;
    else if (key === 'CPU part' && part === null) part = value.toLowerCase();
    else if (key === 'Hardware') hardware = value;
    else if (key === 'Model') boardModel = value;
  }
  if (model === null && part !== null) model = ARM_PARTS[part] ?? `ARM CPU part ${part}`;
  if (model === null) model = boardModel;
  return { model, cores, hardware };
}

const THROTTLE_BITS: Array<[number, string]> = [
  [0, 'under-voltage'], [1, 'arm frequency capped'], [2, 'throttled'], [3, 'soft temperature limit'],
];

/**
 * Parses `vcgencmd get_throttled` ("throttled=0x50005"): bits 0-3 are
 * conditions now, bits 16-19 the same conditions since boot.
 */
export function parseThrottled(text: string): ThrottleState | null {
  const m = /throttled=(0x[0-9a-f]+)/i.exec(text);
  if (!m) return null;
  const v = parseInt(m[1], 16);
  return {
    raw: m[1].toLowerCase(),
    now: THROTTLE_BITS.filter(([b]) => (v >> b) & 1).map(([, name]) => name),
    sinceBoot: THROTTLE_BITS.filter(([b]) => (v >> (b + 16)) & 1).map(([, name]) => name),
  };
}

/** Parses `vcgencmd measure_temp` ("temp=48.3'C") to degrees Celsius. */
export function parseVcgencmdTemp(text: string): number | null {
  const m = /temp=(-?\d+(?:\.\d+)?)/.exec(text);
  return m ? Number(m[1]) : null;
}

/** /sys/class/thermal/thermal_zone* temperatures (millidegrees in the files). */
export function readThermal(root: string): ThermalZone[] {
  const dir = join(root, 'sys/class/thermal');
  return list(dir)
    .filter((d) => /^thermal_zone\d+$/.test(d))
    .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)))
    .flatMap((zone) => {
      const milli = readNumber(join(dir, zone, 'temp'));
      if (milli === null) return [];
      return [{ zone, type: readText(join(dir, zone, 'type'))?.trim() ?? null, celsius: milli / 1000 }];
    });
}

function cpuDirs(root: string): string[] {
  return list(join(root, 'sys/devices/system/cpu'))
    .filter((d) => /^cpu\d+$/.test(d))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
}

/** Distinct scaling governors over all CPUs, joined by "," in CPU order; null when none is exposed. */
export function readGovernor(root: string): string | null {
  const seen: string[] = [];
  for (const cpu of cpuDirs(root)) {
    const g = readText(join(root, 'sys/devices/system/cpu', cpu, 'cpufreq/scaling_governor'))?.trim();
    if (g && !seen.includes(g)) seen.push(g);
  }
  return seen.length ? seen.join(',') : null;
}

/** cpu0's current, min and max scaling frequency in MHz (the files hold kHz). */
export function readFrequencies(root: string): HostEnv['freqMHz'] {
  const dir = join(root, 'sys/devices/system/cpu/cpu0/cpufreq');
  const mhz = (f: string): number | null => {
    const k = readNumber(join(dir, f));
    return k === null ? null : k / 1000;
  };
  const out = { cur: mhz('scaling_cur_freq'), min: mhz('scaling_min_freq'), max: mhz('scaling_max_freq') };
  return out.cur === null && out.min === null && out.max === null ? null : out;
}

function readCoreThrottleCount(root: string): number | null {
  let total: number | null = null;
  for (const cpu of cpuDirs(root)) {
    const n = readNumber(join(root, 'sys/devices/system/cpu', cpu, 'thermal_throttle/core_throttle_count'));
    if (n !== null) total = (total ?? 0) + n;
  }
  return total;
}

/** Parses /proc/loadavg ("0.89 0.46 0.23 1/123 4567") into the three averages. */
export function parseLoadavg(text: string): [number, number, number] | null {
  const parts = text.trim().split(/\s+/).slice(0, 3).map(Number);
  return parts.length === 3 && parts.every(Number.isFinite) ? [parts[0], parts[1], parts[2]] : null;
}

/** Temperature at which the warnings call a board hot (Raspberry Pi firmware soft limit is 80-85 C). */
export const HOT_CELSIUS = 80;

/**
 * Probes the host. Never throws for a missing file or command: the field is
 * null (or empty), and a warning says what could not be checked when it matters.
 * @example
 * const env = await probeEnv();
 * if (env.warnings.length) console.warn(env.warnings.join('\n'));
 */
export async function probeEnv(options: ProbeOptions = {}): Promise<HostEnv> {
  const root = options.root ?? '/';
  const run = options.run ?? runCommand;
  const platform = options.platform ?? process.platform;
  const info = parseCpuinfo(readText(join(root, 'proc/cpuinfo')) ?? '');
  const fallback = options.root === undefined ? cpus() : [];
  const board = readText(join(root, 'proc/device-tree/model'))?.replace(/\0/g, '').trim() || null;
  const governor = readGovernor(root);
  const thermal = readThermal(root);
  let throttled: ThrottleState | null = null;
  if (platform === 'linux') {
    const out = await run('vcgencmd', ['get_throttled']);
    throttled = out === null ? null : parseThrottled(out);
    if (throttled && !thermal.length) {
      const t = await run('vcgencmd', ['measure_temp']);
      const c = t === null ? null : parseVcgencmdTemp(t);
      if (c !== null) thermal.push({ zone: 'vcgencmd', type: 'soc', celsius: c });
    }
  }
  const loadText = readText(join(root, 'proc/loadavg'));
  const loadAvg = loadText === null ? null : parseLoadavg(loadText);
  const cores = info.cores || fallback.length;
  const warnings: string[] = [];
  if (governor === null) {
    warnings.push('CPU frequency governor not exposed (no cpufreq in /sys): frequency scaling could not be checked');
  } else if (governor !== 'performance') {
    warnings.push(`CPU frequency governor is "${governor}", not "performance": latency varies with frequency scaling ` +
      '(set it with `echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor`)');
  }
  for (const z of thermal) {
    if (z.celsius >= HOT_CELSIUS) warnings.push(`${z.zone}${z.type ? ` (${z.type})` : ''} is at ${z.celsius.toFixed(1)} C: the CPU may throttle`);
  }
  if (loadAvg && cores > 0 && loadAvg[0] > cores) {
    warnings.push(`load average ${loadAvg[0].toFixed(2)} over the last minute on ${cores} cores: other work competes for the CPU`);
  }
  if (throttled?.now.length) warnings.push(`the firmware reports ${throttled.now.join(', ')} now (throttled=${throttled.raw})`);
  else if (throttled?.sinceBoot.length) warnings.push(`the firmware reports ${throttled.sinceBoot.join(', ')} since boot (throttled=${throttled.raw})`);
  return {
    platform,
    arch: options.arch ?? process.arch,
    kernel: options.kernel ?? release(),
    node: options.node ?? process.version,
    cpu: {
      model: info.model ?? fallback[0]?.model ?? 'unknown',
      cores,
      hardware: info.hardware,
    },
    board,
    governor,
    freqMHz: readFrequencies(root),
    thermal,
    throttled,
    coreThrottleCount: readCoreThrottleCount(root),
    loadAvg,
    warnings,
  };
}
