/**
 * TFLite variants of an ONNX model for a bundle: `--cpu-float model.onnx` is converted (and checked
 * against onnxruntime, as `reef convert` does), `--cpu-int8 model.onnx` converted and then quantized
 * with the calibration samples given (as `reef quantize model.onnx` does).
 */
import { convertOnnxFile, type ConvertFileResult } from '../convert/index.js';
import { ReefError } from '../errors.js';
import { quantizeTflite, type QuantizeOptions } from '../quantize/pipeline.js';
import type { QuantizeReport } from '../quantize/report.js';
import type { Sample } from '../quantize/calibrate.js';

export const isOnnxPath = (p: string | undefined): boolean => p !== undefined && p.toLowerCase().endsWith('.onnx');

/** The float TFLite conversion of an ONNX file, once per path. */
export class OnnxConversions {
  private readonly done = new Map<string, ConvertFileResult>();

  async float(path: string): Promise<ConvertFileResult> {
    let r = this.done.get(path);
    if (!r) {
      r = await convertOnnxFile(path);
      this.done.set(path, r);
    }
    return r;
  }

  /**
   * The int8 TFLite model of an ONNX file: converted, then quantized on `calibration`.
   * @throws ReefError REEF_INVALID_ARGUMENT without calibration samples.
   */
  async int8(path: string, calibration: Sample[], opts: QuantizeOptions = {}): Promise<{ bytes: Uint8Array; report: QuantizeReport }> {
    if (calibration.length === 0) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected calibration data (--calib) to quantize ${path} for the cpu-int8 variant but received none`);
    }
    const f = await this.float(path);
    const q = await quantizeTflite(f.bytes, { calibration }, { source: path, ...opts });
    return { bytes: q.bytes, report: q.report };
  }
}
