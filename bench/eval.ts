/**
 * bench:eval — COCO box mAP of SSD MobileNet v1 (uint8, TFLite_Detection_PostProcess) on the 120
 * COCO photos of ../shared/images/coco, computed as pycocotools does, with each resize mode and
 * filter; per-photo pre-processing, invoke and decode time. Figures are reported, never asserted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDataset } from '../src/eval/coco.js';
import { evaluateDetector } from '../src/eval/detect.js';
import { openVision } from '../src/tasks/vision.js';
import type { ResizeFilter, ResizeMode } from '../src/tasks/resize.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const MODEL = join(SHARED, 'models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const gt = checkDataset(JSON.parse(readFileSync(join(SHARED, 'images/coco/labels.json'), 'utf8')));

const configs: Array<[ResizeMode, ResizeFilter]> = [['squash', 'bilinear'], ['squash', 'nearest'], ['letterbox', 'bilinear'], ['center-crop', 'bilinear']];
const rows: Array<Record<string, unknown>> = [];
for (const [resize, filter] of configs) {
  const runner = await openVision(MODEL, { threads: 2 }, { resize, filter, detect: { scoreThreshold: 0 } });
  try {
    const r = await evaluateDetector(runner, gt, join(SHARED, 'images/coco/images'), (p) => {
      if (p.done % 40 === 0) process.stderr.write(`${resize}/${filter}: ${p.done}/${p.total}\n`);
    });
    rows.push({ resize, filter, AP: r.named.AP, AP50: r.named.AP50, AP75: r.named.AP75, APs: r.named.APsmall, APm: r.named.APmedium, APl: r.named.APlarge, AR100: r.named.AR100,
      preMs: r.timing.pre, invokeMs: r.timing.invoke, postMs: r.timing.post });
  } finally {
    await runner.session.dispose();
  }
}
if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify({ model: 'ssd_mobilenet_v1_coco_quant_postprocess', images: gt.images.length, rows }) + '\n');
} else {
  process.stdout.write(`SSD MobileNet v1 (uint8) on ${gt.images.length} COCO photos, 2 threads\n`);
  process.stdout.write('resize       filter    AP     AP50   AP75   APs    APm    APl    AR100  pre ms  invoke ms  post ms\n');
  for (const r of rows) {
    const f = (k: string) => (r[k] as number).toFixed(3).padEnd(7);
    const m = (k: string, w: number) => (r[k] as number).toFixed(1).padEnd(w);
    process.stdout.write(`${String(r.resize).padEnd(13)}${String(r.filter).padEnd(10)}${f('AP')}${f('AP50')}${f('AP75')}${f('APs')}${f('APm')}${f('APl')}${f('AR100')}${m('preMs', 8)}${m('invokeMs', 11)}${m('postMs', 7)}\n`);
  }
}
