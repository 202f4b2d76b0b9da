/**
 * `reef convert`'s job as a function: read an ONNX file, convert it, check it against
 * onnxruntime, and hand back the TFLite bytes with the report (nothing is written here).
 */
import { readFile, stat } from 'node:fs/promises';
import { ReefError } from '../errors.js';
import { readOnnx, resolveExternalData } from '../model/onnx/reader.js';
import { dirname } from 'node:path';
import { checkConversion, mismatchError, type CheckReport } from './check.js';
import { convertOnnx, type ConvertOptions, type ConvertReport, type ConvertResult } from './convert.js';
import { bisectMismatch } from './bisect.js';
import { decodeImage, pixelsToInput, type Normalization } from '../image/preprocess.js';
import { listCalibrationFiles } from '../quantize/data.js';

export { convertOnnx } from './convert.js';
export type { ConvertOptions, ConvertReport, ConvertResult, IoLayout } from './convert.js';
export { checkConversion } from './check.js';
export type { CheckReport, OutputAgreement } from './check.js';

export interface ConvertFileOptions extends ConvertOptions {
  /** Compare with onnxruntime after converting (default true). */
  check?: boolean;
  /** Random inputs for the check (default 3); with `checkImages`, images at most. */
  samples?: number;
  seed?: number;
  /**
   * Check on real images instead of random inputs: a folder, glob or file of images, decoded to the
   * (single, image-shaped) input and normalised (pixel - mean) / std, as the model expects them.
   */
  checkImages?: { source: string; norm: Normalization };
}

export interface ConvertFileResult {
  bytes: Uint8Array;
  report: ConvertReport;
  check?: CheckReport;
  /** Milliseconds: reading + converting, and the check. */
  timings: { convertMs: number; checkMs: number };
}

/**
 * Convert an .onnx file to float TFLite bytes (NHWC) and check them against onnxruntime.
 * @example
 * const { bytes, report, check } = await convertOnnxFile('model.onnx');
 * console.log(report.transposes.total, check?.outputs);
 * @throws ReefError REEF_MODEL_NOT_FOUND, REEF_MODEL_INVALID, REEF_CONVERT_* (see docs/errors.md).
 */
export async function convertOnnxFile(path: string, options: ConvertFileOptions = {}): Promise<ConvertFileResult> {
  const t0 = performance.now();
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new ReefError('REEF_MODEL_NOT_FOUND', `Cannot read ONNX model ${path}: no such file`);
  if (!st.isFile()) throw new ReefError('REEF_MODEL_NOT_FOUND', `Cannot read ONNX model ${path}: it is a ${st.isDirectory() ? 'folder' : 'special file'}, not a file`);
  const bytes = new Uint8Array(await readFile(path));
  const model = readOnnx(bytes);
  resolveExternalData(model, dirname(path));
  const result = convertOnnx(model, options);
  const t1 = performance.now();
  let check: CheckReport | undefined;
  if (options.check !== false) {
    const inputs = options.checkImages ? await imageInputs(result, options.checkImages, options.samples ?? 8) : undefined;
    check = await checkConversion(bytes, result, { samples: options.samples, seed: options.seed, ...(inputs ? { inputs } : {}) });
    if (options.checkImages) check.images = options.checkImages.source;
    if (!check.ok) {
      check.firstDivergence = await bisectMismatch(bytes, model, result, options.seed ?? 1);
      throw mismatchError(check);
    }
  }
  return { bytes: result.bytes, report: result.report, check, timings: { convertMs: t1 - t0, checkMs: performance.now() - t1 } };
}


/**
 * The images of `spec` as inputs of the ONNX model (its layout: NCHW, or NHWC when its last axis is
 * the channels), `limit` at most.
 * @throws ReefError REEF_INVALID_ARGUMENT when the model does not have one image-shaped input.
 */
async function imageInputs(result: ConvertResult, spec: { source: string; norm: Normalization }, limit: number): Promise<Record<string, Float32Array>[]> {
  const ins = result.report.inputs;
  const s = ins[0]?.onnxShape ?? [];
  const nchw = s.length === 4 && [1, 3].includes(s[1]!);
  const nhwc = s.length === 4 && [1, 3].includes(s[3]!);
  if (ins.length !== 1 || (!nchw && !nhwc)) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected a model with one image input ([1,C,H,W] or [1,H,W,C], C 1 or 3) for --check-images but received ${ins.map((i) => `${i.name} [${i.onnxShape}]`).join(', ')}`);
  }
  const info = { name: ins[0]!.name, dtype: 'float32' as const, shape: s, quantization: { scale: 0, zeroPoint: 0 }, byteLength: s.reduce((a, b) => a * b, 4) };
  const layout = nchw ? 'nchw' : 'nhwc';
  const files = (await listCalibrationFiles(spec.source)).slice(0, limit);
  const out: Record<string, Float32Array>[] = [];
  for (const f of files) out.push({ [ins[0]!.name]: pixelsToInput(await decodeImage(f, info, layout), info, spec.norm, layout) as Float32Array });
  return out;
}
