/**
 * Calibration sources beyond image folders: frames of a video file (real ffmpeg, spread evenly over
 * the video, checked against ffmpeg's own decode of the same frames) and one source per input of a
 * multi-input model (`--calib NAME=DATA`), with the errors bad sources get.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../cli.js';
import { convertOnnx } from '../../src/convert/index.js';
import { randomFloats } from '../../src/convert/check.js';
import { readOnnx } from '../../src/model/onnx/reader.js';
import { encodeOnnxModel, type TensorSpec } from '../../src/model/onnx/writer.js';
import { videoFrames } from '../../src/quantize/data.js';
import { sharedPath } from '../shared.js';
import { floatInfo, npyBytes } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-calib-sources-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const video = sharedPath('video/tree.avi'); // 320x240, 68 frames (ffprobe -count_frames)

/** Frame `n` of the video as ffmpeg itself decodes and scales it (the independent reference). */
function ffmpegFrame(n: number, w: number, h: number): Uint8Array {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', video, '-vf', `select=eq(n\\,${n}),scale=${w}:${h}`, '-vsync', '0', '-frames:v', '1',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 24 });
  expect(r.status).toBe(0);
  expect(r.stdout.length).toBe(w * h * 3);
  return new Uint8Array(r.stdout);
}

describe('calibration from a video file', () => {
  it('takes N frames spread evenly over the video, each exactly the frame ffmpeg decodes', async () => {
    const frames = await videoFrames(video, floatInfo([1, 96, 96, 3]), 4);
    expect(frames.length).toBe(4);
    // 68 frames / 4: frames 0, 17, 34, 51 (and not their neighbours).
    for (const [k, n] of [0, 17, 34, 51].entries()) {
      expect(Buffer.from(frames[k]!).equals(Buffer.from(ffmpegFrame(n, 96, 96)))).toBe(true);
      expect(Buffer.from(frames[k]!).equals(Buffer.from(ffmpegFrame(n + 1, 96, 96)))).toBe(false);
    }
  });

  it('reef quantize --calib video --frames 24: vww_96 calibrated on 24 frames, 8 of them held for the report', async () => {
    const out = join(dir, 'vww_video.tflite');
    const r = await cli('quantize', sharedPath('models/tflite/vww_96_float.tflite'), '--calib', video, '--frames', '24', '--samples', '16', '--eval', '8',
      '--mean', '0', '--std', '255', '-o', out, '--json', '--accept-low-sqnr');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { report: { samples: unknown; sqnrCheck: { samples: number; held: boolean } } };
    expect(j.report.samples).toEqual({ calibration: 16, evaluation: 8 });
    expect(j.report.sqnrCheck).toMatchObject({ samples: 8, held: true });
    expect(readFileSync(out).length).toBeGreaterThan(0);
  }, 60_000);

  it('BAD INPUT - a file with a video extension that is not a video: REEF_SOURCE_FAILED with ffprobe\'s words, no output', async () => {
    const fake = join(dir, 'fake.mp4');
    writeFileSync(fake, 'not a video');
    const out = join(dir, 'never.tflite');
    const r = await cli('quantize', sharedPath('models/tflite/vww_96_float.tflite'), '--calib', fake, '-o', out);
    expect(r.code).toBe(1);
    expect(r.err).toContain('REEF_SOURCE_FAILED');
    expect(r.err).toContain(`calibration video ${fake}: ffprobe failed: `);
    expect(() => readFileSync(out)).toThrow();
  });
});

describe('calibration per input of a multi-input model (--calib NAME=DATA)', () => {
  const W = (name: string, dims: number[], seed: number): TensorSpec => ({ name, dataType: 1, dims, values: randomFloats(dims.reduce((a, b) => a * b, 1), seed) });
  // a [1,3,8,8] and b [1,3,8,8] -> Conv each -> Add -> y; converted to TFLite (NHWC inputs "a" and "b").
  const model = join(dir, 'two_inputs.tflite');
  writeFileSync(model, convertOnnx(readOnnx(encodeOnnxModel({
    opset: 13,
    inputs: [{ name: 'a', shape: [1, 3, 8, 8] }, { name: 'b', shape: [1, 3, 8, 8] }],
    outputs: [{ name: 'y' }],
    initializers: [W('wa', [4, 3, 3, 3], 1), W('wb', [4, 3, 3, 3], 2)],
    nodes: [
      { op: 'Conv', inputs: ['a', 'wa'], outputs: ['ca'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Conv', inputs: ['b', 'wb'], outputs: ['cb'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Add', inputs: ['ca', 'cb'], outputs: ['y'] },
    ],
  }))).bytes);
  // Input a: 40 stacked samples in [-1, 1); input b: a folder of 30 .npy files scaled by 10 (its own range).
  const aFile = join(dir, 'a.npy');
  writeFileSync(aFile, npyBytes([40, 1, 8, 8, 3], randomFloats(40 * 192, 5)));
  const bDir = join(dir, 'b');
  mkdirSync(bDir);
  for (let k = 0; k < 30; k++) writeFileSync(join(bDir, `b${String(k).padStart(2, '0')}.npy`), npyBytes([1, 8, 8, 3], randomFloats(192, 100 + k).map((v) => 10 * v)));

  it('pairs the k-th sample of each source; each input gets the range of its own data', async () => {
    const r = await cli('quantize', model, '--calib', `a=${aFile}`, '--calib', `b=${bDir}`, '--samples', '24', '--eval', '6', '-o', join(dir, 'two_int8.tflite'), '--report', join(dir, 'two.json'));
    expect(r.code).toBe(0);
    expect(r.err).toContain(`calibration data per input: a 30 sample(s) from ${aFile}, b 30 sample(s) from ${bDir}; 30 used;`);
    const report = JSON.parse(readFileSync(join(dir, 'two.json'), 'utf8')) as { samples: unknown; outputs: Array<{ sqnrDb: number }> };
    expect(report.samples).toEqual({ calibration: 24, evaluation: 6 });
    expect(report.outputs[0]!.sqnrDb).toBeGreaterThan(30);
    const { readTflite } = await import('../../src/model/tflite/reader.js');
    const sg = readTflite(readFileSync(join(dir, 'two_int8.tflite'))).subgraphs[0]!;
    const [sa, sb] = sg.inputs.map((i) => sg.tensors[i]!.quantization!.scale[0]!);
    // b's data spans about 10x a's, and so does its int8 scale.
    expect(sb! / sa!).toBeGreaterThan(8);
    expect(sb! / sa!).toBeLessThan(12);
  }, 60_000);

  it.each([
    [['a=x'], 'Expected --calib NAME=DATA for every input of the model but received none for "b"'],
    [['a=x', 'c=y'], 'Expected an input name (a, b) before "=" in --calib but received "c"'],
    [['a=x', 'a=y'], 'Expected one --calib per input but received two for "a"'],
    [['a=x', 'y'], 'Expected NAME=DATA for each --calib of a model calibrated per input but received "y"'],
  ])('BAD INPUT - --calib %j: REEF_INVALID_ARGUMENT naming it', async (specs, message) => {
    const r = await cli('quantize', model, ...specs.flatMap((s) => ['--calib', s]), '-o', join(dir, 'never.tflite'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('REEF_INVALID_ARGUMENT');
    expect(r.err).toContain(message);
  });

  it('BAD INPUT - one unnamed source for a two-input model: REEF_INVALID_ARGUMENT saying to name each input', async () => {
    const r = await cli('quantize', model, '--calib', bDir, '-o', join(dir, 'never.tflite'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('Expected a model with one input for one calibration source but received one with 2 inputs (a, b): give --calib NAME=DATA for each');
  });
});
