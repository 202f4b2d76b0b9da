import { load } from '../src/index.ts';
const s = await load('/work/shared/models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
console.log(s.outputs);
const out = await s.run([new Uint8Array(300*300*3).fill(128)]);
for (const [k, v] of Object.entries(out)) console.log(k, (v as any).shape, (v as any).data.length, Array.from((v as any).data).slice(0, 8));
await s.dispose();
