// reef doctor on recorded /sys, /dev and /etc trees of each board kind (test/fixtures/doctor/).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { doctor, MIN_NODE_MAJOR, type RuntimeFacts } from '../../src/doctor/doctor.js';
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
  it('a board missing what reef needs: Node too old, no addon for this platform (TFLite then not checked)', () => {
    const r = doctor(root('rpi4-usb3'), { node: '18.19.0', addon: { path: null, error: 'tried: /app/node_modules/reef/prebuilds/linux-arm/reef.node (prebuilt): no such file', fix: 'reef ships prebuilt addons for linux-x64 and linux-arm64 only, not linux-arm: build one from source with `npm rebuild reef` (python3, make, a C++17 compiler)' },
      tflite: null, tfliteError: 'not loaded', edgetpu: null, devices: [] }, { platform: 'linux', arch: 'arm' });
    expect(r.findings.slice(0, 3)).toEqual([
      { check: 'node', status: 'fail', detail: 'Node 18.19.0 is too old: reef needs Node 20 or newer',
        fix: 'install Node 20 or newer: the official build for linux-arm from https://nodejs.org/en/download, NodeSource\'s apt repository, or nvm' },
      { check: 'addon', status: 'fail', detail: 'no native addon loads for linux-arm: tried: /app/node_modules/reef/prebuilds/linux-arm/reef.node (prebuilt): no such file',
        fix: 'reef ships prebuilt addons for linux-x64 and linux-arm64 only, not linux-arm: build one from source with `npm rebuild reef` (python3, make, a C++17 compiler)' },
      { check: 'tflite', status: 'info', detail: 'TensorFlow Lite not checked: reef opens it through the native addon, which did not load' },
    ]);
    expect(formatDoctor(r)).toContain('FAIL  node              Node 18.19.0 is too old: reef needs Node 20 or newer\n');
  });

  it('an addon built locally for a 32-bit Pi but no TensorFlow Lite for linux-arm: says so, with the way out', () => {
    const r = doctor(root('rpi4-usb3'), { node: '20.20.2', addon: { path: '/app/node_modules/reef/build/Release/reef.node', source: 'local' },
      tflite: null, tfliteError: 'no TensorFlow Lite build shipped for linux-arm', edgetpu: null, devices: [] }, { platform: 'linux', arch: 'arm' });
    expect(r.findings.slice(0, 3)).toEqual([
      { check: 'node', status: 'ok', detail: 'Node 20.20.2 (reef needs 20 or newer)' },
      { check: 'addon', status: 'ok', detail: 'native addon /app/node_modules/reef/build/Release/reef.node (local build)' },
      { check: 'tflite', status: 'fail', detail: 'no TensorFlow Lite library could be loaded: no TensorFlow Lite build shipped for linux-arm',
        fix: 'reef ships TensorFlow Lite for linux-x64 and linux-arm64 only, not linux-arm: set REEF_TFLITE_LIBRARY to a libtensorflowlite_c built for linux-arm, or install the 64-bit Raspberry Pi OS (linux-arm64)' },
    ]);
  });

  it('the Node floor is the one package.json declares', () => {
    const engines = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe(`>=${MIN_NODE_MAJOR}`);
  });
});
