/**
 * SSD models that end in TFLite's `TFLite_Detection_PostProcess` op: four float outputs, boxes
 * [1,N,4] as (ymin, xmin, ymax, xmax) normalised, classes [1,N], scores [1,N], count [1]. Exporters
 * write them in one of two orders (pycoral's get_objects reads both):
 * TF1 object-detection API: boxes, classes, scores, count;
 * TF2 (SavedModel signature order): scores, boxes, count, classes.
 */
import { ReefError } from '../../errors.js';
import { applyDetectOptions, elementCount, type Detection, type DetectOptions, type OutputView } from './types.js';

export interface SsdRoles {
  boxes: number;
  classes: number;
  scores: number;
  count: number;
  order: 'boxes,classes,scores,count' | 'scores,boxes,count,classes';
}

const isBoxes = (s: readonly number[]) => s.length === 3 && s[2] === 4;
const isVector = (s: readonly number[], n: number) => s.length === 2 && s[1] === n;

/** Which output is which, from the shapes (after invoke); null when the outputs are not this layout. */
export function ssdPostprocessRoles(shapes: ReadonlyArray<readonly number[]>): SsdRoles | null {
  if (shapes.length !== 4) return null;
  const [a, b, c, d] = shapes;
  if (isBoxes(a) && elementCount(d) === 1 && isVector(b, a[1]) && isVector(c, a[1])) {
    return { boxes: 0, classes: 1, scores: 2, count: 3, order: 'boxes,classes,scores,count' };
  }
  if (isBoxes(b) && elementCount(c) === 1 && isVector(a, b[1]) && isVector(d, b[1])) {
    return { boxes: 1, classes: 3, scores: 0, count: 2, order: 'scores,boxes,count,classes' };
  }
  return null;
}

/**
 * Reads the detections of a TFLite_Detection_PostProcess model, best first (as the op sorts them),
 * with threshold, class filters and max count applied.
 * @example decodeSsdPostprocess(outputs, { scoreThreshold: 0.5, maxResults: 4 })
 */
export function decodeSsdPostprocess(outputs: readonly OutputView[], opts: DetectOptions = {}): Detection[] {
  const roles = ssdPostprocessRoles(outputs.map((o) => o.shape));
  if (!roles) {
    throw new ReefError('REEF_TASK_MISMATCH',
      `the outputs ${outputs.map((o) => `${o.name} [${o.shape.join(',')}]`).join(', ')} are not TFLite_Detection_PostProcess outputs ` +
      '(boxes [1,N,4], classes [1,N], scores [1,N], count [1], in either exporter order)');
  }
  const boxes = outputs[roles.boxes].data;
  const classes = outputs[roles.classes].data;
  const scores = outputs[roles.scores].data;
  const n = outputs[roles.boxes].shape[1];
  const count = Math.max(0, Math.min(n, Math.round(outputs[roles.count].data[0])));
  const dets: Detection[] = [];
  for (let i = 0; i < count; i++) {
    const [ymin, xmin, ymax, xmax] = [boxes[i * 4], boxes[i * 4 + 1], boxes[i * 4 + 2], boxes[i * 4 + 3]];
    dets.push({ index: Math.round(classes[i]), score: scores[i], box: { xmin, ymin, xmax, ymax } });
  }
  // The op sorts by score already; a stable sort keeps that and guards exporters that do not.
  dets.sort((x, y) => y.score - x.score);
  return applyDetectOptions(dets, opts);
}
