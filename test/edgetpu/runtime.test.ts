// The Edge TPU runtime path, driven through a STAND-IN for libedgetpu (test/edgetpu/standin/): no
// Coral device is attached here. The stand-in exports edgetpu_c.h's C API; its delegate claims the
// edgetpu-custom-op nodes and computes them with the CPU twin model, so results can be checked.
import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, type ReefError } from '../../src/index.js';
import { bundledLibraryPath } from '../../src/runtime/library.js';
import { edgetpuLibraryWarnings, matchDevices, parseEdgetpuSpec, parseRuntimeVersion } from '../../src/runtime/edgetpu.js';
import { buildBundle } from '../../src/package/writer.js';
import { sharedPath, sharedBytes, REPO_ROOT } from '../shared.js';

const TPU = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
const TWIN = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
const OUT = 'MobilenetV1/Predictions/Reshape_1';
let standin = '';

/** Builds the stand-in library with the machine's g++ against TFLite 2.9's headers. */
function buildStandin(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reef-standin-'));
  const out = join(dir, 'libedgetpu.so.1');
  const include = join(REPO_ROOT, 'node_modules', 'tfjs-tflite-node', 'cc_deps', 'include');
  execFileSync('g++', ['-std=c++17', '-O1', '-shared', '-fPIC', '-fvisibility=hidden', '-Wl,--no-undefined', `-I${include}`,
    '-o', out, join(REPO_ROOT, 'test', 'edgetpu', 'standin', 'libedgetpu_standin.cc'), '-ldl']);
  return out;
}

const ENV = ['REEF_EDGETPU_LIBRARY', 'REEF_STANDIN_DEVICES', 'REEF_STANDIN_TWIN', 'REEF_STANDIN_TFLITE', 'REEF_STANDIN_RUNTIME', 'REEF_STANDIN_FAIL_AFTER'];
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

function standinEnv(devices: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REEF_EDGETPU_LIBRARY: standin, REEF_STANDIN_DEVICES: devices, REEF_STANDIN_TWIN: TWIN,
    REEF_STANDIN_TFLITE: bundledLibraryPath()!, ...extra,
  };
}

function pixels(): Uint8Array {
  return new Uint8Array(128 * 128 * 3).map((_, i) => (i * 37) % 256);
}

beforeAll(() => {
  standin = buildStandin();
});
afterEach(() => {
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('device specs (pycoral\'s grammar)', () => {
  const devs = [{ type: 'usb' as const, path: 'u0' }, { type: 'pci' as const, path: 'p0' }, { type: 'usb' as const, path: 'u1' }];
  it('"", usb, pci, :N, usb:N, pci:N, off', () => {
    expect(matchDevices(parseEdgetpuSpec(''), devs).map((d) => d.path)).toEqual(['u0', 'p0', 'u1']);
    expect(matchDevices(parseEdgetpuSpec('usb'), devs).map((d) => d.path)).toEqual(['u0', 'u1']);
    expect(matchDevices(parseEdgetpuSpec('pci'), devs).map((d) => d.path)).toEqual(['p0']);
    expect(matchDevices(parseEdgetpuSpec(':2'), devs).map((d) => d.path)).toEqual(['u1']);
    expect(matchDevices(parseEdgetpuSpec('usb:1'), devs).map((d) => d.path)).toEqual(['u1']);
    expect(matchDevices(parseEdgetpuSpec('pci:1'), devs)).toEqual([]);
    expect(parseEdgetpuSpec('off')).toEqual({ off: true, type: null, index: null });
  });
  it('EXPECTED FAILURE - other specs', () => {
    for (const bad of ['usb0', 'tpu', ':', 'usb:-1', 'usb:x']) {
      expect(() => parseEdgetpuSpec(bad), bad).toThrow(`Expected an Edge TPU device spec ('' for any, usb, pci, :N, usb:N, pci:N, or off) for edgetpu but received "${bad}"`);
    }
  });
  it('a TFLite newer than libedgetpu was built for gets a warning; 2.9 none', () => {
    expect(edgetpuLibraryWarnings('2.9.0')).toEqual([]);
    expect(edgetpuLibraryWarnings('2.11.1')).toEqual([]);
    expect(edgetpuLibraryWarnings('2.14.0')[0]).toMatch(/^TensorFlow Lite 2\.14\.0 is newer than libedgetpu was built for \(2\.5-2\.11\)/);
  });
  it('the runtime version is read from edgetpu_version()', () => {
    expect(parseRuntimeVersion('BuildLabel(COMPILER=6.3.0 20170516,DATE=redacted,TIME=redacted,CL_NUMBER=317268237), RuntimeVersion(14)')).toBe(14);
  });
});

describe('a compiled model on the Edge TPU (stand-in library)', () => {
  it('runs on the device, spreads a pool over two USB devices, and gives the CPU twin\'s exact outputs', async () => {
    Object.assign(process.env, standinEnv('usb:2'));
    const tpu = await load(TPU, { pool: 2 });
    expect(tpu.delegate).toEqual({ name: 'edgetpu', reason: 'Edge TPU usb /sys/bus/usb/devices/2-1, runtime BuildLabel(reef-standin), RuntimeVersion(14)' });
    const cpu = await load(TWIN, { xnnpack: false });
    const x = pixels();
    const [a, b, c] = await Promise.all([tpu.run([x]), tpu.run([x]), cpu.run([x])]);
    expect(Buffer.from(a[OUT]!.data.buffer)).toEqual(Buffer.from(c[OUT]!.data.buffer));
    expect(Buffer.from(b[OUT]!.data.buffer)).toEqual(Buffer.from(c[OUT]!.data.buffer));
    await Promise.all([tpu.dispose(), cpu.dispose()]);
  });

  it('EXPECTED FAILURE - no device, or a spec that matches none: REEF_EDGETPU_NO_DEVICE naming what exists', async () => {
    Object.assign(process.env, standinEnv(''));
    const none = await load(TPU).catch((e: ReefError) => e);
    expect([(none as ReefError).code, (none as ReefError).message]).toEqual(['REEF_EDGETPU_NO_DEVICE',
      `${TPU} needs an Edge TPU, and the runtime (${standin}, version 14) sees no Coral device: plug in the USB Accelerator ` +
      '(on a USB 3 port) or check the PCIe driver (/dev/apex_0); `reef doctor` says what is missing']);
    Object.assign(process.env, standinEnv('usb:1,pci:1'));
    const wrong = await load(TPU, { edgetpu: 'usb:1' }).catch((e: ReefError) => e);
    expect([(wrong as ReefError).code, (wrong as ReefError).message]).toEqual(['REEF_EDGETPU_NO_DEVICE',
      `${TPU} asked for the Edge TPU "usb:1", which is not there; the runtime sees usb:0 (/sys/bus/usb/devices/2-1), pci:0 (/dev/apex_0)`]);
    const pci = await load(TPU, { edgetpu: 'pci' });
    expect(pci.delegate.reason).toBe('Edge TPU pci /dev/apex_0, runtime BuildLabel(reef-standin), RuntimeVersion(14)');
    await pci.dispose();
  });

  it('EXPECTED FAILURE - --edgetpu off: the compiled model is refused with the CPU model named', async () => {
    Object.assign(process.env, standinEnv('usb:1'));
    const e = await load(TPU, { edgetpu: 'off' }).catch((err: ReefError) => err);
    expect((e as ReefError).code).toBe('REEF_CUSTOM_OP_UNRESOLVED');
    expect((e as ReefError).message).toContain(`Run the CPU model instead, the one that was given to edgetpu_compiler (here: ${TWIN})`);
  });

  it('EXPECTED FAILURE - the device goes away mid-stream: REEF_EDGETPU_DEVICE_LOST with the runtime\'s words, never a hang', async () => {
    Object.assign(process.env, standinEnv('usb:1', { REEF_STANDIN_FAIL_AFTER: '2' }));
    const s = await load(TPU);
    const x = pixels();
    await s.run([x]);
    await s.run([x]);
    const e = await s.run([x]).catch((err: ReefError) => err);
    expect((e as ReefError).code).toBe('REEF_EDGETPU_DEVICE_LOST');
    expect((e as ReefError).message).toBe('the Edge TPU (Edge TPU usb /sys/bus/usb/devices/2-1, runtime BuildLabel(reef-standin), RuntimeVersion(14)) failed the run: ' +
      'invoke failed: Failed to execute request. USB transfer error 2 [LibUsbDataInCallback]\nNode number 1 (edgetpu-standin) failed to invoke. ' +
      'Check that the device is still attached (`reef doctor`), then load the model again; a .reef bundle can run its cpu-int8 variant meanwhile (variant: \'cpu-int8\')');
    await s.dispose();
  });
});

describe('a .reef bundle on a board with an Edge TPU (stand-in library)', () => {
  it('picks its edgetpu variant when runtime and device are there and says why; --edgetpu off picks cpu-int8', async () => {
    Object.assign(process.env, standinEnv('usb:1'));
    const { bytes } = await buildBundle({
      name: 'mobilenet', created: '2024-01-01T00:00:00.000Z',
      variants: [
        { name: 'edgetpu', data: sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite'), source: 'tpu' },
        { name: 'cpu-int8', data: sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'), source: 'cpu' },
      ],
    });
    const s = await load(bytes);
    expect([s.variant!.variant, s.variant!.reason, s.delegate.name]).toEqual(['edgetpu', `Edge TPU runtime ${standin} and usb device /sys/bus/usb/devices/2-1 present`, 'edgetpu']);
    const off = await load(bytes, { edgetpu: 'off' });
    expect([off.variant!.variant, off.variant!.skipped[0]!.reason]).toEqual(['cpu-int8', 'an Edge TPU is present (usb /sys/bus/usb/devices/2-1) but Edge TPU execution is turned off (--edgetpu off)']);
    const x = pixels();
    expect(Buffer.from((await s.run([x]))[OUT]!.data.buffer)).toEqual(Buffer.from((await off.run([x]))[OUT]!.data.buffer));
    await Promise.all([s.dispose(), off.dispose()]);
  });
});

describe('checked before loading (a fresh process each: the runtime loads once per process)', () => {
  const cli = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'reef.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });

  it('EXPECTED FAILURE - a runtime older than the model needs: both numbers and both fixes', () => {
    const r = cli(standinEnv('usb:1', { REEF_STANDIN_RUNTIME: '11' }), 'run', TPU, sharedPath('images/misc/grace_hopper.jpg'));
    expect([r.status, r.stderr.split('\n')[0]]).toEqual([1,
      `reef: REEF_EDGETPU_RUNTIME_TOO_OLD: ${TPU} needs Edge TPU runtime version 12 or newer, and the installed runtime (${standin}) is version 11. ` +
      'Either upgrade libedgetpu (`sudo apt-get install --only-upgrade libedgetpu1-std`), or recompile the model for this runtime: ' +
      '`edgetpu_compiler -m 11 model.tflite` (reef edgetpu compile --min-runtime 11).']);
  });

  it('EXPECTED FAILURE - a libedgetpu path that cannot be loaded is named, not replaced by another', () => {
    const r = cli({ REEF_EDGETPU_LIBRARY: '/nonexistent/libedgetpu.so.1' }, 'run', TPU, sharedPath('images/misc/grace_hopper.jpg'), '--json');
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('REEF_EDGETPU_RUNTIME_MISSING');
    expect(doc.error.message).toMatch(/^cannot load the Edge TPU runtime \/nonexistent\/libedgetpu\.so\.1: dlopen\(\/nonexistent\/libedgetpu\.so\.1\) failed: /);
  });

  it('reef run classifies on the Edge TPU with --edgetpu usb:0, the same top-5 as the CPU model', () => {
    const img = sharedPath('images/misc/grace_hopper.jpg');
    const tpu = cli(standinEnv('usb:1'), 'run', TPU, img, '--edgetpu', 'usb:0', '--json');
    const cpu = cli({}, 'run', TWIN, img, '--no-xnnpack', '--json');
    expect([tpu.status, tpu.stderr]).toEqual([0, '']);
    const top = (s: string) => (JSON.parse(s) as { results: Array<{ top: unknown }> }).results[0]!.top;
    expect(top(tpu.stdout)).toEqual(top(cpu.stdout));
    expect(JSON.parse(tpu.stdout).delegate.name).toBe('edgetpu');
  });
});
