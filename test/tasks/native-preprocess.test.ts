/**
 * Native frame pre-processing (native/preprocess.cc, on the runner thread) against the TypeScript
 * path (resizePixels + pixelsToInput on the JS thread): the same photo through the same model gives
 * byte-identical outputs for every resize mode, filter, colour order and input dtype; and bad frames
 * get coded errors, never a crash.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { load, type Session } from '../../src/index.js';
import { VisionRunner, decodePhoto } from '../../src/tasks/vision.js';
import { sharedPath } from '../shared.js';

const MODELS = {
  float: sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite'), // float32 input
  uint8raw: sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'), // uint8, raw pixels
  int8: sharedPath('models/tflite/vww_96_int8.tflite'), // int8, quantized
  ssd: sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite'),
};
const sessions: Record<string, Session> = {};
let photo: { pixels: Uint8Array; width: number; height: number };

beforeAll(async () => {
  for (const [k, m] of Object.entries(MODELS)) sessions[k] = await load(m);
  photo = await decodePhoto(sharedPath('images/misc/cats_and_dogs.jpg'));
});
afterAll(async () => { for (const s of Object.values(sessions)) await s.dispose(); });

/** Every output of one run, as bytes. */
async function outputsOf(s: Session, native: boolean, opts: ConstructorParameters<typeof VisionRunner>[1]): Promise<Buffer[]> {
  const r = new VisionRunner(s, { ...opts, nativePreprocess: native });
  expect(r.nativePreprocess).toBe(native);
  const seen: Buffer[] = [];
  const orig = s.runTimed.bind(s);
  (s as unknown as { runTimed: Session['runTimed'] }).runTimed = async (f, o) => {
    const res = await orig(f, o);
    for (const info of s.outputs) { const d = res.outputs[info.name].data; seen.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength)); }
    return res;
  };
  try {
    await r.runPixels(photo.pixels, photo.width, photo.height);
  } finally {
    delete (s as unknown as { runTimed?: unknown }).runTimed;
  }
  return seen;
}

describe('native pre-processing gives the TypeScript path\'s bytes', () => {
  const cases: Array<[keyof typeof MODELS, ConstructorParameters<typeof VisionRunner>[1]]> = [
    ['float', {}],
    ['float', { resize: 'letterbox', pad: 114 }],
    ['float', { resize: 'center-crop', filter: 'nearest' }],
    ['float', { bgr: true, norm: { mean: [123.7, 116.3, 103.5], std: [58.4, 57.1, 57.4] } }],
    ['uint8raw', { resize: 'letterbox' }],
    ['int8', { resize: 'center-crop' }],
    ['ssd', {}],
  ];
  for (const [model, opts] of cases) {
    it(`${model} ${JSON.stringify(opts)}: identical outputs`, async () => {
      const s = sessions[model];
      const js = await outputsOf(s, false, opts);
      const nat = await outputsOf(s, true, opts);
      expect(nat.length).toBe(s.outputs.length);
      nat.forEach((b, i) => expect(Buffer.compare(b, js[i]), `output ${i}`).toBe(0));
    });
  }

  it('the comparison can fail: another filter gives other bytes on both paths', async () => {
    const a = await outputsOf(sessions.float, true, {});
    const b = await outputsOf(sessions.float, true, { filter: 'nearest' });
    expect(Buffer.compare(a[0], b[0])).not.toBe(0);
  });

  it('timings say where the work went: native pre-processing leaves the JS thread almost nothing to do', async () => {
    const r = new VisionRunner(sessions.ssd, {});
    const { timings } = await r.runPixels(photo.pixels, photo.width, photo.height);
    expect(timings.native).toBe(true);
    expect(timings.invoke).toBeGreaterThan(0);
    const j = await new VisionRunner(sessions.ssd, { nativePreprocess: false }).runPixels(photo.pixels, photo.width, photo.height);
    expect(j.timings.native).toBe(false);
  });

  it('BAD INPUT - a frame of the wrong size: REEF_INVALID_ARGUMENT naming both sizes; a bad spec straight to the session: coded, no crash', async () => {
    const r = new VisionRunner(sessions.float, {});
    const e = await r.runPixels(new Uint8Array(10), 4, 4).then(() => ({ code: "", message: "resolved" }), (x: unknown) => x as { code: string; message: string });
    expect([e.code, e.message]).toEqual(['REEF_INVALID_ARGUMENT', 'Expected 48 bytes (4x4x3) for the pixels but received 10']);
    const bad = await sessions.float.runTimed([], { frame: { rgb: new Uint8Array(48), spec: new Float64Array(28) } }).then(() => ({ code: "", message: "resolved" }), (x: unknown) => x as { code: string; message: string });
    expect([bad.code, bad.message]).toEqual(['REEF_INVALID_ARGUMENT', 'frame spec: sizes must be integers from 1 to 32768']);
    const short = await sessions.float.runTimed([], { frame: { rgb: new Uint8Array(48), spec: new Float64Array(3) } }).then(() => ({ code: "", message: "resolved" }), (x: unknown) => x as { code: string; message: string });
    expect([short.code, short.message]).toEqual(['REEF_INVALID_ARGUMENT', 'frame spec must hold 28 numbers']);
  });
});
