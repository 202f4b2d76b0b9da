/**
 * Is there an Edge TPU here? Probed facts (files under a root, so tests pass fixture trees) and
 * a pure function over them. An Edge TPU is usable when libedgetpu can be found AND a device is
 * attached: USB (1a6e:089a before its firmware is loaded, 18d1:9302 after) or PCIe (/dev/apex_N).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** USB vendor:product ids of the Coral USB Accelerator. */
export const EDGETPU_USB_IDS = ['1a6e:089a', '18d1:9302'];

/** Where libedgetpu is installed by Coral's Debian packages (and a source build). */
export const EDGETPU_LIBRARY_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libedgetpu.so.1',
  '/usr/lib/aarch64-linux-gnu/libedgetpu.so.1',
  '/usr/lib/arm-linux-gnueabihf/libedgetpu.so.1',
  '/usr/lib/libedgetpu.so.1',
  '/usr/local/lib/libedgetpu.so.1',
  '/opt/homebrew/lib/libedgetpu.1.dylib',
  '/usr/local/lib/libedgetpu.1.dylib',
];

/** What the probe saw. */
export interface EdgetpuFacts {
  /** libedgetpu files that exist. */
  libraries: string[];
  /** vendor:product of every USB device. */
  usbIds: string[];
  /** /dev/apex_N device nodes. */
  pcieDevices: string[];
}

export interface EdgetpuPresence {
  /** The libedgetpu found, or null. */
  runtime: string | null;
  device: { interface: 'usb' | 'pcie'; id: string } | null;
}

/**
 * Probe the files that tell whether an Edge TPU is here, under `root` ('/' on a real host).
 * `extraLibraries` are the device profile's accelerator libraries (absolute paths are probed as is).
 */
export function probeEdgetpuFacts(root = '/', extraLibraries: string[] = []): EdgetpuFacts {
  const p = (abs: string): string => join(root, abs);
  const libs = [...extraLibraries.filter((l) => l.startsWith('/')), ...EDGETPU_LIBRARY_PATHS].filter((l, i, a) => a.indexOf(l) === i);
  const usbIds: string[] = [];
  try {
    for (const d of readdirSync(p('/sys/bus/usb/devices'))) {
      try {
        const v = readFileSync(p(`/sys/bus/usb/devices/${d}/idVendor`), 'utf8').trim();
        const pr = readFileSync(p(`/sys/bus/usb/devices/${d}/idProduct`), 'utf8').trim();
        usbIds.push(`${v}:${pr}`);
      } catch { /* interfaces and hubs without ids */ }
    }
  } catch { /* no sysfs */ }
  let pcie: string[] = [];
  try {
    pcie = readdirSync(p('/dev')).filter((n) => /^apex_\d+$/.test(n)).map((n) => `/dev/${n}`);
  } catch { /* no /dev */ }
  return { libraries: libs.filter((l) => existsSync(p(l))), usbIds, pcieDevices: pcie };
}

/** Decide from probed facts (pure). */
export function edgetpuPresence(facts: EdgetpuFacts): EdgetpuPresence {
  const usb = facts.usbIds.find((id) => EDGETPU_USB_IDS.includes(id.toLowerCase()));
  const device = facts.pcieDevices[0] ? { interface: 'pcie' as const, id: facts.pcieDevices[0] } : usb ? { interface: 'usb' as const, id: usb } : null;
  return { runtime: facts.libraries[0] ?? null, device };
}
