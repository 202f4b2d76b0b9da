import { load } from '../src/index.ts';
import { VisionRunner } from '../src/tasks/vision.ts';
import { readdirSync } from 'node:fs';
const s = await load('/work/shared/models/tflite/blazeface_front_float.tflite');
for (const f of readdirSync('/work/shared/images/faces')) {
  for (const resize of ['squash', 'letterbox'] as const) {
  const r = new VisionRunner(s, { resize });
  const { result, placement } = await r.runFile('/work/shared/images/faces/' + f);
  if (result.task !== 'detect') throw 1;
  console.log(f, resize, placement.srcWidth, placement.srcHeight, result.detections.map((d) => `${d.score.toFixed(3)} [${[d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax].map((v) => v.toFixed(0))}] kp0 ${d.keypoints?.[0].x.toFixed(0)},${d.keypoints?.[0].y.toFixed(0)}`).join(' | '));
  }
}
await s.dispose();
const d = await load('/work/shared/models/edgetpu/deeplabv3_mnv2_dm05_pascal_quant.tflite');
const labels = ['background','aeroplane','bicycle','bird','boat','bottle','bus','car','cat','chair','cow','diningtable','dog','horse','motorbike','person','pottedplant','sheep','sofa','train','tv'];
const r = new VisionRunner(d, { labels });
const t0 = Date.now();
const { result, timings } = await r.runFile('/work/shared/images/misc/segmentation_input_rotation0.jpg');
console.log(Date.now() - t0, timings);
if (result.task !== 'segment') throw 2;
console.log(result.classes);
// compare with golden
import sharp from 'sharp';
const g = await sharp('/work/shared/images/misc/segmentation_golden_rotation0.png').raw().toBuffer({ resolveWithObject: true });
console.log(g.info);
let same = 0;
for (let i = 0; i < result.mask.data.length; i++) if (result.mask.data[i] * 10 === g.data[i * g.info.channels]) same++;
console.log('agree', same / result.mask.data.length);
await d.dispose();
