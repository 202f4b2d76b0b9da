/**
 * Calibration inputs: a folder or a glob of images (decoded and pre-processed the way the model
 * expects: size, colour, mean/std), or raw tensors (.npy, or .bin holding little-endian float32
 * in the input's shape). A .npy or .bin may hold several samples stacked along a leading axis.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ReefError } from '../errors.js';
import { decodeImage, pixelsToInput, type Normalization } from '../image/preprocess.js';
import type { TensorInfo } from '../types.js';
import type { Sample } from './calibrate.js';
import { readNpy } from '../tensor/npy.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff'];
export const TENSOR_EXTENSIONS = ['.npy', '.bin'];
export const VIDEO_EXTENSIONS = ['.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg', '.mpeg', '.ts'];

/** What a model input looks like to the data loader. */
export interface InputSpec {
  name: string;
  shape: number[];
}

function globToRegExp(pattern: string): RegExp {
  const esc = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${esc}$`, 'i');
}

/**
 * The calibration files named by `spec`: every image/.npy/.bin file in a folder (sorted by
 * name), or the files matching a glob whose wildcards (* ?) are in the last path component.
 * @throws ReefError REEF_FILE_NOT_FOUND when the folder does not exist or nothing matches.
 */
export async function listCalibrationFiles(spec: string): Promise<string[]> {
  const wanted = (f: string): boolean => [...IMAGE_EXTENSIONS, ...TENSOR_EXTENSIONS, ...VIDEO_EXTENSIONS].includes(extname(f).toLowerCase());
  let dir: string;
  let match: (f: string) => boolean;
  if (/[*?]/.test(spec)) {
    dir = dirname(spec);
    if (/[*?]/.test(dir)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected wildcards only in the file name of --calib but received "${spec}"`);
    const re = globToRegExp(basename(spec));
    match = (f) => re.test(f) && wanted(f);
  } else {
    let st;
    try {
      st = await stat(spec);
    } catch {
      throw new ReefError('REEF_FILE_NOT_FOUND', `calibration data ${spec}: no such file or folder`);
    }
    if (st.isFile()) {
      if (!wanted(spec)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an image, video, .npy or .bin file for --calib but received "${spec}"`);
      return [resolve(spec)];
    }
    dir = spec;
    match = wanted;
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    throw new ReefError('REEF_FILE_NOT_FOUND', `calibration data ${spec}: cannot read folder ${dir}`);
  }
  const files = names.filter(match).sort().map((f) => resolve(join(dir, f)));
  if (files.length === 0) {
    throw new ReefError('REEF_CALIBRATION_INVALID',
      `calibration data ${spec}: no calibration samples found (looked for ${[...IMAGE_EXTENSIONS, ...TENSOR_EXTENSIONS].join(' ')})`);
  }
  return files;
}

/** A parsed .npy array (float32 data; float64/int/uint8 arrays are converted). */
export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

/**
 * Parses a NumPy .npy file (format 1.0-3.0, C order, little-endian numeric dtypes).
 * @throws ReefError REEF_INVALID_ARGUMENT naming what is unsupported.
 */
export function parseNpy(bytes: Uint8Array, name = '.npy file'): NpyArray {
  const t = readNpy(bytes, name);
  const data = new Float32Array(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Number(t.data[i]);
  return { shape: t.shape, data };
}

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Splits a raw tensor file into samples of `input`'s shape: the file holds one sample, or N
 * samples stacked (element count a multiple of the input's).
 */
export function tensorSamples(file: string, data: Float32Array, shape: number[] | null, input: InputSpec): Float32Array[] {
  const per = count(input.shape);
  const ok = data.length > 0 && data.length % per === 0 &&
    (shape === null || count(shape) === data.length &&
      (arraysEqual(shape, input.shape) || arraysEqual(shape.slice(1), input.shape) || arraysEqual(shape.slice(1), input.shape.slice(1))));
  if (!ok) {
    throw new ReefError('REEF_CALIBRATION_INVALID',
      `calibration file ${file}: ${shape ? `shape [${shape.join(',')}]` : `${data.length} float32 values`} does not fit input "${input.name}" of shape [${input.shape.join(',')}] (${per} values per sample)`);
  }
  const out: Float32Array[] = [];
  for (let k = 0; k < data.length; k += per) out.push(data.slice(k, k + per));
  return out;
}

function arraysEqual(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** TensorInfo of a float input for the image pre-processor ([1,H,W] counts as [1,H,W,1]). */
function imageInfo(input: InputSpec): TensorInfo {
  const shape = input.shape.length === 3 ? [...input.shape, 1] : input.shape;
  return { name: input.name, dtype: 'float32', shape, quantization: { scale: 0, zeroPoint: 0 }, byteLength: count(shape) * 4 };
}

/**
 * Loads samples for a single-input model from files (images, .npy, .bin), `limit` at most,
 * calling `onSample` for progress.
 * @throws ReefError REEF_IMAGE_INVALID / REEF_INPUT_SHAPE_MISMATCH / REEF_FILE_NOT_FOUND naming the file.
 */
export async function loadSamples(files: string[], inputs: InputSpec[], norm: Normalization, limit = Infinity,
  onSample?: (done: number, file: string) => void, opts: { frames?: number } = {}): Promise<Array<{ file: string; sample: Sample }>> {
  if (inputs.length !== 1) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a model with one input for one calibration source but received one with ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}): give --calib NAME=DATA for each`);
  }
  const input = inputs[0]!;
  const out: Array<{ file: string; sample: Sample }> = [];
  for (const file of files) {
    if (out.length >= limit) break;
    const ext = extname(file).toLowerCase();
    if (VIDEO_EXTENSIONS.includes(ext)) {
      const info = imageInfo(input);
      const frames = await videoFrames(file, info, Math.min(opts.frames ?? limit, limit - out.length));
      for (const [k, pixels] of frames.entries()) {
        out.push({ file: `${file}#${k}`, sample: [pixelsToInput(pixels, info, norm)] });
        onSample?.(out.length, file);
      }
    } else if (ext === '.npy' || ext === '.bin') {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch {
        throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read calibration file ${file}`);
      }
      let samples: Float32Array[];
      if (ext === '.npy') {
        const a = parseNpy(bytes, file);
        samples = tensorSamples(file, a.data, a.shape, input);
      } else {
        if (bytes.length % 4 !== 0) {
          throw new ReefError('REEF_CALIBRATION_INVALID', `calibration file ${file}: ${bytes.length} bytes is not a whole number of float32 values`);
        }
        const data = new Float32Array(bytes.length / 4);
        new Uint8Array(data.buffer).set(bytes);
        samples = tensorSamples(file, data, null, input);
      }
      for (const s of samples) {
        if (out.length >= limit) break;
        out.push({ file, sample: [s] });
        onSample?.(out.length, file);
      }
    } else {
      const info = imageInfo(input);
      const pixels = await decodeImage(file, info);
      out.push({ file, sample: [pixelsToInput(pixels, info, norm)] });
      onSample?.(out.length, file);
    }
  }
  return out;
}

/**
 * `count` frames spread evenly over a video file, decoded by ffmpeg and squash-resized to the
 * input's size (RGB, or gray for one channel), as HWC uint8 pixels.
 * @throws ReefError REEF_SOURCE_FAILED when ffmpeg is missing or fails on the file (its own words),
 *   REEF_CALIBRATION_INVALID when the video has no frames.
 */
export async function videoFrames(file: string, input: TensorInfo, count: number, ffmpeg = 'ffmpeg'): Promise<Uint8Array[]> {
  const [, h, w, c] = input.shape as [number, number, number, number];
  const probe = spawnSync(ffmpeg.replace(/ffmpeg$/, 'ffprobe'), ['-v', 'error', '-select_streams', 'v:0', '-count_frames',
    '-show_entries', 'stream=nb_read_frames:format=duration', '-of', 'default=noprint_wrappers=1', file], { encoding: 'utf8', timeout: 60_000 });
  if (probe.error || probe.status !== 0) {
    throw new ReefError('REEF_SOURCE_FAILED', `calibration video ${file}: ffprobe ${probe.error ? `cannot run: ${probe.error.message} (install the Debian package ffmpeg)` : `failed: ${probe.stderr.trim().split('\n').pop()}`}`);
  }
  const field = (k: string): number => Number(probe.stdout.match(new RegExp(`^${k}=(.*)$`, 'm'))?.[1] ?? NaN);
  const total = field('nb_read_frames');
  const duration = field('duration');
  if (!(total > 0) || !(duration > 0)) throw new ReefError('REEF_CALIBRATION_INVALID', `calibration video ${file}: no video frames found`);
  const n = Math.min(count, total);
  // Every (total/n)-th frame by index, so the frames cover the whole video.
  const step = total / n;
  const pick = Array.from({ length: n }, (_, k) => Math.floor(k * step));
  const frameBytes = h * w * c;
  const child = spawn(ffmpeg, ['-v', 'error', '-nostdin', '-i', file, '-map', '0:v:0',
    '-vf', `select='${pick.map((f) => `eq(n\\,${f})`).join('+')}',scale=${w}:${h}`,
    '-vsync', '0', '-frames:v', String(n), '-f', 'rawvideo', '-pix_fmt', c === 1 ? 'gray' : 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', (e) => rej(new ReefError('REEF_SOURCE_FAILED', `calibration video ${file}: cannot run ${ffmpeg}: ${e.message} (install the Debian package ffmpeg)`)));
    child.on('close', res);
  });
  if (code !== 0) throw new ReefError('REEF_SOURCE_FAILED', `calibration video ${file}: ffmpeg failed: ${err.trim().split('\n').pop() ?? `exit ${code}`}`);
  const all = Buffer.concat(chunks);
  const frames: Uint8Array[] = [];
  for (let o = 0; o + frameBytes <= all.length; o += frameBytes) frames.push(new Uint8Array(all.subarray(o, o + frameBytes)));
  if (frames.length === 0) throw new ReefError('REEF_CALIBRATION_INVALID', `calibration video ${file}: ffmpeg decoded no frames`);
  return frames;
}

/**
 * Samples for a model with several inputs, one source per input (`name=DIR_OR_GLOB_OR_FILE`, as
 * `--calib` takes them): the k-th sample of each input makes the k-th sample of the model.
 * Every input needs a source; the count is the smallest of theirs (`limit` at most).
 * @throws ReefError REEF_INVALID_ARGUMENT naming an unknown or missing input.
 */
export async function loadMultiInputSamples(specs: Map<string, string>, inputs: InputSpec[], norm: Normalization, limit = Infinity,
  onSample?: (done: number, file: string) => void, opts: { frames?: number } = {}): Promise<{ samples: Array<{ file: string; sample: Sample }>; counts: Record<string, number> }> {
  const names = inputs.map((i) => i.name);
  for (const n of specs.keys()) {
    if (!names.includes(n)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an input name (${names.join(', ')}) before "=" in --calib but received "${n}"`);
  }
  const missing = names.filter((n) => !specs.has(n));
  if (missing.length) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected --calib NAME=DATA for every input of the model but received none for ${missing.map((m) => `"${m}"`).join(', ')}`);
  const per: Array<Array<{ file: string; sample: Sample }>> = [];
  let done = 0;
  for (const input of inputs) {
    const files = await listCalibrationFiles(specs.get(input.name)!);
    per.push(await loadSamples(files, [input], norm, limit, (_, f) => onSample?.(++done, f), opts));
  }
  const counts = Object.fromEntries(inputs.map((inp, k) => [inp.name, per[k]!.length]));
  const n = Math.min(...per.map((p) => p.length));
  const samples = Array.from({ length: n }, (_, k) => ({ file: per.map((p) => p[k]!.file).join(' + '), sample: per.map((p) => p[k]!.sample[0]!) }));
  return { samples, counts };
}
