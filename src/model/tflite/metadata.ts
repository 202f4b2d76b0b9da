/**
 * TFLite model metadata: the `TFLITE_METADATA` buffer (a flatbuffer of the tflite-support
 * metadata schema, "M001") and the zip of associated files appended to the model, read
 * into the few facts a runtime needs (labels, normalisation, image properties).
 */
import { ReefError } from '../../errors.js';
import { decodeFlatbuffer, FlatbufferError } from '../fbs/decode.js';
import { encodeFlatbuffer } from '../fbs/encode.js';
import type { TfliteModel } from './ir.js';
import {
  AssociatedFileType,
  ColorSpaceType,
  SCHEMA as METADATA_SCHEMA,
  type AssociatedFile,
  type ModelMetadata,
  type TensorMetadata,
} from './metadata_schema.generated.js';
import { readTflite } from './reader.js';

export type { ModelMetadata } from './metadata_schema.generated.js';

/** Name of the metadata entry holding the metadata flatbuffer. */
export const TFLITE_METADATA = 'TFLITE_METADATA';

/** What one input tensor's metadata says about feeding it. */
export interface TensorMetadataSummary {
  name?: string;
  description?: string;
  /** Per-channel (or single) normalisation: x' = (x - mean) / std. */
  mean?: number[];
  std?: number[];
  colorSpace?: 'RGB' | 'GRAYSCALE' | 'UNKNOWN';
  imageSize?: { width: number; height: number };
  /** Stats.min/max when given. */
  min?: number[];
  max?: number[];
}

export interface TfliteMetadataSummary {
  /** Names of the model's metadata entries (TFLITE_METADATA, min_runtime_version, ...). */
  entries: string[];
  /** The `min_runtime_version` entry, when present (a short string like "1.14.0"). */
  minRuntimeVersion?: string;
  name?: string;
  description?: string;
  version?: string;
  author?: string;
  license?: string;
  minParserVersion?: string;
  /** Labels from the first label file attached to output 0 (or to any output, or the model). */
  labels?: string[];
  /** Name of the file the labels came from. */
  labelsFile?: string;
  /** Normalisation of input 0 (shortcut for inputs[0].mean / .std). */
  mean?: number[];
  std?: number[];
  colorSpace?: 'RGB' | 'GRAYSCALE' | 'UNKNOWN';
  imageSize?: { width: number; height: number };
  inputs: TensorMetadataSummary[];
  outputs: TensorMetadataSummary[];
  /** Names of the files in the appended zip. */
  associatedFiles: string[];
  /** The decoded metadata flatbuffer, when there is one. */
  raw?: ModelMetadata;
}

function invalid(where: string, what: string): ReefError {
  return new ReefError('REEF_MODEL_INVALID', `Invalid TFLite metadata: ${where}: ${what}`);
}

/**
 * Read the metadata of a TFLite model (bytes or an IR from readTflite). A model without
 * metadata gives `{ entries: [], inputs: [], outputs: [], associatedFiles: [] }`.
 *
 * @example
 * const md = readTfliteMetadata(bytes);
 * if (md.labels) console.log(md.labels[top1]);
 * if (md.mean && md.std) normalise(pixels, md.mean, md.std);
 * @throws ReefError REEF_MODEL_INVALID when the model or its metadata flatbuffer is corrupt.
 */
export function readTfliteMetadata(input: Uint8Array | TfliteModel): TfliteMetadataSummary {
  const model = input instanceof Uint8Array ? readTflite(input) : input;
  const files = new Map((model.associatedFiles ?? []).map((f) => [f.name, f.data]));
  const out: TfliteMetadataSummary = {
    entries: model.metadata.map((m) => m.name),
    inputs: [],
    outputs: [],
    associatedFiles: [...files.keys()],
  };
  const dec = new TextDecoder();
  const rtv = model.metadata.find((m) => m.name === 'min_runtime_version');
  if (rtv) out.minRuntimeVersion = dec.decode(model.buffers[rtv.buffer]).replace(/\0+$/, '');
  const entry = model.metadata.find((m) => m.name === TFLITE_METADATA);
  if (!entry) return out;
  const bytes = model.buffers[entry.buffer] ?? new Uint8Array(0);
  let md: ModelMetadata;
  try {
    md = decodeFlatbuffer(METADATA_SCHEMA, bytes) as unknown as ModelMetadata;
  } catch (e) {
    if (e instanceof FlatbufferError) throw invalid(`${TFLITE_METADATA} (buffer ${entry.buffer}), ${e.where}`, e.what);
    throw e;
  }
  out.raw = md;
  if (md.name !== undefined) out.name = md.name;
  if (md.description !== undefined) out.description = md.description;
  if (md.version !== undefined) out.version = md.version;
  if (md.author !== undefined) out.author = md.author;
  if (md.license !== undefined) out.license = md.license;
  if (md.minParserVersion !== undefined) out.minParserVersion = md.minParserVersion;
  const sg = md.subgraphMetadata?.[0];
  out.inputs = (sg?.inputTensorMetadata ?? []).map(summariseTensor);
  out.outputs = (sg?.outputTensorMetadata ?? []).map(summariseTensor);
  const first = out.inputs.find((t) => t.mean || t.std || t.colorSpace) ?? out.inputs[0];
  if (first?.mean) out.mean = first.mean;
  if (first?.std) out.std = first.std;
  if (first?.colorSpace) out.colorSpace = first.colorSpace;
  if (first?.imageSize) out.imageSize = first.imageSize;

  const isLabels = (f: AssociatedFile): boolean =>
    f.type === AssociatedFileType.TENSOR_AXIS_LABELS || f.type === AssociatedFileType.TENSOR_VALUE_LABELS;
  const candidates: AssociatedFile[] = [
    ...(sg?.outputTensorMetadata?.[0]?.associatedFiles ?? []),
    ...(sg?.outputTensorMetadata ?? []).flatMap((t) => t.associatedFiles ?? []),
    ...(sg?.associatedFiles ?? []),
    ...(md.associatedFiles ?? []),
  ].filter(isLabels);
  const pick = candidates.find((f) => f.locale === undefined && f.name !== undefined && files.has(f.name)) ?? candidates.find((f) => f.name !== undefined && files.has(f.name));
  if (pick?.name !== undefined) {
    const lines = dec.decode(files.get(pick.name)).split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    out.labels = lines;
    out.labelsFile = pick.name;
  }
  return out;
}

function summariseTensor(t: TensorMetadata): TensorMetadataSummary {
  const s: TensorMetadataSummary = {};
  if (t.name !== undefined) s.name = t.name;
  if (t.description !== undefined) s.description = t.description;
  for (const pu of t.processUnits ?? []) {
    if (pu.options?.type === 'NormalizationOptions') {
      if (pu.options.value.mean) s.mean = pu.options.value.mean;
      if (pu.options.value.std) s.std = pu.options.value.std;
    }
  }
  const cp = t.content?.contentProperties;
  if (cp?.type === 'ImageProperties') {
    s.colorSpace = (ColorSpaceType[cp.value.colorSpace] ?? 'UNKNOWN') as 'RGB' | 'GRAYSCALE' | 'UNKNOWN';
    const ds = cp.value.defaultSize;
    if (ds) s.imageSize = { width: ds.width, height: ds.height };
  }
  if (t.stats?.min) s.min = t.stats.min;
  if (t.stats?.max) s.max = t.stats.max;
  return s;
}

/**
 * Encode a metadata flatbuffer ("M001") from a ModelMetadata object, e.g. to attach metadata
 * to a model: put the bytes in a new buffer and add a `TFLITE_METADATA` metadata entry.
 */
export function encodeTfliteMetadata(md: ModelMetadata): Uint8Array {
  return encodeFlatbuffer(METADATA_SCHEMA, md);
}
