import { load } from '../src/index.ts';
import { VisionRunner, modelMetadata } from '../src/tasks/vision.ts';
const M = '/work/shared/models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite';
const md = await modelMetadata(M);
console.log('labels', md?.labels?.slice(0, 20));
const s = await load(M, { xnnpack: process.env.XNN !== '0' });
for (const filter of ['bilinear', 'nearest'] as const) {
  const r = new VisionRunner(s, { labels: md?.labels ?? null, filter, detect: { maxResults: 4, scoreThreshold: 0 } });
  const { result, timings } = await r.runFile('/work/shared/images/misc/cats_and_dogs.jpg');
  if (result.task !== 'detect') throw 1;
  console.log(filter, timings);
  for (const d of result.detections) {
    const W = 1200, H = 600;
    const b = d.box;
    console.log(d.index, d.label, d.score, Math.trunc(b.xmin), Math.trunc(b.ymin), Math.round(b.xmax - b.xmin), Math.round(b.ymax - b.ymin));
  }
}
await s.dispose();
