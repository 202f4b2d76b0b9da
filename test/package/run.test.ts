import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/index.js';
import { registerPackage } from '../../src/cli/package.js';
import { probeHost } from '../../src/runtime/bundle.js';
import { readTar } from '../../src/bundle/tar.js';
import { sharedPath } from '../shared.js';
import { runCli } from '../edgetpu/cli.js';

const Q = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
const QTPU = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
const F = sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite');
const LABELS = sharedPath('labels/imagenet_labels.txt');
const TENCH = sharedPath('images/imagenet/n01440764_tench.JPEG'); // labels.csv: tf1001 index 1

async function reef(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await main(['node', 'reef', ...args], { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

describe('reef package -> reef run x.reef, end to end on the shared mobilenet models', () => {
  let dir = '';
  let bundle = '';
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'reef-e2e-')); bundle = join(dir, 'mobilenet.reef'); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reef package writes the bundle and says what is in it', async () => {
    const r = await runCli(registerPackage, 'package', '-o', bundle, '--edgetpu', QTPU, '--cpu-int8', Q, '--cpu-float', F, '--labels', LABELS, '-k', '3');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^wrote ${bundle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ bytes, sha256 [0-9a-f]{64}\\)$`));
    expect(lines[1]).toBe(`  edgetpu   models/edgetpu.tflite    uint8[1,128,128,3] from ${QTPU} compiler cl/, min runtime 12, compiled from cpu-int8: 31 TPU / 0 CPU ops`.replace(`from ${QTPU}`, 'from mobilenet_v1_0.25_128_quant_edgetpu.tflite'));
    expect(lines[4]).toBe('  task classification; input 128x128x3 rgb, mean 127.5, std 127.5, resize squash; labels imagenet_labels.txt');
    expect(readTar(new Uint8Array(readFileSync(bundle))).map((e) => e.name)).toEqual([
      'manifest.json', 'models/edgetpu.tflite', 'models/cpu-int8.tflite', 'models/cpu-float.tflite', 'reports/edgetpu-check.json', 'labels.txt',
    ]);
  });

  it('reef run x.reef: cpu-int8 on this host (no Edge TPU), labels from the bundle; the tench is a tench', async () => {
    expect(probeHost().edgetpu.runtime).toBeNull(); // precondition: no libedgetpu on the test machine
    const r = await reef('run', bundle, TENCH, '--json', '-k', '3');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { variant: { name: string; reason: string }; results: Array<{ top: Array<{ index: number; label: string }> }> };
    expect(doc.variant).toEqual({ name: 'cpu-int8', reason: 'full-integer model on the CPU (the fastest CPU variant)' });
    expect(doc.results[0]!.top[0]).toMatchObject({ index: 1, label: 'tench, Tinca tinca' });
  });

  it('--variant cpu-float runs the float model; --verbose says which variant and why', async () => {
    const r = await reef('run', bundle, TENCH, '--variant', 'cpu-float', '-k', '1', '--verbose');
    expect(r.code).toBe(0);
    expect(r.err).toContain('variant cpu-float (models/cpu-float.tflite): forced with --variant cpu-float\n');
    expect(r.out).toMatch(/^n01440764_tench\.JPEG\n {3}1 {2}\d\.\d{4} {2}tench, Tinca tinca \(1\)\n$/);
    const v = await reef('run', bundle, TENCH, '--verbose', '-k', '1');
    expect(v.err).toContain('variant cpu-int8 (models/cpu-int8.tflite): full-integer model on the CPU (the fastest CPU variant)\n  skipped edgetpu: the Edge TPU runtime (libedgetpu.so.1) is not installed');
  });

  it('BAD INPUT - --variant edgetpu without the Edge TPU runtime: REEF_CUSTOM_OP_UNRESOLVED with guidance', async () => {
    const r = await reef('run', bundle, TENCH, '--variant', 'edgetpu');
    expect(r.code).toBe(1);
    expect(r.err.split('\n')[0]).toBe('reef: REEF_CUSTOM_OP_UNRESOLVED: The edgetpu variant needs the Edge TPU runtime and a Coral device: the Edge TPU runtime (libedgetpu.so.1) is not installed (looked in /usr/lib/x86_64-linux-gnu/libedgetpu.so.1, /usr/lib/aarch64-linux-gnu/libedgetpu.so.1, ...). Install libedgetpu1-std from Coral\'s apt repository and attach the device, or run --variant cpu-int8');
  });

  it('BAD INPUT - a tampered bundle is refused before anything loads', async () => {
    const bytes = new Uint8Array(readFileSync(bundle));
    const e = readTar(bytes).find((x) => x.name === 'models/cpu-int8.tflite')!;
    bytes[e.data.byteOffset + 5000] ^= 0x5a;
    const bad = join(dir, 'tampered.reef');
    writeFileSync(bad, bytes);
    const r = await reef('run', bad, TENCH);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^reef: REEF_BUNDLE_INVALID: Invalid \.reef bundle: sha256 of "models\/cpu-int8\.tflite" is [0-9a-f]{64}, the manifest says [0-9a-f]{64} \(tampered or corrupt\)\n/);
    expect(r.out).toBe('');
  });

  it('BAD INPUT - --variant on a plain .tflite', async () => {
    const r = await reef('run', Q, TENCH, '--variant', 'cpu-int8');
    // The exact sentence is the runtime's (load() owns this check and its wording): code and subject here.
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toMatch(/^reef: REEF_INVALID_ARGUMENT: Expected a \.reef bundle for .* but received /);
    expect(r.err.split('\n')[0]!.endsWith(` but received ${Q}`)).toBe(true);
  });

  it('BAD INPUT - reef package without any model', async () => {
    const r = await runCli(registerPackage, 'package', '-o', join(dir, 'empty.reef'));
    expect([r.code, r.err.split('\n')[0]]).toEqual([2, 'reef: REEF_INVALID_ARGUMENT: Expected at least one model variant (--edgetpu, --cpu-int8, --cpu-float or --onnx) but received none']);
  });
});
