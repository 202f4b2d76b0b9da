import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle, type BundleInput } from '../../src/package/writer.js';
import { openBundle, readBundle } from '../../src/runtime/bundle.js';
import { readTar, writeTar } from '../../src/bundle/tar.js';
import { chooseVariant } from '../../src/runtime/variant.js';
import { edgetpuPresence, probeEdgetpuFacts } from '../../src/runtime/edgetpu-host.js';
import type { Manifest } from '../../src/bundle/manifest.js';
import { isReefError, type ReefError } from '../../src/errors.js';
import { sharedBytes } from '../shared.js';

const Q = 'models/edgetpu/mobilenet_v1_0.25_128_quant.tflite';
const QTPU = 'models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite';
const F = 'models/tflite/mobilenet_v1_0.25_128_float.tflite';
const L = 'labels/imagenet_labels.txt';
const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const NO_TPU = { edgetpu: { runtime: null, device: null } };

function input(): BundleInput {
  return {
    name: 'mobilenet', created: '2024-01-01T00:00:00.000Z',
    variants: [
      { name: 'cpu-float', data: sharedBytes(F), source: F },
      { name: 'edgetpu', data: sharedBytes(QTPU), source: QTPU },
      { name: 'cpu-int8', data: sharedBytes(Q), source: Q },
    ],
    labels: { data: sharedBytes(L), source: L },
  };
}

function errorOf(f: () => unknown): ReefError {
  try {
    f();
  } catch (e) {
    if (isReefError(e)) return e;
    throw e;
  }
  throw new Error('expected a ReefError');
}

/** Rebuild a bundle's tar with edits (the way a tamperer would). */
function retar(bytes: Uint8Array, edit: (entries: Array<{ name: string; data: Uint8Array }>) => Array<{ name: string; data: Uint8Array }>): Uint8Array {
  return writeTar(edit(readTar(bytes).map((e) => ({ name: e.name, data: new Uint8Array(e.data) }))));
}

describe('bundle writer + reader on the shared mobilenet models', () => {
  const { bytes, manifest } = buildBundle(input());

  it('manifest: variants in preference order, provenance, pre-processing read off the models', () => {
    expect(manifest.version).toBe(1);
    expect(manifest.variants.map((v) => [v.name, v.file])).toEqual([
      ['edgetpu', 'models/edgetpu.tflite'], ['cpu-int8', 'models/cpu-int8.tflite'], ['cpu-float', 'models/cpu-float.tflite'],
    ]);
    expect(manifest.variants[0]!.provenance).toEqual({
      source: 'mobilenet_v1_0.25_128_quant_edgetpu.tflite', sha256: hex(sharedBytes(QTPU)),
      compilerVersion: 'cl/', minRuntimeVersion: 12, parameterCachingToken: '6d146c3f97d6648c', segments: 1,
      compiledFrom: 'cpu-int8', tpuOps: 31, cpuOps: 0,
    });
    expect(manifest.preprocess).toEqual({ height: 128, width: 128, channels: 3, colorOrder: 'rgb', mean: 127.5, std: 127.5, dtype: 'uint8', resize: 'squash' });
    expect(manifest.task).toEqual({ type: 'classification', topK: 5 });
    expect(manifest.files['labels.txt']).toEqual({ sha256: hex(sharedBytes(L)), bytes: sharedBytes(L).length });
    expect(manifest.files['models/cpu-float.tflite']!.sha256).toBe(hex(sharedBytes(F)));
    expect(manifest.reports).toEqual({ edgetpuCheck: 'reports/edgetpu-check.json' });
  });

  it('reads back byte for byte; the check report says the prediction agrees with the compiled model', () => {
    const b = readBundle(bytes);
    expect(hex(b.files.get('models/cpu-int8.tflite')!)).toBe(hex(sharedBytes(Q)));
    const rep = JSON.parse(new TextDecoder().decode(b.files.get('reports/edgetpu-check.json')!)) as { predicted: { tpu_ops: number }; compiled: unknown };
    expect(rep.predicted.tpu_ops).toBe(31);
    expect(rep.compiled).toEqual({ tpu_ops: 31, cpu_ops: 0, agrees: true });
  });

  it('is deterministic (same inputs, same bytes)', () => {
    expect(hex(buildBundle(input()).bytes)).toBe(hex(bytes));
  });

  it('BAD INPUT - a tampered model (one byte changed): sha256 mismatch, nothing returned', () => {
    const t = new Uint8Array(bytes);
    const entry = readTar(bytes).find((e) => e.name === 'models/cpu-int8.tflite')!;
    t[entry.data.byteOffset + 1000] ^= 0xff;
    const got = hex(t.subarray(entry.data.byteOffset, entry.data.byteOffset + entry.data.length));
    const e = errorOf(() => readBundle(t));
    expect(e.code).toBe('REEF_BUNDLE_INVALID');
    expect(e.message).toBe(`Invalid .reef bundle: sha256 of "models/cpu-int8.tflite" is ${got}, the manifest says ${hex(sharedBytes(Q))} (tampered or corrupt)`);
  });

  it('BAD INPUT - a corrupt tar header', () => {
    const t = new Uint8Array(bytes);
    t[3] ^= 0x01; // inside the first header's name
    expect(errorOf(() => readBundle(t)).message).toMatch(/^Invalid \.reef bundle: tar header at byte 0: checksum \d+ does not match \d+ \(corrupt archive\)$/);
  });

  it('BAD INPUT - a truncated bundle', () => {
    const tpu = readTar(bytes).find((e) => e.name === 'models/edgetpu.tflite')!;
    const cut = tpu.data.byteOffset + 1024;
    expect(errorOf(() => readBundle(bytes.subarray(0, cut))).message)
      .toBe(`Invalid .reef bundle: tar entry "models/edgetpu.tflite" (${tpu.data.length} bytes at ${tpu.data.byteOffset}) runs past the end of the ${cut}-byte archive (truncated?)`);
    expect(errorOf(() => readBundle(bytes.subarray(0, 1000))).message).toBe('Invalid .reef bundle: archive is 1000 bytes, not a multiple of 512 (truncated?)');
  });

  it('BAD INPUT - an unknown manifest version', () => {
    const t = retar(bytes, (es) => es.map((e) => {
      if (e.name !== 'manifest.json') return e;
      const m = JSON.parse(new TextDecoder().decode(e.data)) as Manifest;
      m.version = 2;
      return { name: e.name, data: new TextEncoder().encode(JSON.stringify(m)) };
    }));
    const e = errorOf(() => readBundle(t));
    expect(e.code).toBe('REEF_BUNDLE_VERSION');
    expect(e.message).toBe('Unsupported .reef bundle: manifest version 2; this reef reads version 1 (upgrade reef, or re-package the model with this version)');
  });

  it('BAD INPUT - a missing variant file; an unlisted extra file', () => {
    const missing = retar(bytes, (es) => es.filter((e) => e.name !== 'models/cpu-float.tflite'));
    expect(errorOf(() => readBundle(missing)).message).toBe('Invalid .reef bundle: file "models/cpu-float.tflite" listed in the manifest is missing');
    const extra = retar(bytes, (es) => [...es, { name: 'models/evil.tflite', data: new Uint8Array([1, 2, 3]) }]);
    expect(errorOf(() => readBundle(extra)).message).toBe('Invalid .reef bundle: file "models/evil.tflite" is not listed in the manifest (tampered?)');
  });

  it('BAD INPUT - a manifest naming inherited keys (__proto__, constructor) as files is refused', () => {
    for (const key of ['constructor', '__proto__', 'toString']) {
      const t = retar(bytes, (es) => es.map((e) => {
        if (e.name !== 'manifest.json') return e;
        const m = JSON.parse(new TextDecoder().decode(e.data)) as Manifest;
        m.variants[0]!.file = key;
        return { name: e.name, data: new TextEncoder().encode(JSON.stringify(m)) };
      }));
      const e = errorOf(() => readBundle(t));
      expect([e.code, e.message]).toEqual(['REEF_BUNDLE_INVALID', `Invalid .reef bundle: manifest.json: variants[0].file "${key}" is not listed in files`]);
      const labels = retar(bytes, (es) => es.map((e) => {
        if (e.name !== 'manifest.json') return e;
        const m = JSON.parse(new TextDecoder().decode(e.data)) as Manifest;
        (m as { labels?: string }).labels = key;
        return { name: e.name, data: new TextEncoder().encode(JSON.stringify(m)) };
      }));
      expect(errorOf(() => readBundle(labels)).message).toBe('Invalid .reef bundle: manifest.json: labels must name a file listed in files');
    }
  });

  it('BAD INPUT - not a bundle at all', () => {
    expect(errorOf(() => readBundle(sharedBytes(Q).subarray(0, 512 * 20))).message).toMatch(/^Invalid \.reef bundle: /);
  });
});

describe('bundle writer refuses wrong variants', () => {
  it('a compiled model given as cpu-int8', () => {
    const e = errorOf(() => buildBundle({ name: 'x', variants: [{ name: 'cpu-int8', data: sharedBytes(QTPU), source: 'a_edgetpu.tflite' }] }));
    expect([e.code, e.message]).toEqual(['REEF_INVALID_ARGUMENT', 'Expected a CPU model (without edgetpu-custom-op) for the cpu-int8 variant but received a_edgetpu.tflite']);
  });
  it('a float model given as cpu-int8; an uncompiled model as edgetpu', () => {
    expect(errorOf(() => buildBundle({ name: 'x', variants: [{ name: 'cpu-int8', data: sharedBytes(F), source: 'f.tflite' }] })).message)
      .toBe('Expected a full-integer (int8/uint8) model for the cpu-int8 variant but received f.tflite');
    expect(errorOf(() => buildBundle({ name: 'x', variants: [{ name: 'edgetpu', data: sharedBytes(Q), source: 'q.tflite' }] })).message)
      .toBe('Expected a model compiled by edgetpu_compiler (with edgetpu-custom-op) for the edgetpu variant but received q.tflite');
  });
  it('variants of different input sizes', () => {
    const e = errorOf(() => buildBundle({ name: 'x', variants: [
      { name: 'cpu-int8', data: sharedBytes('models/edgetpu/mobilenet_v1_0.5_160_quant.tflite'), source: 'q160' },
      { name: 'cpu-float', data: sharedBytes(F), source: 'f128' },
    ] }));
    expect(e.message).toBe('Expected every variant to take the same input size but cpu-float takes 128x128x3 and cpu-int8 takes 160x160x3 (HxWxC)');
  });
});

describe('chooseVariant (pure, fixture host facts)', () => {
  const { manifest } = buildBundle(input());
  it('no Edge TPU runtime: cpu-int8, and why edgetpu was skipped', () => {
    expect(chooseVariant(manifest, NO_TPU)).toEqual({
      variant: 'cpu-int8', reason: 'full-integer model on the CPU (the fastest CPU variant)',
      skipped: [{ variant: 'edgetpu', reason: 'the Edge TPU runtime (libedgetpu.so.1) is not installed (looked in /usr/lib/x86_64-linux-gnu/libedgetpu.so.1, /usr/lib/aarch64-linux-gnu/libedgetpu.so.1, ...)' }],
    });
  });
  it('runtime but no device; runtime and device: edgetpu, unless turned off', () => {
    const lib = '/usr/lib/x86_64-linux-gnu/libedgetpu.so.1';
    expect(chooseVariant(manifest, { edgetpu: { runtime: lib, device: null } }).skipped[0]!.reason)
      .toBe('no Coral device is attached (USB 1a6e:089a / 18d1:9302 or PCIe /dev/apex_0)');
    expect(chooseVariant(manifest, { edgetpu: { runtime: lib, device: { interface: 'usb', id: '18d1:9302' } } }))
      .toEqual({ variant: 'edgetpu', reason: `Edge TPU runtime ${lib} and usb device 18d1:9302 present`, skipped: [] });
    const both = chooseVariant(manifest, { edgetpu: { runtime: lib, device: { interface: 'usb', id: '18d1:9302' } }, edgetpuEnabled: false });
    expect(both.variant).toBe('cpu-int8');
    expect(both.skipped[0]!.reason).toBe('an Edge TPU is present (usb 18d1:9302) but Edge TPU execution is turned off (--edgetpu off)');
    expect(chooseVariant(manifest, { edgetpu: { runtime: lib, device: { interface: 'usb', id: '18d1:9302' } }, edgetpuEnabled: true }).variant).toBe('edgetpu');
  });
  it('--variant: forced; edgetpu without the runtime fails with REEF_CUSTOM_OP_UNRESOLVED; unknown names fail', () => {
    expect(chooseVariant(manifest, NO_TPU, 'cpu-float')).toEqual({ variant: 'cpu-float', reason: 'forced with --variant cpu-float', skipped: [] });
    const e = errorOf(() => chooseVariant(manifest, NO_TPU, 'edgetpu'));
    expect(e.code).toBe('REEF_CUSTOM_OP_UNRESOLVED');
    expect(e.message).toBe('The edgetpu variant needs the Edge TPU runtime and a Coral device: the Edge TPU runtime (libedgetpu.so.1) is not installed (looked in /usr/lib/x86_64-linux-gnu/libedgetpu.so.1, /usr/lib/aarch64-linux-gnu/libedgetpu.so.1, ...). Install libedgetpu1-std from Coral\'s apt repository and attach the device, or run --variant cpu-int8');
    const u = errorOf(() => chooseVariant(manifest, NO_TPU, 'gpu'));
    expect([u.code, u.message]).toEqual(['REEF_VARIANT_UNAVAILABLE', 'Expected one of edgetpu, cpu-int8, cpu-float (the bundle\'s variants) for --variant but received "gpu"']);
  });
  it('a float-only bundle runs cpu-float', () => {
    const m = buildBundle({ name: 'f', variants: [{ name: 'cpu-float', data: sharedBytes(F), source: F }] }).manifest;
    expect(chooseVariant(m, NO_TPU)).toMatchObject({ variant: 'cpu-float', reason: 'float model on the CPU', skipped: [] });
  });
});

describe('Edge TPU presence from probed facts (fixture /sys and /dev trees)', () => {
  let root = '';
  beforeAll(() => { root = mkdtempSync(join(tmpdir(), 'reef-host-')); });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const file = (rel: string, text = ''): void => { mkdirSync(join(root, rel, '..'), { recursive: true }); writeFileSync(join(root, rel), text); };

  it('bare host: nothing', () => {
    expect(edgetpuPresence(probeEdgetpuFacts(root))).toEqual({ runtime: null, device: null });
  });
  it('USB accelerator (after firmware load) + libedgetpu', () => {
    file('sys/bus/usb/devices/1-1/idVendor', '18d1\n');
    file('sys/bus/usb/devices/1-1/idProduct', '9302\n');
    file('sys/bus/usb/devices/usb1/idVendor', '1d6b\n');
    file('sys/bus/usb/devices/usb1/idProduct', '0003\n');
    file('usr/lib/aarch64-linux-gnu/libedgetpu.so.1');
    const f = probeEdgetpuFacts(root);
    expect(f.usbIds.sort()).toEqual(['18d1:9302', '1d6b:0003']);
    expect(edgetpuPresence(f)).toEqual({ runtime: '/usr/lib/aarch64-linux-gnu/libedgetpu.so.1', device: { interface: 'usb', id: '18d1:9302' } });
  });
  it('PCIe /dev/apex_0 wins over USB', () => {
    file('dev/apex_0');
    expect(edgetpuPresence(probeEdgetpuFacts(root)).device).toEqual({ interface: 'pcie', id: '/dev/apex_0' });
  });
});

describe('openBundle', () => {
  let dir = '';
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'reef-open-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('returns the chosen variant\'s verified bytes, labels and the reason', async () => {
    const p = join(dir, 'm.reef');
    writeFileSync(p, buildBundle(input()).bytes);
    const b = await openBundle(p, { host: NO_TPU });
    expect(b.variant.name).toBe('cpu-int8');
    expect(hex(b.model)).toBe(hex(sharedBytes(Q)));
    expect(b.labels!.length).toBe(1001);
    expect(b.labels![1]).toBe('tench, Tinca tinca');
    const forced = await openBundle(p, { host: NO_TPU, variant: 'cpu-float' });
    expect(hex(forced.model)).toBe(hex(sharedBytes(F)));
  });
  it('BAD INPUT - no such bundle', async () => {
    await expect(openBundle(join(dir, 'nope.reef'))).rejects.toMatchObject({ code: 'REEF_MODEL_NOT_FOUND', message: `cannot read bundle ${join(dir, 'nope.reef')}: no such file` });
  });
});
