/**
 * Benchmark inputs: seeded random data of each input's dtype (the default), or
 * real samples from files, since some models' speed depends on the data (NMS
 * in detectors).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { ReefError } from '../errors.js';
import { imageToInput } from '../image/preprocess.js';
import { TYPED_ARRAY_FOR, elementCount, type TensorInfo, type TypedArray } from '../types.js';

export { mulberry32, randomTensor, randomFeeds, type Rng } from '../tensor/random.js';

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff']);

/**
 * Real samples for a single-input model: a file or every file of a folder
 * (sorted by name). Images are decoded and resized to the input (default
 * normalisation); any other file must hold exactly the input's raw bytes
 * (`.bin`/`.raw`, little-endian).
 */
export async function loadSamples(path: string, inputs: readonly TensorInfo[]): Promise<TypedArray[][]> {
  let files: string[];
  try {
    const s = await stat(path);
    files = s.isDirectory()
      ? (await readdir(path)).filter((f) => !f.startsWith('.')).sort().map((f) => join(path, f))
      : [path];
  } catch {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read --input ${path}: no such file or folder`);
  }
  if (files.length === 0) throw new ReefError('REEF_FILE_NOT_FOUND', `--input ${path} is an empty folder`);
  if (inputs.length !== 1) {
    throw new ReefError('REEF_INPUT_NAME_MISMATCH',
      `--input feeds single-input models only; this model has ${inputs.length} inputs`);
  }
  const info = inputs[0];
  const out: TypedArray[][] = [];
  for (const file of files) {
    if (IMAGE_EXT.has(extname(file).toLowerCase())) {
      out.push([await imageToInput(file, info)]);
      continue;
    }
    const bytes = await readFile(file);
    if (bytes.byteLength !== info.byteLength) {
      throw new ReefError('REEF_INPUT_SHAPE_MISMATCH',
        `sample ${file} has ${bytes.byteLength} bytes; input "${info.name}" ${info.dtype}[${info.shape.join(',')}] needs ${info.byteLength} (raw) or an image file`);
    }
    const ctor = TYPED_ARRAY_FOR[info.dtype];
    if (!ctor) throw new ReefError('REEF_INPUT_DTYPE_MISMATCH', `input "${info.name}" has dtype ${info.dtype}, which reef cannot feed`);
    const arr = new ctor(info.byteLength / ctor.BYTES_PER_ELEMENT);
    new Uint8Array(arr.buffer).set(bytes);
    out.push([arr]);
  }
  return out;
}
