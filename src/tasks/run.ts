/**
 * What `reef run` does, as functions over a Session: feed images (decoded, resized, normalised for
 * the input's dtype and layout) or raw tensors (.npy, .bin, random), and read every output as it is
 * (the tasks themselves run through VisionRunner, src/tasks/vision.ts). The CLI only parses arguments and prints what these return.
 */
import { basename, extname } from 'node:path';
import { ReefError } from '../errors.js';
import { readUserFile } from '../files.js';
import { imageToInput, type Layout, type Normalization } from '../image/preprocess.js';
import type { Outputs, Session } from '../runtime/session.js';
import { readNpy } from '../tensor/npy.js';
import { randomFeeds } from '../tensor/random.js';
import { jsonValues, type JsonValue } from '../tensor/values.js';
import { TYPED_ARRAY_FOR, elementCount, type DType, type TensorInfo, type TypedArray } from '../types.js';

/** Files that hold a raw tensor rather than an image. */
export const TENSOR_FILE_EXTENSIONS = ['.npy', '.bin'];

export function isTensorFile(path: string): boolean {
  return TENSOR_FILE_EXTENSIONS.includes(extname(path).toLowerCase());
}

/** One output tensor as JSON carries it. */
export interface TensorRecord {
  name: string;
  dtype: DType;
  shape: number[];
  data: JsonValue[];
}

/** "name" dtype[shape] of each tensor, for messages. */
export function describeTensors(ts: readonly TensorInfo[]): string {
  return ts.map((t) => `"${t.name}" ${t.dtype}[${t.shape.join(',')}]`).join(', ');
}

/** The session's single image input. */
function imageInput(session: Session): TensorInfo {
  if (session.inputs.length !== 1) {
    throw new ReefError('REEF_INPUT_NAME_MISMATCH',
      `${session.source} has ${session.inputs.length} inputs (${describeTensors(session.inputs)}); images feed single-input models. ` +
      'Give raw tensors instead: --input NAME=FILE.npy for each input, or --random');
  }
  return session.inputs[0]!;
}

export interface ImageFeedOptions {
  norm: Normalization;
  layout?: Layout;
}

/** Runs the model on one image; the outputs as run() returns them. */
export async function runImage(session: Session, image: string, opts: ImageFeedOptions): Promise<Outputs> {
  const feed = await imageToInput(image, imageInput(session), opts.norm, opts.layout);
  return session.run([feed]);
}

/** Where raw input tensors come from. */
export interface RawInputSpec {
  /** NAME=FILE pairs (--input). */
  named?: Array<[name: string, file: string]>;
  /** Files in input order (positional .npy/.bin). */
  positional?: string[];
  /** Seed for random data of every input (--random). */
  randomSeed?: number;
}

/** Reads a .npy (dtype and element count must fit) or a .bin (exactly the input's bytes) for `input`. */
export async function readTensorFile(file: string, input: TensorInfo): Promise<TypedArray> {
  const bytes = await readUserFile(file, `tensor for input "${input.name}"`, 'REEF_FILE_NOT_FOUND');
  const ctor = TYPED_ARRAY_FOR[input.dtype];
  if (!ctor) throw new ReefError('REEF_INPUT_DTYPE_MISMATCH', `input "${input.name}" has dtype ${input.dtype}, which reef cannot feed`);
  const want = elementCount(input.shape);
  if (extname(file).toLowerCase() === '.npy') {
    const t = readNpy(bytes, file);
    if (t.dtype !== input.dtype) {
      throw new ReefError('REEF_INPUT_DTYPE_MISMATCH', `input "${input.name}" expects ${input.dtype} but ${file} holds ${t.dtype}`);
    }
    // Same element count in another arrangement of the same rank (say NCHW for NHWC) is a layout mistake.
    const sameRank = t.shape.length === input.shape.length && t.shape.some((d, i) => d !== input.shape[i]);
    if (t.data.length !== want || sameRank) {
      throw new ReefError('REEF_INPUT_SHAPE_MISMATCH',
        `input "${input.name}" expects shape [${input.shape.join(',')}] (${want} elements) but ${file} holds [${t.shape.join(',')}] (${t.data.length})`);
    }
    return t.data;
  }
  if (bytes.byteLength !== input.byteLength) {
    throw new ReefError('REEF_INPUT_SHAPE_MISMATCH',
      `input "${input.name}" expects ${input.byteLength} bytes (${input.dtype}[${input.shape.join(',')}], little-endian) but ${file} holds ${bytes.byteLength}`);
  }
  const arr = new ctor(want);
  new Uint8Array(arr.buffer).set(bytes);
  return arr;
}

/** The feeds (in input order) that `spec` names. */
export async function rawFeeds(session: Session, spec: RawInputSpec): Promise<TypedArray[]> {
  const inputs = session.inputs;
  const given = [spec.named?.length ? 1 : 0, spec.positional?.length ? 1 : 0, spec.randomSeed !== undefined ? 1 : 0].reduce((a, b) => a + b, 0);
  if (given !== 1) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected one source of input tensors (--input NAME=FILE, .npy/.bin files in input order, or --random) but received ${given}`);
  }
  if (spec.randomSeed !== undefined) return randomFeeds(inputs, spec.randomSeed);
  if (spec.positional?.length) {
    if (spec.positional.length !== inputs.length) {
      throw new ReefError('REEF_INPUT_NAME_MISMATCH',
        `${session.source} has ${inputs.length} input${inputs.length === 1 ? '' : 's'} (${describeTensors(inputs)}) but ${spec.positional.length} tensor files were given`);
    }
    return Promise.all(inputs.map((t, i) => readTensorFile(spec.positional![i]!, t)));
  }
  const byName = new Map<string, string>();
  for (const [name, file] of spec.named!) {
    if (!inputs.some((t) => t.name === name)) {
      throw new ReefError('REEF_INPUT_NAME_MISMATCH', `unknown input "${name}"; the model's inputs are ${describeTensors(inputs)}`);
    }
    if (byName.has(name)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one --input for "${name}" but received two`);
    byName.set(name, file);
  }
  const missing = inputs.filter((t) => !byName.has(t.name));
  if (missing.length) throw new ReefError('REEF_INPUT_NAME_MISMATCH', `missing --input for ${describeTensors(missing)}`);
  return Promise.all(inputs.map((t) => readTensorFile(byName.get(t.name)!, t)));
}

/** Every output of a run as records (shape after the invoke, values for JSON). */
export function tensorRecords(session: Session, out: Outputs): TensorRecord[] {
  return session.outputs.map((o) => {
    const t = out[o.name]!;
    return { name: o.name, dtype: t.dtype, shape: t.shape, data: jsonValues(t.dtype, t.data) };
  });
}

/** A file-name-safe form of a tensor name ("MobilenetV1/Predictions" -> "MobilenetV1_Predictions"). */
export function safeTensorFileName(name: string, index: number): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '');
  return s === '' ? `output_${index}` : s;
}

/** The stem of an image path, for per-image output names. */
export function imageStem(path: string): string {
  return basename(path, extname(path));
}
