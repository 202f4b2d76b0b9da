/**
 * `reef convert`'s job as a function: read an ONNX file, convert it, check it against
 * onnxruntime, and hand back the TFLite bytes with the report (nothing is written here).
 */
import { readFile, stat } from 'node:fs/promises';
import { ReefError } from '../errors.js';
import { readOnnx, resolveExternalData } from '../model/onnx/reader.js';
import { dirname } from 'node:path';
import { checkConversion, mismatchError, type CheckReport } from './check.js';
import { convertOnnx, type ConvertOptions, type ConvertReport } from './convert.js';
import { bisectMismatch } from './bisect.js';

export { convertOnnx } from './convert.js';
export type { ConvertOptions, ConvertReport, ConvertResult, IoLayout } from './convert.js';
export { checkConversion } from './check.js';
export type { CheckReport, OutputAgreement } from './check.js';

export interface ConvertFileOptions extends ConvertOptions {
  /** Compare with onnxruntime after converting (default true). */
  check?: boolean;
  /** Random inputs for the check (default 3). */
  samples?: number;
  seed?: number;
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
    check = await checkConversion(bytes, result, { samples: options.samples, seed: options.seed });
    if (!check.ok) {
      check.firstDivergence = await bisectMismatch(bytes, model, result, options.seed ?? 1);
      throw mismatchError(check);
    }
  }
  return { bytes: result.bytes, report: result.report, check, timings: { convertMs: t1 - t0, checkMs: performance.now() - t1 } };
}

