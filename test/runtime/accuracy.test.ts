import { describe, it, expect } from 'vitest';
import { load, decodeImage, pixelsToInput, topK, dequantize } from '../../src/index.js';
import { sharedPath, imagenetLabels } from '../shared.js';

// Published ImageNet top-1 (TensorFlow's hosted-model tables): MobileNet v1 0.25/128
// float 41.4%, quantized 39.5%. The 500 photos are a sample, so allow 6 points.
const PUBLISHED = { float: 41.4, quant: 39.5 };

describe('ImageNet top-1 on the 500 labelled photos', () => {
  it('mobilenet_v1_0.25_128 float and quant lie within 6 points of the published figures', async () => {
    const labels = imagenetLabels();
    expect(labels.length).toBe(500);
    const float = await load(sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite'));
    const quant = await load(sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'));
    let hitsFloat = 0;
    let hitsQuant = 0;
    try {
      for (const { file, tf1001 } of labels) {
        const pixels = await decodeImage(sharedPath(`images/imagenet/${file}`), float.inputs[0]);
        const f = await float.run([pixelsToInput(pixels, float.inputs[0])]);
        const q = await quant.run([pixelsToInput(pixels, quant.inputs[0])]);
        const fTop = topK(f[float.outputs[0].name].data as Float32Array, 1)[0].index;
        const qOut = quant.outputs[0];
        const qTop = topK(dequantize(q[qOut.name].data as Uint8Array, qOut.quantization), 1)[0].index;
        if (fTop === tf1001) hitsFloat++;
        if (qTop === tf1001) hitsQuant++;
      }
    } finally {
      await float.dispose();
      await quant.dispose();
    }
    const top1Float = (hitsFloat / labels.length) * 100;
    const top1Quant = (hitsQuant / labels.length) * 100;
    console.log(`top-1: float ${top1Float.toFixed(1)}%, quant ${top1Quant.toFixed(1)}%`);
    expect(Math.abs(top1Float - PUBLISHED.float)).toBeLessThanOrEqual(6);
    expect(Math.abs(top1Quant - PUBLISHED.quant)).toBeLessThanOrEqual(6);
  });
});

describe('float and int8 twins agree', () => {
  // Visual Wake Words: class 0 = no person, class 1 = person; the model takes pixels / 255.
  // The person96 PNGs hold tflite-micro's int8 test images written out as bytes, i.e. every
  // pixel is offset by 128 (mod 256): XOR 0x80 gives the photo back. Both readings are checked:
  // as stored, the twins must agree; restored, they must also be right.
  async function classify(model: string, file: string, restore: boolean): Promise<number> {
    const s = await load(sharedPath(`models/tflite/${model}.tflite`));
    try {
      const raw = await decodeImage(sharedPath(`images/person96/${file}`), s.inputs[0]);
      const pixels = restore ? raw.map((v) => v ^ 0x80) : raw;
      const out = await s.run([pixelsToInput(pixels, s.inputs[0], { mean: 0, std: 255 })]);
      const o = s.outputs[0];
      const scores = o.quantization.scale ? dequantize(out[o.name].data as Int8Array, o.quantization) : (out[o.name].data as Float32Array);
      return topK(scores, 1)[0].index;
    } finally {
      await s.dispose();
    }
  }

  it.each(['person.png', 'no_person.png'])('vww_96_float and vww_96_int8 give the same class for %s as stored', async (file) => {
    expect(await classify('vww_96_int8', file, false)).toBe(await classify('vww_96_float', file, false));
  });

  it.each([
    ['person.png', 1],
    ['no_person.png', 0],
  ])('with the pixels restored, both give %s class %i', async (file, expected) => {
    expect(await classify('vww_96_float', file, true)).toBe(expected);
    expect(await classify('vww_96_int8', file, true)).toBe(expected);
  });
});
