/**
 * `reef convert --check-images DIR`: the check against onnxruntime runs on real photos, decoded
 * and normalised as the model expects them, instead of random inputs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeOnnxModel } from '../../src/model/onnx/writer.js';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-convert-images-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('reef convert --check-images', () => {
  it('ultraface_rfb_320 checked on the 8 face photos, (pixel - 127) / 128: both outputs within bounds, the report names the images', async () => {
    const faces = sharedPath('images/faces');
    const out = join(dir, 'ultraface.tflite');
    const r = await cli('convert', sharedPath('models/onnx/ultraface_rfb_320.onnx'), '-o', out, '--check-images', faces, '--mean', '127', '--std', '128', '--report', join(dir, 'r.json'));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`check vs onnxruntime (8 images from ${faces}):`);
    const rep = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { check: { samples: number; images: string; ok: boolean; outputs: Array<{ name: string; ok: boolean; maxAbs: number; cosine: number; refMax: number }> } };
    expect(rep.check).toMatchObject({ samples: 8, images: faces, ok: true });
    expect(rep.check.outputs.map((o) => o.name)).toEqual(['scores', 'boxes']);
    for (const o of rep.check.outputs) {
      expect(o.maxAbs).toBeLessThan(1e-4);
      expect(o.cosine).toBeGreaterThan(0.99999);
    }
    // Photos with faces: some anchor is sure of a face (random inputs rarely get there).
    expect(rep.check.outputs[0]!.refMax).toBeGreaterThan(0.9);
  }, 60_000);

  it('BAD INPUT - a model whose input is not an image: REEF_INVALID_ARGUMENT naming the input; --mean without --check-images too', async () => {
    const model = join(dir, 'vec.onnx');
    writeFileSync(model, encodeOnnxModel({ opset: 13, inputs: [{ name: 'v', shape: [1, 10] }], outputs: [{ name: 'y' }], initializers: [], nodes: [{ op: 'Relu', inputs: ['v'], outputs: ['y'] }] }));
    const r = await cli('convert', model, '-o', join(dir, 'never.tflite'), '--check-images', sharedPath('images/faces'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('REEF_INVALID_ARGUMENT: Expected a model with one image input ([1,C,H,W] or [1,H,W,C], C 1 or 3) for --check-images but received v [1,10]');
    const m = await cli('convert', model, '-o', join(dir, 'never.tflite'), '--mean', '0');
    expect(m.code).toBe(2);
    expect(m.err).toContain('Expected --check-images with --mean/--std (they normalise its images) but received no --check-images');
    expect(() => readFileSync(join(dir, 'never.tflite'))).toThrow();
  });
});
