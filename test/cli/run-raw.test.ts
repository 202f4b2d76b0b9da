import { describe, it, expect } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli.js';
import { readNpy, writeNpy } from '../../src/tensor/npy.js';
import { pixelsToInput } from '../../src/image/preprocess.js';
import type { TensorInfo } from '../../src/index.js';
import { sharedPath } from '../shared.js';

const MNV1 = sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite');
const ULTRA = sharedPath('models/tflite/ultraface_slim_320.tflite');
const DEEPLAB = sharedPath('models/edgetpu/deeplabv3_mnv2_dm05_pascal_quant.tflite');
const FIX_ARG = '  fix: See the message: it names the argument, what was expected and what was received.\n';
const FALLBACK = "reef: warning: XNNPACK refused this model (interpreter creation failed: no detail from TensorFlow Lite); TensorFlow Lite's built-in kernels run it\n";

describe('reef run with raw tensors', () => {
  it('--random --json: every output whole, with its shape after the invoke, and one warning line for the XNNPACK fallback', async () => {
    const r = await cli('run', ULTRA, '--random', '7', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toBe(FALLBACK);
    const doc = JSON.parse(r.out) as { outputs: Array<{ name: string; dtype: string; shape: number[]; data: number[] }>; delegate: { name: string } };
    expect(doc.delegate.name).toBe('none');
    expect(doc.outputs.map((o) => [o.name, o.dtype, o.shape, o.data.length])).toEqual([
      ['Identity', 'float32', [1, 4420, 4], 17680], ['Identity_1', 'float32', [1, 4420, 2], 8840]]);
  });

  it('.npy in, --save out: the saved .npy files hold what --json printed, and feeding them back by name works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-raw-'));
    const r1 = await cli('run', MNV1, '--random', '3', '--json', '--save', dir);
    const doc = JSON.parse(r1.out) as { outputs: Array<{ name: string; data: number[] }>; saved: string[] };
    expect(readdirSync(dir)).toEqual(['MobilenetV1_Predictions_Reshape_1.npy']);
    const saved = readNpy(readFileSync(join(dir, 'MobilenetV1_Predictions_Reshape_1.npy')));
    expect([saved.dtype, saved.shape]).toEqual(['float32', [1, 1001]]);
    expect(Array.from(saved.data as Float32Array)).toEqual(doc.outputs[0]!.data);
    // An all-zero input written as .npy, given positionally and by name: the same outputs.
    const zero = join(dir, 'zero.npy');
    writeFileSync(zero, writeNpy({ dtype: 'float32', shape: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3) }));
    const a = await cli('run', MNV1, zero, '--json');
    const b = await cli('run', MNV1, '--input', `input=${zero}`, '--json');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out).outputs).toEqual(JSON.parse(b.out).outputs);
  });

  it('int64 outputs (segmentation ArgMax) print as JSON numbers and in text', async () => {
    const r = await cli('run', DEEPLAB, sharedPath('images/misc/segmentation_input_rotation0.jpg'), '--raw', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { results: Array<{ outputs: Array<{ dtype: string; shape: number[]; data: unknown[] }> }> };
    const o = doc.results[0]!.outputs[0]!;
    expect([o.dtype, o.shape]).toEqual(['int64', [1, 513, 513]]);
    expect(o.data.every((v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 20)).toBe(true);
    expect(new Set(o.data).size).toBeGreaterThan(1);
    const t = await cli('run', DEEPLAB, sharedPath('images/misc/segmentation_input_rotation0.jpg'), '--raw');
    expect(t.out).toMatch(/^segmentation_input_rotation0\.jpg\n {2}ArgMax {2}int64\[1,513,513\] {2}\[\d+, \d+, .*\(263153 more\)\]\n$/);
  });

  it('EXPECTED FAILURE - a model of no task reef reads, given an image: REEF_TASK_UNSUPPORTED naming the outputs, not a confident class', async () => {
    const r = await cli('run', ULTRA, sharedPath('images/misc/grace_hopper.jpg'));
    expect(r.code).toBe(1);
    expect(r.err).toBe(FALLBACK +
      'reef: REEF_TASK_UNSUPPORTED: reef cannot tell which vision task the outputs Identity float32[1,1,4], Identity_1 float32[1,1,2] are for ' +
      '(no task in the model\'s metadata, and none of the layouts reef reads); pass --task classify|detect|segment|embed if you know it, or --raw to print the outputs as they are\n' +
      '  fix: Pass --task classify|detect|segment|embed if you know what the model does, or run it with --raw to print every output tensor (or --save DIR for .npy files).\n');
  });

  it('EXPECTED FAILURE - tensors of the wrong dtype or size, unknown or missing input names, mixed inputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-raw-'));
    const i32 = join(dir, 'i32.npy');
    writeFileSync(i32, writeNpy({ dtype: 'int32', shape: [2], data: new Int32Array(2) }));
    const nchw = join(dir, 'nchw.npy');
    writeFileSync(nchw, writeNpy({ dtype: 'float32', shape: [1, 3, 128, 128], data: new Float32Array(3 * 128 * 128) }));
    const bin = join(dir, 'short.bin');
    writeFileSync(bin, new Uint8Array(10));
    const cases: Array<[string[], number, string]> = [
      [[i32], 1, `reef: REEF_INPUT_DTYPE_MISMATCH: input "input" expects float32 but ${i32} holds int32`],
      [[nchw], 1, `reef: REEF_INPUT_SHAPE_MISMATCH: input "input" expects shape [1,128,128,3] (49152 elements) but ${nchw} holds [1,3,128,128] (49152)`],
      [[bin], 1, `reef: REEF_INPUT_SHAPE_MISMATCH: input "input" expects 196608 bytes (float32[1,128,128,3], little-endian) but ${bin} holds 10`],
      [['--input', `nope=${bin}`], 1, 'reef: REEF_INPUT_NAME_MISMATCH: unknown input "nope"; the model\'s inputs are "input" float32[1,128,128,3]'],
      [['--input', 'input'], 2, 'reef: REEF_INVALID_ARGUMENT: Expected NAME=FILE for --input but received "input"'],
      [[bin, sharedPath('images/misc/grace_hopper.jpg')], 2, `reef: REEF_INVALID_ARGUMENT: Expected either images or .npy/.bin tensor files but received both: ${bin} ${sharedPath('images/misc/grace_hopper.jpg')}`],
      [['--random', 'x'], 2, 'reef: REEF_INVALID_ARGUMENT: Expected a seed from 0 to 4294967295 for --random but received "x"'],
      [['--random', '1e300'], 2, 'reef: REEF_INVALID_ARGUMENT: Expected a seed from 0 to 4294967295 for --random but received "1e300"'],
    ];
    for (const [args, code, first] of cases) {
      const r = await cli('run', MNV1, ...args);
      expect([r.code, r.err.split('\n')[0]], args.join(' ')).toEqual([code, first]);
    }
  });
});

describe('hostile options', () => {
  it('EXPECTED FAILURE - --mean/--std with neither one value nor one per channel', async () => {
    const img = sharedPath('images/misc/grace_hopper.jpg');
    expect(await cli('run', MNV1, img, '--mean', '1,2')).toEqual({ code: 2, out: '',
      err: 'reef: REEF_INVALID_ARGUMENT: Expected one value or 3 (one per channel) for --mean but received 2: 1,2\n' + FIX_ARG });
    expect((await cli('run', MNV1, img, '--std', '1,2,3,4')).err.split('\n')[0])
      .toBe('reef: REEF_INVALID_ARGUMENT: Expected one value or 3 (one per channel) for --std but received 4: 1,2,3,4');
  });

  it('more threads than cores: one warning line, the run still answers', async () => {
    const n = availableParallelism();
    const r = await cli('run', MNV1, sharedPath('images/misc/grace_hopper.jpg'), '--threads', String(n + 1), '-k', '1');
    expect(r.code).toBe(0);
    expect(r.err).toBe(`reef: warning: ${n + 1} threads on ${n} core${n === 1 ? '' : 's'}: threads beyond the cores wait for each other and run much slower; use --threads ${n} or fewer\n`);
  });

  it('EXPECTED FAILURE - usage errors under --json are one JSON object on stdout, nothing on stderr', async () => {
    for (const args of [['run', '--json', '--bogus'], ['run', '--json'], ['inspect', '--json']]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toBe('');
      const doc = JSON.parse(r.out) as { error: { code: string; message: string } };
      expect(doc.error.code).toBe('REEF_INVALID_ARGUMENT');
    }
    expect(JSON.parse((await cli('run', '--json', '--bogus')).out).error.message).toBe("unknown option '--bogus'");
  });
});

describe('NCHW image inputs', () => {
  const info = (shape: number[]): TensorInfo => ({ name: 'x', dtype: 'float32', shape, quantization: { scale: 0, zeroPoint: 0 }, byteLength: 4 * shape.reduce((a, b) => a * b, 1) });
  // 2x2 RGB pixels, HWC: (r,g,b) = (0,1,2), (10,11,12), (20,21,22), (30,31,32); mean 0, std 1.
  const hwc = new Uint8Array([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
  const norm = { mean: 0, std: 1 };
  it('[1,3,H,W] is fed channel planes; [1,H,W,3] interleaved', () => {
    expect(Array.from(pixelsToInput(hwc, info([1, 3, 2, 2]), norm) as Float32Array)).toEqual([0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32]);
    expect(Array.from(pixelsToInput(hwc, info([1, 2, 2, 3]), norm) as Float32Array)).toEqual(Array.from(hwc));
  });
  it('EXPECTED FAILURE - an ambiguous shape needs --layout; a layout that does not fit is refused', () => {
    const amb = new Uint8Array(27);
    expect(() => pixelsToInput(amb, info([1, 3, 3, 3]), norm)).toThrow('Expected --layout nhwc or nchw for input "x" [1,3,3,3] but received none (both read: say which)');
    expect(Array.from(pixelsToInput(amb.map((_, i) => i), info([1, 3, 3, 3]), norm, 'nchw') as Float32Array).slice(0, 4)).toEqual([0, 3, 6, 9]);
    expect(() => pixelsToInput(hwc, info([1, 2, 2, 3]), norm, 'nchw')).toThrow('Expected a layout that fits input "x" [1,2,2,3] for --layout but received nchw');
  });
});

describe('found by review: inputs that are not files, two tensor sources, --save collisions', () => {
  it('EXPECTED FAILURE - a device or a fifo as the model or a tensor file: refused at once, never read without end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-raw-'));
    symlinkSync('/dev/zero', join(dir, 'zero.bin'));
    execFileSync('mkfifo', [join(dir, 'fifo.npy')]);
    const model = await cli('run', join(dir, 'zero.bin'), '--random');
    expect([model.code, model.err.split('\n')[0]]).toEqual([1, `reef: REEF_MODEL_NOT_FOUND: cannot read model ${join(dir, 'zero.bin')}: it is a device, not a file`]);
    const t = await cli('run', MNV1, join(dir, 'fifo.npy'));
    expect([t.code, t.err.split('\n')[0]]).toEqual([1, `reef: REEF_FILE_NOT_FOUND: cannot read tensor for input "input" ${join(dir, 'fifo.npy')}: it is a pipe, not a file`]);
  });

  it('EXPECTED FAILURE - two sources of input tensors: refused, nothing run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-raw-'));
    const zero = join(dir, 'zero.npy');
    writeFileSync(zero, writeNpy({ dtype: 'float32', shape: [1, 128, 128, 3], data: new Float32Array(128 * 128 * 3) }));
    for (const args of [[zero, '--random'], [zero, '--input', `input=${zero}`], ['--random', '3', '--input', `input=${zero}`]]) {
      const r = await cli('run', MNV1, ...args);
      expect([r.code, r.out, r.err.split('\n')[0]], args.join(' ')).toEqual([2, '',
        'reef: REEF_INVALID_ARGUMENT: Expected one source of input tensors (--input NAME=FILE, .npy/.bin files in input order, or --random) but received 2']);
    }
  });

  it('--save with images of one stem in several folders: one file per image, none overwritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reef-raw-'));
    for (const [sub, src, name] of [['a', 'burger.jpg', 'x.jpg'], ['b', 'g3doc_cat.jpg', 'x.jpg'], ['a', 'sparrow.png', 'x.png']] as const) {
      mkdirSync(join(dir, sub), { recursive: true });
      copyFileSync(sharedPath(`images/misc/${src}`), join(dir, sub, name));
    }
    const out = join(dir, 'out');
    const r = await cli('run', MNV1, join(dir, 'a', 'x.jpg'), join(dir, 'b', 'x.jpg'), join(dir, 'a', 'x.png'), '--save', out, '--json');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['1_x.jpg.MobilenetV1_Predictions_Reshape_1.npy', '2_x.jpg.MobilenetV1_Predictions_Reshape_1.npy', 'x.png.MobilenetV1_Predictions_Reshape_1.npy']);
    const doc = JSON.parse(r.out) as { results: Array<{ outputs: Array<{ data: number[] }>; saved: string[] }> };
    for (const res of doc.results) {
      expect(Array.from(readNpy(readFileSync(res.saved[0]!)).data as Float32Array)).toEqual(res.outputs[0]!.data);
    }
  });
});
