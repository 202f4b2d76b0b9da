/**
 * `reef doctor`: why is my Coral not working, or slow? Each finding says what was seen and, when
 * something is wrong, the exact fix. The checks read files under a root ('/' on a real host, a
 * recorded fixture tree in tests) plus what the runtime itself reports (TFLite, libedgetpu, devices).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { matchProfile, listProfiles, probeHost as probeDeviceFacts, type DeviceProfile } from '../devices.js';
import type { LibraryInfo } from '../native.js';
import type { EdgetpuDevice, EdgetpuRuntime } from '../runtime/edgetpu.js';
import { EDGETPU_INSTALL } from '../runtime/edgetpu.js';

export type FindingStatus = 'ok' | 'warn' | 'fail' | 'info';

export interface Finding {
  check: string;
  status: FindingStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  findings: Finding[];
  summary: Record<FindingStatus, number>;
}

/** The Node major version reef needs (package.json engines). */
export const MIN_NODE_MAJOR = 20;

/** The platforms reef ships a prebuilt addon and a TensorFlow Lite library for. */
const SHIPPED = ['linux-x64', 'linux-arm64'];

/** Which native addon loaded, or why none did (src/native.ts). */
export interface AddonFacts {
  /** The file that loaded, or null. */
  path: string | null;
  source?: 'env' | 'prebuilt' | 'local';
  /** Why none loaded: the files tried. */
  error?: string;
  /** What to do about it, for where reef is installed. */
  fix?: string;
}

/** What the runtime reports (the CLI fills it from the loaded libraries). */
export interface RuntimeFacts {
  /** The Node version running reef (process.versions.node); checked when given. */
  node?: string;
  /** The native addon; checked when given. */
  addon?: AddonFacts;
  tflite: LibraryInfo | null;
  tfliteError?: string;
  edgetpu: EdgetpuRuntime | null;
  devices: EdgetpuDevice[];
}

const USB_BEFORE_FIRMWARE = '1a6e:089a';
const USB_AFTER_FIRMWARE = '18d1:9302';
const PCIE_ID = '1ac1:089a';

function read(root: string, path: string): string | null {
  try {
    return readFileSync(join(root, path), 'utf8').trim();
  } catch {
    return null;
  }
}

function list(root: string, dir: string): string[] {
  try {
    return readdirSync(join(root, dir)).sort();
  } catch {
    return [];
  }
}

interface UsbCoral {
  dir: string;
  id: string;
  speedMbps: number | null;
}

function usbCorals(root: string): UsbCoral[] {
  const out: UsbCoral[] = [];
  for (const d of list(root, '/sys/bus/usb/devices')) {
    const v = read(root, `/sys/bus/usb/devices/${d}/idVendor`);
    const p = read(root, `/sys/bus/usb/devices/${d}/idProduct`);
    if (!v || !p) continue;
    const id = `${v}:${p}`.toLowerCase();
    if (id !== USB_BEFORE_FIRMWARE && id !== USB_AFTER_FIRMWARE) continue;
    const speed = Number(read(root, `/sys/bus/usb/devices/${d}/speed`));
    out.push({ dir: d, id, speedMbps: Number.isFinite(speed) && speed > 0 ? speed : null });
  }
  return out;
}

function udevRules(root: string): string[] {
  const hits: string[] = [];
  for (const dir of ['/etc/udev/rules.d', '/lib/udev/rules.d', '/usr/lib/udev/rules.d']) {
    for (const f of list(root, dir)) {
      const text = read(root, `${dir}/${f}`) ?? '';
      if (/1a6e|18d1|apex/i.test(text)) hits.push(`${dir}/${f}`);
    }
  }
  return hits;
}

/**
 * Runs every check.
 * @example doctor('/', runtimeFacts).findings.filter((f) => f.status !== 'ok')
 */
export function doctor(root: string, rt: RuntimeFacts,
  opts: { profiles?: DeviceProfile[]; platform?: string; arch?: string } = {}): DoctorReport {
  const f: Finding[] = [];
  const target = `${opts.platform ?? process.platform}-${opts.arch ?? process.arch}`;
  // Node, and the native addon for this platform.
  if (rt.node !== undefined) {
    const major = Number(rt.node.split('.')[0]);
    f.push(major >= MIN_NODE_MAJOR
      ? { check: 'node', status: 'ok', detail: `Node ${rt.node} (reef needs ${MIN_NODE_MAJOR} or newer)` }
      : { check: 'node', status: 'fail', detail: `Node ${rt.node} is too old: reef needs Node ${MIN_NODE_MAJOR} or newer`, fix: `install Node ${MIN_NODE_MAJOR} or newer: the official build for ${target} from https://nodejs.org/en/download, NodeSource's apt repository, or nvm` });
  }
  if (rt.addon) {
    const a = rt.addon;
    f.push(a.path
      ? { check: 'addon', status: 'ok', detail: `native addon ${a.path} (${a.source === 'prebuilt' ? `prebuilt for ${target}` : a.source === 'env' ? 'from $REEF_ADDON' : 'local build'})` }
      : { check: 'addon', status: 'fail', detail: `no native addon loads for ${target}${a.error ? `: ${a.error}` : ''}`, ...(a.fix ? { fix: a.fix } : {}) });
  }
  // TFLite and XNNPACK.
  if (rt.addon && !rt.addon.path) {
    f.push({ check: 'tflite', status: 'info', detail: 'TensorFlow Lite not checked: reef opens it through the native addon, which did not load' });
  } else if (rt.tflite) {
    f.push({ check: 'tflite', status: 'ok', detail: `TensorFlow Lite ${rt.tflite.version} from ${rt.tflite.path}` });
    f.push(rt.tflite.xnnpack
      ? { check: 'xnnpack', status: 'ok', detail: 'XNNPACK delegate available (int8 QS8 path on)' }
      : { check: 'xnnpack', status: 'warn', detail: 'this TensorFlow Lite build has no XNNPACK: CPU models run on the slower built-in kernels', fix: 'use the library tfjs-tflite-node ships, or a TFLite build with XNNPACK (REEF_TFLITE_LIBRARY)' });
  } else {
    f.push({ check: 'tflite', status: 'fail', detail: `no TensorFlow Lite library could be loaded${rt.tfliteError ? `: ${rt.tfliteError}` : ''}`,
      fix: SHIPPED.includes(target)
        ? 'reinstall reef (npm install reef) or set REEF_TFLITE_LIBRARY to a libtensorflowlite_c'
        : `reef ships TensorFlow Lite for ${SHIPPED.join(' and ')} only, not ${target}: set REEF_TFLITE_LIBRARY to a libtensorflowlite_c built for ${target}${target === 'linux-arm' ? ', or install the 64-bit Raspberry Pi OS (linux-arm64)' : ''}` });
  }
  // Devices seen on the buses.
  const usb = usbCorals(root);
  const apex = list(root, '/dev').filter((n) => /^apex_\d+$/.test(n));
  const anyDevice = usb.length > 0 || apex.length > 0 || rt.devices.length > 0;
  // libedgetpu.
  if (rt.edgetpu) {
    f.push({ check: 'edgetpu-runtime', status: 'ok', detail: `Edge TPU runtime version ${rt.edgetpu.runtimeVersion} from ${rt.edgetpu.path}` });
  } else {
    f.push(anyDevice
      ? { check: 'edgetpu-runtime', status: 'fail', detail: 'a Coral device is attached but the Edge TPU runtime (libedgetpu.so.1) is not installed', fix: EDGETPU_INSTALL }
      : { check: 'edgetpu-runtime', status: 'info', detail: 'no Edge TPU runtime (needed only with a Coral device)' });
  }
  for (const u of usb) {
    const name = u.id === USB_BEFORE_FIRMWARE ? 'Coral USB Accelerator, firmware not loaded yet (the runtime loads it on first use)' : 'Coral USB Accelerator, firmware loaded';
    f.push({ check: 'usb-device', status: 'ok', detail: `${name}: USB ${u.id} at ${u.dir}` });
    if (u.speedMbps !== null && u.speedMbps <= 480) {
      f.push({ check: 'usb-speed', status: 'warn', detail: `the Coral at ${u.dir} is on a USB 2 link (${u.speedMbps} Mb/s): expect inference 3-4x slower than on USB 3 (a tiny CNN: ~5.0 ms instead of ~1.4 ms)`, fix: 'plug it into a USB 3 port (blue) with a USB 3 cable' });
    } else if (u.speedMbps !== null) {
      f.push({ check: 'usb-speed', status: 'ok', detail: `the Coral at ${u.dir} is on a USB 3 link (${u.speedMbps} Mb/s)` });
    }
  }
  for (const a of apex) {
    let mode = 0;
    let gid = -1;
    try {
      const st = statSync(join(root, '/dev', a));
      mode = st.mode & 0o777;
      gid = st.gid;
    } catch { /* listed but gone */ }
    const group = (read(root, '/etc/group') ?? '').split('\n').map((l) => l.split(':')).find((p) => Number(p[2]) === gid)?.[0] ?? String(gid);
    const open = (mode & 0o006) === 0o006;
    f.push({ check: 'pcie-device', status: 'ok', detail: `Coral PCIe (${PCIE_ID}) /dev/${a}, mode ${mode.toString(8).padStart(3, '0')}, group ${group}` });
    if (!open && (mode & 0o060) !== 0o060) {
      f.push({ check: 'pcie-permissions', status: 'warn', detail: `/dev/${a} is not readable and writable by its group or others (mode ${mode.toString(8).padStart(3, '0')})`, fix: 'install the gasket-dkms and libedgetpu1-std packages (their udev rule gives group apex rw), then `sudo usermod -aG apex $USER` and log in again' });
    } else if (!open) {
      f.push({ check: 'pcie-permissions', status: 'info', detail: `/dev/${a} is open to group ${group}: users outside it need \`sudo usermod -aG ${group} $USER\`` });
    }
    const t = Number(read(root, `/sys/class/apex/${a}/temp`));
    if (Number.isFinite(t) && t > 0) {
      const trips = [0, 1, 2].map((i) => Number(read(root, `/sys/class/apex/${a}/trip_point${i}_temp`))).filter((x) => Number.isFinite(x) && x > 0);
      const hot = trips.length > 0 && t >= Math.min(...trips);
      f.push({
        check: 'apex-temperature', status: hot ? 'warn' : 'ok',
        detail: `/dev/${a} at ${(t / 1000).toFixed(1)} C${trips.length ? ` (throttles at ${trips.map((x) => (x / 1000).toFixed(1)).join(' / ')} C)` : ''}`,
        ...(hot ? { fix: 'improve cooling (heatsink, airflow): above its trip points the Edge TPU slows its clock' } : {}),
      });
    }
  }
  if (usb.length > 0 || apex.length > 0) {
    const rules = udevRules(root);
    f.push(rules.length
      ? { check: 'udev-rules', status: 'ok', detail: `udev rules for the Coral: ${rules.join(', ')}` }
      : { check: 'udev-rules', status: 'warn', detail: 'no udev rule gives users access to the Coral device: only root can open it', fix: 'install libedgetpu1-std (it ships 99-edgetpu-accelerator.rules), or add a rule for 1a6e:089a and 18d1:9302 with MODE="0664", GROUP="plugdev"' });
  }
  if (rt.edgetpu) {
    f.push(rt.devices.length
      ? { check: 'edgetpu-devices', status: 'ok', detail: `the runtime sees ${rt.devices.map((d) => `${d.type} ${d.path}`).join(', ')}` }
      : { check: 'edgetpu-devices', status: anyDevice ? 'fail' : 'warn', detail: 'the Edge TPU runtime sees no device', fix: anyDevice ? 'check the udev rules and permissions above, then unplug and replug the device' : 'attach the Coral USB Accelerator (USB 3 port) or install the PCIe driver (gasket-dkms)' });
  }
  // CPU governor.
  const gov = read(root, '/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor');
  if (gov) {
    f.push(gov === 'performance'
      ? { check: 'cpu-governor', status: 'ok', detail: 'CPU frequency governor: performance' }
      : { check: 'cpu-governor', status: 'warn', detail: `CPU frequency governor: ${gov}: latency varies as the clock scales`, fix: 'for steady latency: `echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor`' });
  }
  // Device profile.
  const profile = matchProfile(probeDeviceFacts(root, opts.platform, opts.arch), opts.profiles ?? listProfiles());
  f.push(profile
    ? { check: 'device-profile', status: 'ok', detail: `device profile ${profile.id}: ${profile.name}` }
    : { check: 'device-profile', status: 'info', detail: 'no device profile matches this host: defaults are used' });
  const summary: Record<FindingStatus, number> = { ok: 0, warn: 0, fail: 0, info: 0 };
  for (const x of f) summary[x.status]++;
  return { findings: f, summary };
}
