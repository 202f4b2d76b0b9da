import { describe, it, expect } from 'vitest';
import { cli } from '../cli.js';
import { listProfiles, matchProfile, probeHost } from '../../src/index.js';
import { sharedPath } from '../shared.js';


const MODEL = 'models/tflite/mobilenet_v1_0.25_128_float.tflite';
const QUANT = 'models/edgetpu/mobilenet_v1_0.25_128_quant.tflite';
const TENCH = 'images/imagenet/n01440764_tench.JPEG'; // labels.csv: tf1001 index 1, "tench"
const LABELS = 'labels/imagenet_labels.txt';

describe('reef run', () => {
  it('prints JSON with the documented shape; the tench photo is a tench', async () => {
    const r = await cli('run', sharedPath(MODEL), sharedPath(TENCH), '--labels', sharedPath(LABELS), '--json', '-k', '3');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { model: string; results: Array<{ image: string; top: Array<{ index: number; label: string; score: number }> }> };
    expect(doc.model).toBe(sharedPath(MODEL));
    expect(doc.results.map((x) => x.image)).toEqual([sharedPath(TENCH)]);
    const top = doc.results[0].top;
    expect(top).toHaveLength(3);
    expect(top[0]).toMatchObject({ index: 1, label: 'tench, Tinca tinca' });
    expect(top[0].score).toBeGreaterThan(top[1].score);
    expect(top[1].score).toBeGreaterThanOrEqual(top[2].score);
  });

  it('prints a table for people and takes several images', async () => {
    const r = await cli('run', sharedPath(QUANT), sharedPath(TENCH), sharedPath('images/imagenet/n01484850_great_white_shark.JPEG'), '--labels', sharedPath(LABELS), '-k', '1');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('n01440764_tench.JPEG');
    expect(lines[1]).toMatch(/^ {3}1 {2}\d\.\d{4} {2}tench, Tinca tinca \(1\)$/);
    expect(lines[2]).toBe('n01484850_great_white_shark.JPEG');
    expect(lines[3]).toMatch(/^ {3}1 {2}\d\.\d{4} {2}great white shark, white shark, .* \(3\)$/);
  });

  it('--verbose says which runtime runs the model', async () => {
    const r = await cli('run', sharedPath(MODEL), sharedPath(TENCH), '-v', '--threads', '2', '--no-xnnpack');
    expect(r.code).toBe(0);
    expect(r.err).toContain(`model ${sharedPath(MODEL)}: float32[1,128,128,3] -> float32[1,1001]; built-in kernels, 2 thread(s); TFLite 2.9.0 from `);
  });

  it('EXPECTED FAILURE - a missing image: code, message and fix, exit 1', async () => {
    const r = await cli('run', sharedPath(MODEL), '/nonexistent.jpg');
    expect(r.code).toBe(1);
    expect(r.err).toBe('reef: REEF_FILE_NOT_FOUND: cannot read image /nonexistent.jpg: no such file\n  fix: Check the path named in the message.\n');
  });

  it('EXPECTED FAILURE - a file that is not an image', async () => {
    const r = await cli('run', sharedPath(MODEL), sharedPath(LABELS), '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('REEF_IMAGE_INVALID');
    expect(doc.error.message).toMatch(new RegExp(`^cannot decode image ${sharedPath(LABELS).replace(/[.]/g, '\\.')}: `));
  });

  it('EXPECTED FAILURE - the Edge TPU model, with the fix in JSON', async () => {
    const r = await cli('run', sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite'), sharedPath(TENCH), '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as { error: { code: string; fix: string } };
    expect(doc.error.code).toBe('REEF_EDGETPU_RUNTIME_MISSING');
    expect(doc.error.fix).toContain('Install libedgetpu1-std from Coral\'s apt repository');
  });

  it('EXPECTED FAILURE - bad option values exit 2', async () => {
    const r = await cli('run', sharedPath(MODEL), sharedPath(TENCH), '-k', 'five');
    expect(r.code).toBe(2);
    expect(r.err).toBe('reef: REEF_INVALID_ARGUMENT: Expected a positive integer for --top-k but received "five"\n  fix: See the message: it names the argument, what was expected and what was received.\n');
    const m = await cli('run', sharedPath(MODEL), sharedPath(TENCH), '--mean', '1,x');
    expect(m.code).toBe(2);
    expect(m.err).toContain('Expected a number or comma-separated numbers for --mean but received "1,x"');
  });

  it('EXPECTED FAILURE - missing arguments is a usage error', async () => {
    const r = await cli('run', sharedPath(MODEL));
    expect(r.code).toBe(2);
    expect(r.err).toBe('reef: REEF_INVALID_ARGUMENT: Expected images, .npy/.bin tensor files, --input NAME=FILE or --random but received none\n' +
      '  fix: See the message: it names the argument, what was expected and what was received.\n');
  });
});

describe('reef info', () => {
  it('--json names the library, its version and the host profile', async () => {
    const r = await cli('info', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { library: { version: string; xnnpack: boolean; path: string }; profile: { id: string }; profiles: string[] };
    expect(doc.library.version).toBe('2.9.0');
    expect(doc.library.xnnpack).toBe(true);
    expect(doc.library.path).toMatch(/tfjs-tflite-node\/cc_deps\/linux_(amd64|arm64)\/libtensorflowlite_c\.so$/);
    expect(doc.profiles).toHaveLength(5);
    // The profile that matches this host, from its own /proc and /sys: on the CI machine (x86-64)
    // the generic one; on a board its own.
    const expected = matchProfile(probeHost(), listProfiles())?.id ?? null;
    expect(doc.profile?.id ?? null).toBe(expected);
    expect(process.arch !== 'x64' || expected === 'generic-x86_64-linux').toBe(true);
  });
});

describe('reef run with model metadata', () => {
  it('takes labels and normalisation from the model when the user gives none', async () => {
    // mobilenet_v1_0.25_128_quant carries TFLITE_METADATA with imagenet_labels.txt and mean/std 127.5.
    const r = await cli('run', sharedPath(QUANT), sharedPath(TENCH), '-k', '1', '-v');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^n01440764_tench\.JPEG\n {3}1 {2}\d\.\d{4} {2}tench, Tinca tinca \(1\)\n$/);
    expect(r.err).toContain('normalisation: mean 127.5 (model metadata), std 127.5 (model metadata); labels: imagenet_labels.txt (model metadata)');
  });

  it('a model without metadata gets the defaults and no labels', async () => {
    const r = await cli('run', sharedPath(MODEL), sharedPath(TENCH), '-k', '1', '-v', '--std', '128');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^n01440764_tench\.JPEG\n {3}1 {2}\d\.\d{4} {2}class 1\n$/);
    expect(r.err).toContain('normalisation: mean 127.5 (default), std 128 (option); labels: none');
  });
});
