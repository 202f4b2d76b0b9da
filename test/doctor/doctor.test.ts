// reef doctor on recorded /sys, /dev and /etc trees of each board kind (test/fixtures/doctor/).
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { doctor, type RuntimeFacts } from '../../src/doctor/doctor.js';
import { formatDoctor } from '../../src/cli/doctor.js';
import { REPO_ROOT } from '../shared.js';

const root = (name: string) => join(REPO_ROOT, 'test', 'fixtures', 'doctor', name);
const arm = { platform: 'linux', arch: 'arm64' };
const tflite = { path: '/usr/lib/libtensorflowlite_c.so', version: '2.9.0', xnnpack: true };
const runtime = { path: '/usr/lib/aarch64-linux-gnu/libedgetpu.so.1', version: 'BuildLabel(x), RuntimeVersion(14)', runtimeVersion: 14 };

const pick = (r: ReturnType<typeof doctor>, check: string) => r.findings.filter((f) => f.check === check);

describe('reef doctor', () => {
  it('Raspberry Pi 4 with a USB Accelerator on a USB 2 port, no runtime, no udev rule, ondemand governor', () => {
    const facts: RuntimeFacts = { tflite, edgetpu: null, devices: [] };
    const r = doctor(root('rpi4-usb2'), facts, arm);
    expect(pick(r, 'edgetpu-runtime')).toEqual([{ check: 'edgetpu-runtime', status: 'fail',
      detail: 'a Coral device is attached but the Edge TPU runtime (libedgetpu.so.1) is not installed',
      fix: 'install the Edge TPU runtime: add Coral\'s apt repository (https://coral.ai/software/#debian-packages) and `sudo apt-get install libedgetpu1-std`, or point REEF_EDGETPU_LIBRARY at a libedgetpu.so.1' }]);
    expect(pick(r, 'usb-device')[0]!.detail).toBe('Coral USB Accelerator, firmware loaded: USB 18d1:9302 at 2-1');
    expect(pick(r, 'usb-speed')).toEqual([{ check: 'usb-speed', status: 'warn',
      detail: 'the Coral at 2-1 is on a USB 2 link (480 Mb/s): expect inference 3-4x slower than on USB 3 (a tiny CNN: ~5.0 ms instead of ~1.4 ms)',
      fix: 'plug it into a USB 3 port (blue) with a USB 3 cable' }]);
    expect(pick(r, 'udev-rules')[0]!.status).toBe('warn');
    expect(pick(r, 'cpu-governor')[0]).toMatchObject({ status: 'warn', detail: 'CPU frequency governor: ondemand: latency varies as the clock scales' });
    expect(pick(r, 'device-profile')[0]!.detail).toBe('device profile coral-usb-rpi4: ' + pick(r, 'device-profile')[0]!.detail.split(': ')[1]);
    expect(r.summary).toEqual({ ok: 4, warn: 3, fail: 1, info: 0 });
    expect(formatDoctor(r)).toContain('WARN  usb-speed         the Coral at 2-1 is on a USB 2 link (480 Mb/s)');
  });

  it('Raspberry Pi 4, USB 3, firmware not loaded yet, runtime and device seen: all ok', () => {
    const facts: RuntimeFacts = { tflite, edgetpu: runtime, devices: [{ type: 'usb', path: '/sys/bus/usb/devices/2-1' }] };
    const r = doctor(root('rpi4-usb3'), facts, arm);
    expect(r.findings.map((f) => [f.check, f.status])).toEqual([
      ['tflite', 'ok'], ['xnnpack', 'ok'], ['edgetpu-runtime', 'ok'], ['usb-device', 'ok'], ['usb-speed', 'ok'],
      ['udev-rules', 'ok'], ['edgetpu-devices', 'ok'], ['cpu-governor', 'ok'], ['device-profile', 'ok'],
    ]);
    expect(pick(r, 'usb-device')[0]!.detail).toBe('Coral USB Accelerator, firmware not loaded yet (the runtime loads it on first use): USB 1a6e:089a at 2-1');
    expect(pick(r, 'edgetpu-runtime')[0]!.detail).toBe(`Edge TPU runtime version 14 from ${runtime.path}`);
  });

  it('Coral Dev Board: /dev/apex_0 permissions, a hot Edge TPU, and a runtime that sees nothing', () => {
    const facts: RuntimeFacts = { tflite, edgetpu: runtime, devices: [] };
    const r = doctor(root('devboard-pcie'), facts, arm);
    expect(pick(r, 'pcie-permissions')[0]).toMatchObject({ status: 'warn', detail: '/dev/apex_0 is not readable and writable by its group or others (mode 644)' });
    expect(pick(r, 'apex-temperature')).toEqual([{ check: 'apex-temperature', status: 'warn',
      detail: '/dev/apex_0 at 86.5 C (throttles at 85.0 / 90.0 C)', fix: 'improve cooling (heatsink, airflow): above its trip points the Edge TPU slows its clock' }]);
    expect(pick(r, 'edgetpu-devices')[0]).toMatchObject({ status: 'fail', detail: 'the Edge TPU runtime sees no device' });
    expect(pick(r, 'udev-rules')[0]!.detail).toBe('udev rules for the Coral: /etc/udev/rules.d/65-apex.rules');
    expect(pick(r, 'device-profile')[0]!.detail).toMatch(/^device profile coral-dev-board: /);
  });

  it('no TFLite library: a failure with the fix', () => {
    const r = doctor(root('rpi4-usb3'), { tflite: null, tfliteError: 'dlopen failed', edgetpu: null, devices: [] }, arm);
    expect(pick(r, 'tflite')[0]).toEqual({ check: 'tflite', status: 'fail', detail: 'no TensorFlow Lite library could be loaded: dlopen failed',
      fix: 'reinstall reef (npm install reef) or set REEF_TFLITE_LIBRARY to a libtensorflowlite_c' });
  });
});
