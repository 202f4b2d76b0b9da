// The Edge TPU runtime path, driven through a STAND-IN for libedgetpu (test/edgetpu/standin/): no
// Coral device is attached here. The stand-in exports edgetpu_c.h's C API; its delegate claims the
// edgetpu-custom-op nodes and computes them with the CPU twin model, so results can be checked.
//
// REEF_TEST_EDGETPU=1 runs the contract part of this file against the real libedgetpu and a real
// Coral device (on a board that has one): the stand-in is not built, the tests that need its fault
// injection or its exact words are skipped, and the contract tests check what holds on both.
import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, type ReefError } from '../../src/index.js';
import type { Session } from '../../src/runtime/session.js';
import { bundledLibraryPath } from '../../src/runtime/library.js';
import { edgetpuLibraryWarnings, matchDevices, parseEdgetpuSpec, parseRuntimeVersion } from '../../src/runtime/edgetpu.js';
import { buildBundle } from '../../src/package/writer.js';
import { sharedPath, sharedBytes, REPO_ROOT } from '../shared.js';
import { buildStandin } from './standin/build.js';

const TPU = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
const TWIN = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
const OUT = 'MobilenetV1/Predictions/Reshape_1';
let standin = '';
/** The real runtime and device (REEF_TEST_EDGETPU=1) instead of the stand-in. */
const REAL = process.env.REEF_TEST_EDGETPU === '1';
/** Tests that need the stand-in (its exact words, its fault injection). */
const standinOnly = REAL ? it.skip : it;

const ENV = ['REEF_EDGETPU_LIBRARY', 'REEF_STANDIN_DEVICES', 'REEF_STANDIN_TWIN', 'REEF_STANDIN_TFLITE', 'REEF_STANDIN_RUNTIME',
  'REEF_STANDIN_FAIL_AFTER', 'REEF_STANDIN_STATE', 'REEF_STANDIN_VERSION'];
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

function standinEnv(devices: string, extra: Record<string, string> = {}): Record<string, string> {
  if (REAL) return {};  // The system's libedgetpu and whatever devices are attached.
  return {
    REEF_EDGETPU_LIBRARY: standin, REEF_STANDIN_DEVICES: devices, REEF_STANDIN_TWIN: TWIN,
    REEF_STANDIN_TFLITE: bundledLibraryPath()!, ...extra,
  };
}

function pixels(): Uint8Array {
  return new Uint8Array(128 * 128 * 3).map((_, i) => (i * 37) % 256);
}

beforeAll(() => {
  if (!REAL) standin = buildStandin();
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
  standinOnly('runs on the device, spreads a pool over two USB devices, and gives the CPU twin\'s exact outputs', async () => {
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

  standinOnly('EXPECTED FAILURE - no device, or a spec that matches none: REEF_EDGETPU_NO_DEVICE naming what exists', async () => {
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

  standinOnly('EXPECTED FAILURE - --edgetpu off: the compiled model is refused with the CPU model named', async () => {
    Object.assign(process.env, standinEnv('usb:1'));
    const e = await load(TPU, { edgetpu: 'off' }).catch((err: ReefError) => err);
    expect((e as ReefError).code).toBe('REEF_CUSTOM_OP_UNRESOLVED');
    expect((e as ReefError).message).toContain(`Run the CPU model instead, the one that was given to edgetpu_compiler (here: ${TWIN})`);
  });

  standinOnly('EXPECTED FAILURE - the device goes away mid-stream: REEF_EDGETPU_DEVICE_LOST with the runtime\'s words, never a hang', async () => {
    Object.assign(process.env, standinEnv('usb:1', { REEF_STANDIN_FAIL_AFTER: '2' }));
    const s = await load(TPU);
    const x = pixels();
    await s.run([x]);
    await s.run([x]);
    const e = await s.run([x]).catch((err: ReefError) => err);
    expect((e as ReefError).code).toBe('REEF_EDGETPU_DEVICE_LOST');
    expect((e as ReefError).message).toBe('the Edge TPU (usb /sys/bus/usb/devices/2-1) failed the run: ' +
      'invoke failed: Failed to execute request. USB transfer error 2 [LibUsbDataInCallback]\nNode number 1 (edgetpu-standin) failed to invoke. ' +
      'Check that the device is still attached (`reef doctor`); reef looks for it every 1000 ms and runs fail until it is back ' +
      '(a .reef bundle would run its CPU variant meanwhile)');
    await s.dispose();
  });
});

describe('a .reef bundle on a board with an Edge TPU (stand-in library)', () => {
  standinOnly('picks its edgetpu variant when runtime and device are there and says why; --edgetpu off picks cpu-int8', async () => {
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

/** The stand-in's state file: the test unplugs, re-plugs or hangs the device while the session runs. */
function stateFile(initial: string): { path: string; set: (words: string) => void } {
  const path = join(mkdtempSync(join(tmpdir(), 'reef-standin-state-')), 'state');
  writeFileSync(path, initial);
  return { path, set: (words) => writeFileSync(path, words) };
}

/** Records a session's device events, in order. */
function recordEvents(s: Session): string[] {
  const seen: string[] = [];
  s.on('device-lost', (e) => seen.push(`device-lost ${e.device} ${e.error.code}`));
  s.on('fallback', (e) => seen.push(`fallback ${e.variant}`));
  s.on('device-restored', (e) => seen.push(`device-restored ${e.device}`));
  s.on('watchdog', (e) => seen.push(`watchdog ${e.ms} ${e.device}`));
  return seen;
}

/** Resolves on the session's next `name` event; rejects after ms (bounded: the test never hangs). */
function nextEvent(s: Session, name: 'device-restored' | 'fallback', ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${ms} ms`)), ms);
    s.once(name, () => { clearTimeout(timer); resolve(); });
  });
}

async function tpuBundle(): Promise<Uint8Array> {
  return (await buildBundle({
    name: 'mobilenet', created: '2024-01-01T00:00:00.000Z',
    variants: [
      { name: 'edgetpu', data: sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite'), source: 'tpu' },
      { name: 'cpu-int8', data: sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'), source: 'cpu' },
    ],
  })).bytes;
}

describe('faults: the device goes away, comes back, or stops answering (stand-in library)', () => {
  const DEV = 'usb /sys/bus/usb/devices/2-1';

  standinOnly('unplugged: the failing run gets REEF_EDGETPU_DEVICE_LOST, the bundle\'s cpu-int8 variant carries on, and the Edge TPU takes over again when it is back', async () => {
    const state = stateFile('devices=usb:1');
    Object.assign(process.env, standinEnv('', { REEF_STANDIN_STATE: state.path }));
    const s = await load(await tpuBundle(), { edgetpuRetryMs: 20 });
    const events = recordEvents(s);
    const cpu = await load(TWIN, { xnnpack: false });
    const x = pixels();
    const want = Buffer.from((await cpu.run([x]))[OUT]!.data.buffer);
    expect(Buffer.from((await s.run([x]))[OUT]!.data.buffer)).toEqual(want);

    state.set('devices=');  // Unplugged.
    const lost = await s.run([x]).catch((e: ReefError) => e);
    expect([(lost as ReefError).code, (lost as ReefError).message]).toEqual(['REEF_EDGETPU_DEVICE_LOST',
      `the Edge TPU (${DEV}) failed the run: invoke failed: Failed to execute request. USB transfer error 2 [LibUsbDataInCallback]\n` +
      'Node number 1 (edgetpu-standin) failed to invoke. Check that the device is still attached (`reef doctor`); reef looks for it every 20 ms ' +
      'and runs go to the bundle\'s cpu-int8 variant until it is back']);
    // Runs made while the CPU variant is being set up wait for it; none is lost.
    const during = await Promise.all([s.run([x]), s.run([x]), s.run([x])]);
    for (const out of during) expect(Buffer.from(out[OUT]!.data.buffer)).toEqual(want);
    expect([s.variant!.variant, s.variant!.reason, s.delegate.name]).toEqual(['cpu-int8',
      `the Edge TPU (${DEV}) went away; the cpu-int8 variant runs on the CPU until it is back`, 'xnnpack']);
    expect(events).toEqual([`device-lost ${DEV} REEF_EDGETPU_DEVICE_LOST`, 'fallback cpu-int8']);

    const back = nextEvent(s, 'device-restored');
    state.set('devices=usb:1');  // Plugged in again.
    await back;
    expect([s.variant!.variant, s.delegate.name]).toEqual(['edgetpu', 'edgetpu']);
    expect(Buffer.from((await s.run([x]))[OUT]!.data.buffer)).toEqual(want);
    expect(events).toEqual([`device-lost ${DEV} REEF_EDGETPU_DEVICE_LOST`, 'fallback cpu-int8', `device-restored ${DEV}`]);
    await Promise.all([s.dispose(), cpu.dispose()]);
  });

  standinOnly('EXPECTED FAILURE - stuck: the watchdog abandons the invoke (REEF_INVOKE_TIMEOUT), the run waiting behind it moves to the CPU variant, and the stuck call is cleaned up when it returns', async () => {
    const state = stateFile('devices=usb:1');
    Object.assign(process.env, standinEnv('', { REEF_STANDIN_STATE: state.path }));
    const s = await load(await tpuBundle(), { watchdogMs: 300, edgetpuRetryMs: 20 });
    const events = recordEvents(s);
    const x = pixels();
    const want = Buffer.from((await s.run([x]))[OUT]!.data.buffer);

    state.set('devices= hang');  // The device stops answering, then drops off the bus.
    const [stuck, behind] = await Promise.allSettled([s.run([x]), s.run([x])]);
    expect(stuck.status).toBe('rejected');
    const e = (stuck as PromiseRejectedResult).reason as ReefError;
    expect([e.code, e.message]).toEqual(['REEF_INVOKE_TIMEOUT',
      `the invoke on the Edge TPU (${DEV}) made no progress for 300 ms and was abandoned; the device is treated as lost. ` +
      'Raise watchdogMs (--watchdog) if the model is just this slow here']);
    expect(behind.status).toBe('fulfilled');
    expect(Buffer.from((behind as PromiseFulfilledResult<Awaited<ReturnType<Session['run']>>>).value[OUT]!.data.buffer)).toEqual(want);
    expect(events).toEqual([`watchdog 300 ${DEV}`, `device-lost ${DEV} REEF_INVOKE_TIMEOUT`, 'fallback cpu-int8']);

    const back = nextEvent(s, 'device-restored');
    state.set('devices=usb:1');  // The stuck call returns (its interpreter is freed by it) and the device is there.
    await back;
    expect(Buffer.from((await s.run([x]))[OUT]!.data.buffer)).toEqual(want);
    expect(s.delegate.name).toBe('edgetpu');
    await s.dispose();
  });

  standinOnly('EXPECTED FAILURE - a compiled model without a CPU variant: runs fail at once with REEF_EDGETPU_DEVICE_LOST while the device is gone, and work again when it is back', async () => {
    const state = stateFile('devices=usb:1');
    Object.assign(process.env, standinEnv('', { REEF_STANDIN_STATE: state.path }));
    const s = await load(TPU, { edgetpuRetryMs: 20 });
    const events = recordEvents(s);
    const x = pixels();
    await s.run([x]);
    state.set('devices=');
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(await s.run([x]).then(() => 'ok', (e: ReefError) => e.code));
    expect(codes).toEqual(['REEF_EDGETPU_DEVICE_LOST', 'REEF_EDGETPU_DEVICE_LOST', 'REEF_EDGETPU_DEVICE_LOST']);
    const back = nextEvent(s, 'device-restored');
    state.set('devices=usb:1');
    await back;
    await s.run([x]);
    expect(events).toEqual([`device-lost ${DEV} REEF_EDGETPU_DEVICE_LOST`, `device-restored ${DEV}`]);
    await s.dispose();
  });

  standinOnly('EXPECTED FAILURE - a device that never comes back does not hold the process: it ends on its own after the timeout', () => {
    const state = stateFile('devices=usb:1 hang');
    const script = `import { load } from ${JSON.stringify(join(REPO_ROOT, 'src', 'index.ts'))};
      const s = await load(${JSON.stringify(TPU)}, { watchdogMs: 200 });
      const e = await s.run([new Uint8Array(128 * 128 * 3)]).catch((err) => err);
      console.log(e.code);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
      { env: { ...process.env, ...standinEnv('', { REEF_STANDIN_STATE: state.path }) }, encoding: 'utf8', timeout: 60_000, cwd: REPO_ROOT });
    expect([r.status, r.signal, r.stdout.trim()]).toEqual([0, null, 'REEF_INVOKE_TIMEOUT']);
  });

  standinOnly('EXPECTED FAILURE - reef bench --watchdog: a device that stops answering ends the bench with REEF_INVOKE_TIMEOUT; a bad value is refused first', () => {
    const cli = (env: Record<string, string>, ...args: string[]) =>
      spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'reef.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    const bad = cli(standinEnv('usb:1'), 'bench', TPU, '--edgetpu', 'usb', '--watchdog', '1.5');
    expect([bad.status, bad.stderr]).toEqual([2, 'reef: REEF_INVALID_ARGUMENT: Expected an integer number of milliseconds from 0 (off) to 86400000 for --watchdog but received "1.5"\n  fix: See the message: it names the argument, what was expected and what was received.\n']);
    const state = stateFile('devices=usb:1 hang');
    const r = cli(standinEnv('', { REEF_STANDIN_STATE: state.path }), 'bench', TPU, '--edgetpu', 'usb', '--watchdog', '300', '--runs', '5', '--warmup', '0');
    const lines = r.stderr.trim().split('\n');
    expect([r.status, r.signal, lines.at(-1)]).toEqual([1, null,
      '  fix: Check the device (`reef doctor`); raise the limit (watchdogMs / --watchdog MS) if the model is just slow on this board.']);
    expect(lines.at(-2)).toMatch(/^reef: REEF_INVOKE_TIMEOUT: .*made no progress for 300 ms and was abandoned/);
  });
});

describe('the contract: holds on the stand-in and on a real device (REEF_TEST_EDGETPU=1)', () => {
  const cli = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'reef.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });

  it('a compiled model runs on the Edge TPU: same top-1 as its CPU twin, every score within one quantization step', async () => {
    Object.assign(process.env, standinEnv('usb:1'));
    const tpu = await load(TPU);
    const cpu = await load(TWIN, { xnnpack: false });
    expect(tpu.delegate.name).toBe('edgetpu');
    const x = pixels();
    const [a, b] = [(await tpu.run([x]))[OUT]!.data as Uint8Array, (await cpu.run([x]))[OUT]!.data as Uint8Array];
    const top = (v: Uint8Array) => v.indexOf(Math.max(...v));
    expect(top(a)).toBe(top(b));
    expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeLessThanOrEqual(1);
    await Promise.all([tpu.dispose(), cpu.dispose()]);
  });

  it('EXPECTED FAILURE - a device index past the last one: REEF_EDGETPU_NO_DEVICE listing the devices there are', async () => {
    Object.assign(process.env, standinEnv('usb:1'));
    const { listEdgetpuDevices } = await import('../../src/runtime/edgetpu.js');
    await (await load(TPU)).dispose();  // Loads the runtime.
    const devices = listEdgetpuDevices();
    const e = await load(TPU, { edgetpu: `:${devices.length}` }).catch((err: ReefError) => err);
    expect((e as ReefError).code).toBe('REEF_EDGETPU_NO_DEVICE');
    for (const d of devices) expect((e as ReefError).message).toContain(`(${d.path})`);
  });

  it('reef bench on the Edge TPU runs end to end and says what ran', () => {
    const r = cli(standinEnv('usb:1'), 'bench', TPU, '--edgetpu', 'usb', '--runs', '20', '--warmup', '2', '--json');
    expect([r.status, r.stderr]).toEqual([0, '']);
    const doc = JSON.parse(r.stdout) as { delegate: string; delegate_reason: string; runs: number; latency_ms: { p50: number } };
    expect([doc.delegate, doc.runs]).toEqual(['edgetpu', 20]);
    expect(doc.delegate_reason).toMatch(/^Edge TPU usb \S+, runtime /);
    expect(doc.latency_ms.p50).toBeGreaterThan(0);
  });
});

describe('checked before loading (a fresh process each: the runtime loads once per process)', () => {
  const cli = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'reef.js'), ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });

  standinOnly('EXPECTED FAILURE - a runtime older than the model needs: both numbers and both fixes', () => {
    const r = cli(standinEnv('usb:1', { REEF_STANDIN_RUNTIME: '11' }), 'run', TPU, sharedPath('images/misc/grace_hopper.jpg'));
    expect([r.status, r.stderr.split('\n')[0]]).toEqual([1,
      `reef: REEF_EDGETPU_RUNTIME_TOO_OLD: ${TPU} needs Edge TPU runtime version 12 or newer, and the installed runtime (${standin}) is version 11. ` +
      'Either upgrade libedgetpu (`sudo apt-get install --only-upgrade libedgetpu1-std`), or recompile the model for this runtime: ' +
      '`edgetpu_compiler -m 11 model.tflite` (reef edgetpu compile --min-runtime 11).']);
  });

  standinOnly('EXPECTED FAILURE - a runtime whose version reef cannot read refuses the package itself, in its own words, and gets the same code', () => {
    const r = cli(standinEnv('usb:1', { REEF_STANDIN_RUNTIME: '11', REEF_STANDIN_VERSION: 'libedgetpu (a custom build)' }),
      'run', TPU, sharedPath('images/misc/grace_hopper.jpg'));
    expect([r.status, r.stderr.split('\n')[0]]).toEqual([1,
      `reef: REEF_EDGETPU_RUNTIME_TOO_OLD: ${TPU} needs Edge TPU runtime version 12 or newer, and the installed runtime is version 11. ` +
      'Either upgrade libedgetpu (`sudo apt-get install --only-upgrade libedgetpu1-std`), or recompile the model for this runtime: ' +
      '`edgetpu_compiler -m 11 model.tflite` (reef edgetpu compile --min-runtime 11). The runtime said: tensor allocation failed: ' +
      'Failed to prepare for TPU. Failed precondition: Package requires runtime version (12), which is newer than this runtime version (11).']);
  });

  it('EXPECTED FAILURE - a libedgetpu path that cannot be loaded is named, not replaced by another', () => {
    const r = cli({ REEF_EDGETPU_LIBRARY: '/nonexistent/libedgetpu.so.1' }, 'run', TPU, sharedPath('images/misc/grace_hopper.jpg'), '--json');
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('REEF_EDGETPU_RUNTIME_MISSING');
    expect(doc.error.message).toMatch(/^cannot load the Edge TPU runtime \/nonexistent\/libedgetpu\.so\.1: dlopen\(\/nonexistent\/libedgetpu\.so\.1\) failed: /);
  });

  standinOnly('reef run classifies on the Edge TPU with --edgetpu usb:0, the same top-5 as the CPU model', () => {
    const img = sharedPath('images/misc/grace_hopper.jpg');
    const tpu = cli(standinEnv('usb:1'), 'run', TPU, img, '--edgetpu', 'usb:0', '--json');
    const cpu = cli({}, 'run', TWIN, img, '--no-xnnpack', '--json');
    expect([tpu.status, tpu.stderr]).toEqual([0, '']);
    const top = (s: string) => (JSON.parse(s) as { results: Array<{ top: unknown }> }).results[0]!.top;
    expect(top(tpu.stdout)).toEqual(top(cpu.stdout));
    expect(JSON.parse(tpu.stdout).delegate.name).toBe('edgetpu');
  });
});
