/**
 * The `.reef` bundle manifest (manifest.json), schema version 1, and its validation.
 * docs/bundle.md documents every field.
 */
import { ReefError } from '../errors.js';
import { safeEntryName } from './tar.js';

export const MANIFEST_NAME = 'manifest.json';
export const BUNDLE_FORMAT = 'reef-bundle';
/** The manifest schema version this reef writes and reads. */
export const MANIFEST_VERSION = 1;

export type VariantName = 'edgetpu' | 'cpu-int8' | 'cpu-float' | 'onnx';
export const VARIANT_NAMES: readonly VariantName[] = ['edgetpu', 'cpu-int8', 'cpu-float', 'onnx'];

export interface TensorSpec {
  name: string;
  dtype: string;
  shape: number[];
  scale?: number;
  zeroPoint?: number;
}

export interface Variant {
  name: VariantName;
  /** Path inside the bundle. */
  file: string;
  format: 'tflite' | 'onnx';
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  provenance: {
    /** File name the variant was packaged from. */
    source: string;
    /** sha256 of the source file (equal to the packaged file's). */
    sha256: string;
    /** edgetpu: the variant it was compiled from, when reef could verify it (its CPU ops are that model's). */
    compiledFrom?: VariantName;
    compilerVersion?: string;
    minRuntimeVersion?: number;
    parameterCachingToken?: string;
    segments?: number;
    tpuOps?: number;
    cpuOps?: number;
  };
}

export type ColorOrder = 'rgb' | 'bgr';
export type ResizeMode = 'squash' | 'crop' | 'letterbox';

export interface Preprocess {
  width: number;
  height: number;
  channels: number;
  colorOrder: ColorOrder;
  /** Subtracted from 0..255 pixels for float inputs: one value or one per channel. */
  mean: number | number[];
  std: number | number[];
  /** Input dtype of the preferred CPU variant (informative; each variant's inputs say its own). */
  dtype: string;
  resize: ResizeMode;
}

export type Task =
  | { type: 'classification'; topK: number; scoreThreshold?: number }
  | { type: 'detection'; kind: 'ssd'; scoreThreshold: number; maxDetections: number }
  | { type: 'raw' };

export interface FileEntry {
  sha256: string;
  bytes: number;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  name: string;
  /** ISO 8601. */
  created: string;
  /** reef version that wrote it. */
  producer: string;
  task: Task;
  preprocess: Preprocess;
  labels?: string;
  variants: Variant[];
  reports?: { edgetpuCheck?: string; quantization?: string };
  /** Every other file of the bundle with its sha256: the reader verifies all before loading. */
  files: Record<string, FileEntry>;
}

function bad(what: string): ReefError {
  return new ReefError('REEF_BUNDLE_INVALID', `Invalid .reef bundle: manifest.json: ${what}`);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumList = (v: unknown): boolean => typeof v === 'number' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x)));

function str(o: Obj, k: string, where: string): string {
  if (typeof o[k] !== 'string' || (o[k] as string).length === 0) throw bad(`${where}.${k} must be a non-empty string`);
  return o[k] as string;
}

function posInt(o: Obj, k: string, where: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(`${where}.${k} must be a positive integer`);
  return v;
}

function tensors(v: unknown, where: string): void {
  if (!Array.isArray(v)) throw bad(`${where} must be an array`);
  v.forEach((t, i) => {
    if (!isObj(t) || typeof t.name !== 'string' || typeof t.dtype !== 'string' || !Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d))) {
      throw bad(`${where}[${i}] must be {name, dtype, shape}`);
    }
  });
}

/**
 * Parse and validate manifest.json text.
 * @throws ReefError REEF_BUNDLE_INVALID naming the bad field; for an unknown schema version the
 * message says which versions this reef reads.
 */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`);
  }
  if (!isObj(raw)) throw bad('must be a JSON object');
  if (raw.format !== BUNDLE_FORMAT) throw bad(`format must be "${BUNDLE_FORMAT}"`);
  if (raw.version !== MANIFEST_VERSION) {
    throw new ReefError('REEF_BUNDLE_VERSION', `Unsupported .reef bundle: manifest version ${JSON.stringify(raw.version)}; this reef reads version ${MANIFEST_VERSION} (upgrade reef, or re-package the model with this version)`);
  }
  str(raw, 'name', 'manifest');
  str(raw, 'created', 'manifest');
  str(raw, 'producer', 'manifest');
  const task = raw.task;
  if (!isObj(task)) throw bad('task must be an object');
  if (task.type === 'classification') posInt(task, 'topK', 'task');
  else if (task.type === 'detection') {
    if (task.kind !== 'ssd') throw bad('task.kind must be "ssd"');
    if (typeof task.scoreThreshold !== 'number') throw bad('task.scoreThreshold must be a number');
    posInt(task, 'maxDetections', 'task');
  } else if (task.type !== 'raw') throw bad('task.type must be "classification", "detection" or "raw"');
  const pre = raw.preprocess;
  if (!isObj(pre)) throw bad('preprocess must be an object');
  posInt(pre, 'width', 'preprocess');
  posInt(pre, 'height', 'preprocess');
  posInt(pre, 'channels', 'preprocess');
  if (pre.colorOrder !== 'rgb' && pre.colorOrder !== 'bgr') throw bad('preprocess.colorOrder must be "rgb" or "bgr"');
  if (!isNumList(pre.mean) || !isNumList(pre.std)) throw bad('preprocess.mean and preprocess.std must be numbers or arrays of numbers');
  if ([pre.std].flat().some((s) => s === 0)) throw bad('preprocess.std must not be 0');
  str(pre, 'dtype', 'preprocess');
  if (pre.resize !== 'squash' && pre.resize !== 'crop' && pre.resize !== 'letterbox') throw bad('preprocess.resize must be "squash", "crop" or "letterbox"');
  const files = raw.files;
  if (!isObj(files)) throw bad('files must be an object');
  for (const [name, f] of Object.entries(files)) {
    if (!safeEntryName(name) || name === MANIFEST_NAME) throw bad(`files: "${name}" is not a valid file name`);
    if (!isObj(f) || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256) || typeof f.bytes !== 'number' || !Number.isInteger(f.bytes) || f.bytes < 0) {
      throw bad(`files["${name}"] must be {sha256: 64 hex digits, bytes}`);
    }
  }
  if (!Array.isArray(raw.variants) || raw.variants.length === 0) throw bad('variants must be a non-empty array');
  const names = new Set<string>();
  raw.variants.forEach((v, i) => {
    const where = `variants[${i}]`;
    if (!isObj(v)) throw bad(`${where} must be an object`);
    if (!VARIANT_NAMES.includes(v.name as VariantName)) throw bad(`${where}.name must be one of ${VARIANT_NAMES.join(', ')}`);
    if (names.has(v.name as string)) throw bad(`variant "${String(v.name)}" appears twice`);
    names.add(v.name as string);
    const file = str(v, 'file', where);
    if (!Object.hasOwn(files, file)) throw bad(`${where}.file "${file}" is not listed in files`);
    if (v.format !== 'tflite' && v.format !== 'onnx') throw bad(`${where}.format must be "tflite" or "onnx"`);
    tensors(v.inputs, `${where}.inputs`);
    tensors(v.outputs, `${where}.outputs`);
    if (!isObj(v.provenance)) throw bad(`${where}.provenance must be an object`);
  });
  if (raw.labels !== undefined && (typeof raw.labels !== 'string' || !Object.hasOwn(files, raw.labels))) throw bad('labels must name a file listed in files');
  if (raw.reports !== undefined) {
    if (!isObj(raw.reports)) throw bad('reports must be an object');
    for (const [k, f] of Object.entries(raw.reports)) if (typeof f !== 'string' || !Object.hasOwn(files, f)) throw bad(`reports.${k} must name a file listed in files`);
  }
  return raw as unknown as Manifest;
}
