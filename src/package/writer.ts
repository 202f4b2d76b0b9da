/**
 * Writing a `.reef` bundle: validate each variant, record provenance (for the Edge TPU variant:
 * the compiler version, minimum runtime and caching token read from its custom op, and whether it
 * was compiled from the bundle's cpu-int8 model), run the Edge TPU check, hash every file, and
 * write one ustar archive with manifest.json first.
 */
import { basename } from 'node:path';
import { ReefError } from '../errors.js';
import { checkEdgetpu, checkReportJson } from '../edgetpu/check.js';
import { compiledSplit } from '../edgetpu/compiled.js';
import { describeEdgetpuCustomOp, EDGETPU_CUSTOM_CODE } from '../edgetpu/custom_op.js';
import type { TfliteModel } from '../model/tflite/ir.js';
import { readTflite } from '../model/tflite/reader.js';
import { readOnnx } from '../model/onnx/reader.js';
import {
  BUNDLE_FORMAT, MANIFEST_NAME, MANIFEST_VERSION, VARIANT_NAMES, type FileEntry, type Manifest, type Preprocess, type Task,
  type TensorSpec, type Variant, type VariantName,
} from '../bundle/manifest.js';
import { sha256 } from '../runtime/bundle.js';
import { writeTar } from '../bundle/tar.js';
import { readUserFile } from '../files.js';

export interface VariantInput {
  name: VariantName;
  data: Uint8Array;
  /** Where it came from (file name recorded as provenance). */
  source: string;
}

export interface BundleInput {
  name: string;
  variants: VariantInput[];
  labels?: { data: Uint8Array; source: string };
  /** Default: classification top-5 when there are labels, else raw. */
  task?: Task;
  /** Overrides of the pre-processing read off the models. */
  preprocess?: Partial<Preprocess>;
  /** The quantizer's report (JSON), stored as reports/quantization.json. */
  quantizationReport?: unknown;
  /** ISO time to record (default now). */
  created?: string;
  /** reef version (default from package.json by the caller; 'reef'). */
  producer?: string;
}

function badVariant(v: VariantInput, what: string): ReefError {
  return new ReefError('REEF_INVALID_ARGUMENT', `Expected ${what} for the ${v.name} variant but received ${v.source}`);
}

function tfliteSpecs(m: TfliteModel, which: 'inputs' | 'outputs'): TensorSpec[] {
  const sg = m.subgraphs[0]!;
  return sg[which].map((i) => {
    const t = sg.tensors[i]!;
    const q = t.quantization;
    return {
      name: t.name, dtype: t.dtype, shape: t.shape,
      ...(q && q.scale.length === 1 ? { scale: q.scale[0]!, zeroPoint: q.zeroPoint[0] ?? 0 } : {}),
    };
  });
}

const hasEdgetpuOp = (m: TfliteModel): boolean => m.subgraphs[0]!.operators.some((o) => o.customCode === EDGETPU_CUSTOM_CODE);

/** H, W, C of an NHWC (or NCHW for ONNX) image input, for the consistency check. */
function geometry(spec: TensorSpec | undefined, nchw: boolean): [number, number, number] | undefined {
  const s = spec?.shape;
  if (!s || s.length !== 4) return undefined;
  return nchw ? [s[2]!, s[3]!, s[1]!] : [s[1]!, s[2]!, s[3]!];
}

/**
 * Build a bundle in memory.
 *
 * @example
 * const { bytes, manifest } = buildBundle({ name: 'mobilenet', variants: [{ name: 'cpu-int8', data, source: 'm.tflite' }] });
 * @throws ReefError REEF_INVALID_ARGUMENT for a variant that is not what its name says (a
 * compiled model as cpu-int8, a float model as cpu-int8, ...) or variants of different input sizes;
 * REEF_MODEL_INVALID for bytes that are not a model.
 */
export function buildBundle(input: BundleInput): { bytes: Uint8Array; manifest: Manifest } {
  if (input.variants.length === 0) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected at least one model variant (--edgetpu, --cpu-int8, --cpu-float or --onnx) but received none');
  const seen = new Set<string>();
  for (const v of input.variants) {
    if (!VARIANT_NAMES.includes(v.name)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a variant name (${VARIANT_NAMES.join(', ')}) but received "${v.name}"`);
    if (seen.has(v.name)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one ${v.name} variant but received two`);
    seen.add(v.name);
  }
  const ordered = VARIANT_NAMES.flatMap((n) => input.variants.filter((v) => v.name === n));
  const tflite = new Map<VariantName, TfliteModel>();
  const variants: Variant[] = [];
  const fileData: Array<[string, Uint8Array]> = [];
  for (const v of ordered) {
    const file = `models/${v.name}.${v.name === 'onnx' ? 'onnx' : 'tflite'}`;
    const provenance: Variant['provenance'] = { source: basename(v.source), sha256: sha256(v.data) };
    let inputs: TensorSpec[], outputs: TensorSpec[];
    if (v.name === 'onnx') {
      const m = readOnnx(v.data);
      const spec = (x: { name: string; dtype: string; shape: (number | string)[] }): TensorSpec => ({ name: x.name, dtype: x.dtype, shape: x.shape.map((d) => (typeof d === 'number' ? d : -1)) });
      inputs = m.graph.inputs.filter((i) => !m.graph.initializers.some((t) => t.name === i.name)).map(spec);
      outputs = m.graph.outputs.map(spec);
    } else {
      const m = readTflite(v.data);
      const compiled = hasEdgetpuOp(m);
      if (v.name === 'edgetpu' && !compiled) throw badVariant(v, 'a model compiled by edgetpu_compiler (with edgetpu-custom-op)');
      if (v.name !== 'edgetpu' && compiled) throw badVariant(v, 'a CPU model (without edgetpu-custom-op)');
      const tensors = m.subgraphs[0]!.tensors;
      const integer = tensors.some((t) => t.dtype === 'int8' || t.dtype === 'uint8');
      if (v.name === 'cpu-int8' && (!integer || tensors.filter((t) => t.dtype === 'float32').length > tensors.length / 2)) {
        throw badVariant(v, 'a full-integer (int8/uint8) model');
      }
      if (v.name === 'cpu-float' && tfliteSpecs(m, 'inputs').some((t) => t.dtype !== 'float32')) throw badVariant(v, 'a model with float32 inputs');
      inputs = tfliteSpecs(m, 'inputs');
      outputs = tfliteSpecs(m, 'outputs');
      tflite.set(v.name, m);
      if (v.name === 'edgetpu') {
        const op = m.subgraphs[0]!.operators.find((o) => o.customCode === EDGETPU_CUSTOM_CODE)!;
        const d = describeEdgetpuCustomOp(op.customOptions ?? new Uint8Array(0));
        provenance.compilerVersion = d.compilerVersion;
        provenance.minRuntimeVersion = d.minRuntimeVersion;
        if (d.parameterCachingToken) provenance.parameterCachingToken = d.parameterCachingToken;
        provenance.segments = m.subgraphs[0]!.operators.filter((o) => o.customCode === EDGETPU_CUSTOM_CODE).length;
      }
    }
    variants.push({ name: v.name, file, format: v.name === 'onnx' ? 'onnx' : 'tflite', inputs, outputs, provenance });
    fileData.push([file, v.data]);
  }
  // Every image variant must take the same picture size.
  const geos = variants.map((v) => ({ v, g: geometry(v.inputs[0], v.format === 'onnx') }));
  const ref = geos.find((x) => x.g);
  for (const x of geos) {
    if (ref && x.g && x.g.join('x') !== ref.g!.join('x')) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected every variant to take the same input size but ${x.v.name} takes ${x.g.join('x')} and ${ref.v.name} takes ${ref.g!.join('x')} (HxWxC)`);
    }
  }
  const reports: NonNullable<Manifest['reports']> = {};
  const int8 = tflite.get('cpu-int8');
  const tpu = tflite.get('edgetpu');
  if (int8) {
    const check = checkEdgetpu(int8);
    const doc: Record<string, unknown> = { predicted: checkReportJson(check) };
    if (tpu) {
      try {
        const split = compiledSplit(int8, tpu);
        const ev = variants.find((v) => v.name === 'edgetpu')!;
        ev.provenance.compiledFrom = 'cpu-int8';
        ev.provenance.tpuOps = split.mapped.filter(Boolean).length;
        ev.provenance.cpuOps = split.mapped.length - ev.provenance.tpuOps;
        doc.compiled = {
          tpu_ops: ev.provenance.tpuOps, cpu_ops: ev.provenance.cpuOps,
          agrees: split.mapped.every((m, i) => m === check.operators[i]!.mapped),
        };
      } catch { /* not compiled from this cpu-int8 model: no compiledFrom */ }
    }
    reports.edgetpuCheck = 'reports/edgetpu-check.json';
    fileData.push([reports.edgetpuCheck, new TextEncoder().encode(JSON.stringify(doc, null, 2) + '\n')]);
  }
  if (input.quantizationReport !== undefined) {
    reports.quantization = 'reports/quantization.json';
    fileData.push([reports.quantization, new TextEncoder().encode(JSON.stringify(input.quantizationReport, null, 2) + '\n')]);
  }
  if (input.labels) fileData.push(['labels.txt', input.labels.data]);
  const pref = ['cpu-int8', 'cpu-float', 'edgetpu', 'onnx'].map((n) => variants.find((v) => v.name === n)).find((v) => v !== undefined)!;
  const g = geometry(pref.inputs[0], pref.format === 'onnx') ?? [1, 1, 1];
  const preprocess: Preprocess = {
    height: g[0], width: g[1], channels: g[2], colorOrder: 'rgb', mean: 127.5, std: 127.5,
    dtype: pref.inputs[0]?.dtype ?? 'uint8', resize: 'squash',
    ...input.preprocess,
  };
  const task: Task = input.task ?? (input.labels ? { type: 'classification', topK: 5 } : { type: 'raw' });
  const files: Record<string, FileEntry> = {};
  for (const [name, data] of fileData) files[name] = { sha256: sha256(data), bytes: data.length };
  const manifest: Manifest = {
    format: BUNDLE_FORMAT, version: MANIFEST_VERSION, name: input.name,
    created: input.created ?? new Date().toISOString(), producer: input.producer ?? 'reef',
    task, preprocess, ...(input.labels ? { labels: 'labels.txt' } : {}), variants,
    ...(Object.keys(reports).length > 0 ? { reports } : {}), files,
  };
  const bytes = writeTar([
    { name: MANIFEST_NAME, data: new TextEncoder().encode(JSON.stringify(manifest, null, 2) + '\n') },
    ...fileData.map(([name, data]) => ({ name, data })),
  ]);
  return { bytes, manifest };
}

/** Read a file for packaging, with reef's error for a missing one. */
export async function readInputFile(path: string, what: string): Promise<Uint8Array> {
  return readUserFile(path, what, 'REEF_FILE_NOT_FOUND');
}
