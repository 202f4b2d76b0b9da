/**
 * Known converter defects: models that are well-formed flatbuffers, that reef can read and
 * show, but that TensorFlow Lite 2.9 refuses to build an interpreter for.
 *
 * The one found in the wild: a `quantized_dimension` outside the tensor's shape. Older
 * converters (and tools that build microcontroller models) wrote per-channel quantization on
 * 1-D bias tensors with the quantized_dimension of the weights they belong to (3 for a
 * depthwise filter), and TFLite 2.9 refuses the model with "quantized_dimension must be in range
 * [0, 1). Was 3. Tensor N has invalid quantization parameters." TFLite checks the range for
 * per-tensor quantization too (one scale), where the dimension means nothing.
 *
 * detectDefects() is pure (IR in, list out); repairDefects() applies the fixes that have exactly
 * one right answer, in place.
 */
import { ReefError } from '../../errors.js';
import type { TfliteModel, TfliteTensor } from './ir.js';
import { readTflite, validateModel } from './reader.js';
import { writeTflite } from './writer.js';

export type DefectKind = 'quantized-dimension-out-of-range';

/** One defect on one tensor. */
export interface ModelDefect {
  subgraph: number;
  /** Tensor index in its subgraph. */
  tensor: number;
  /** The tensor's name. */
  name: string;
  defect: DefectKind;
  /** What is wrong, in words ("quantized_dimension 3 on shape [8] with 8 scales"). */
  detail: string;
  /**
   * The one unambiguous fix ("set quantized_dimension to 0"), or null when there is none (then
   * the model must be converted again).
   */
  fix: { quantizedDimension: number; text: string } | null;
}

function outOfRange(t: TfliteTensor): boolean {
  const q = t.quantization;
  // TFLite ignores quantization without scales; with scales it checks 0 <= qd < rank (any qd >= 0 on a scalar).
  if (!q || q.scale.length === 0) return false;
  const qd = q.quantizedDimension;
  return qd < 0 || (t.shape.length > 0 && qd >= t.shape.length);
}

function fixFor(t: TfliteTensor): ModelDefect['fix'] {
  const q = t.quantization!;
  const rank = t.shape.length;
  // One axis (or none): 0 is the only dimension the scales can run along.
  const only = rank <= 1 && (q.scale.length === 1 || t.shape[0] === q.scale.length);
  // One scale: per-tensor, the dimension is never read; 0 is what every converter writes.
  if (only || q.scale.length === 1) return { quantizedDimension: 0, text: 'set quantized_dimension to 0' };
  return null;
}

/**
 * The known converter defects in a model, in tensor order.
 * @example
 * for (const d of detectDefects(readTflite(bytes))) console.log(describeDefect(d));
 */
export function detectDefects(model: TfliteModel): ModelDefect[] {
  const out: ModelDefect[] = [];
  model.subgraphs.forEach((sg, si) => {
    sg.tensors.forEach((t, ti) => {
      if (!outOfRange(t)) return;
      const q = t.quantization!;
      const kind = q.scale.length === 1 ? 'per-tensor quantization' : `${q.scale.length} per-channel scales`;
      out.push({
        subgraph: si,
        tensor: ti,
        name: t.name,
        defect: 'quantized-dimension-out-of-range',
        detail: `quantized_dimension ${q.quantizedDimension} is outside shape [${t.shape.join(',')}] (${kind})`,
        fix: fixFor(t),
      });
    });
  });
  return out;
}

/** One line for a defect: where, what, and the fix (or that there is none). */
export function describeDefect(d: ModelDefect): string {
  const where = `subgraph ${d.subgraph}, tensor ${d.tensor}${d.name ? ` ('${d.name}')` : ''}`;
  return `${where}: ${d.detail}; ${d.fix ? `fix: ${d.fix.text}` : 'no unambiguous fix'}`;
}

/**
 * The error load() gives a model with defects: it names them and says whether `reef repair` fixes them.
 */
export function defectError(source: string, defects: ModelDefect[]): ReefError {
  const fixable = defects.every((d) => d.fix);
  const shown = defects.slice(0, 3).map(describeDefect).join('; ');
  const more = defects.length > 3 ? `; and ${defects.length - 3} more` : '';
  const what = fixable
    ? `run \`reef repair ${source === '<buffer>' ? 'MODEL' : source} -o FIXED.tflite\` and load the repaired model`
    : 'convert the model again with a current TFLite converter (`reef repair` cannot fix every defect here)';
  return new ReefError('REEF_MODEL_DEFECT',
    `${source}: TensorFlow Lite 2.9 refuses this model for a known converter defect ` +
      `(${defects.length} tensor${defects.length === 1 ? '' : 's'}): ${shown}${more}. To run it: ${what}`);
}

/**
 * Apply the unambiguous fix of every defect, in place, and return the defects fixed.
 * @throws ReefError REEF_NOTHING_TO_REPAIR when the model has no defect,
 *   REEF_MODEL_DEFECT (changing nothing) when some defect has no unambiguous fix.
 */
export function repairDefects(model: TfliteModel, source: string): ModelDefect[] {
  const defects = detectDefects(model);
  if (defects.length === 0) {
    throw new ReefError('REEF_NOTHING_TO_REPAIR', `${source}: no known defect to repair; TensorFlow Lite 2.9 loads this model as it is`);
  }
  const unfixable = defects.filter((d) => !d.fix);
  if (unfixable.length > 0) {
    throw new ReefError('REEF_MODEL_DEFECT',
      `${source}: ${unfixable.length} defect${unfixable.length === 1 ? ' has' : 's have'} no unambiguous fix, so nothing was written: ` +
        `${unfixable.slice(0, 3).map(describeDefect).join('; ')}${unfixable.length > 3 ? `; and ${unfixable.length - 3} more` : ''}. ` +
        'Convert the model again with a current TFLite converter');
  }
  for (const d of defects) model.subgraphs[d.subgraph]!.tensors[d.tensor]!.quantization!.quantizedDimension = d.fix!.quantizedDimension;
  return defects;
}

/** What {@link repairTflite} returns: the repaired model's bytes and what was changed. */
export interface RepairResult {
  bytes: Uint8Array;
  repaired: ModelDefect[];
}

/**
 * Repair a .tflite model given as bytes: fix every defect that has one unambiguous fix and write
 * the model again (everything else, metadata and associated files included, is kept).
 * @example
 * const { bytes, repaired } = repairTflite(await readFile('old.tflite'), 'old.tflite');
 * @throws ReefError REEF_MODEL_INVALID for corrupt bytes, REEF_NOTHING_TO_REPAIR, or REEF_MODEL_DEFECT
 *   when a defect has no unambiguous fix.
 */
export function repairTflite(bytes: Uint8Array, source: string): RepairResult {
  let model: TfliteModel;
  try {
    model = readTflite(bytes);
  } catch (e) {
    if (e instanceof ReefError && e.code === 'REEF_MODEL_INVALID') throw new ReefError('REEF_MODEL_INVALID', `${source}: ${e.message}`);
    throw e;
  }
  const repaired = repairDefects(model, source);
  validateModel(model);
  return { bytes: writeTflite(model), repaired };
}
