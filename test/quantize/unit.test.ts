/**
 * Quantization arithmetic checked against TensorFlow's own int8 twins (their input parameters)
 * and against exact hand-computed statistics.
 */
import { describe, expect, it } from 'vitest';
import { readTflite } from '../../src/model/tflite/reader.js';
import { TensorHistogram } from '../../src/quantize/histogram.js';
import { rangeToParams, quantizeSymmetric, quantizeBias } from '../../src/quantize/params.js';
import { chooseRange } from '../../src/quantize/ranges.js';
import { parseNpy } from '../../src/quantize/data.js';
import { modelBytes } from './helpers.js';

describe('activation parameters', () => {
  it.each([
    ['vww_96_int8', 0, 1],
    ['resnet8_cifar10_int8', 0, 255],
  ])('%s: the input range [%d, %d] gives TensorFlow\'s input scale and zero point', (name, lo, hi) => {
    const m = readTflite(modelBytes(`models/tflite/${name}.tflite`));
    const sg = m.subgraphs[0]!;
    const q = sg.tensors[sg.inputs[0]!]!.quantization!;
    const p = rangeToParams(lo, hi);
    expect(Math.fround(p.scale)).toBe(q.scale[0]);
    expect(p.zeroPoint).toBe(q.zeroPoint[0]);
  });

  it('extends ranges to contain 0 and nudges the zero point', () => {
    expect(rangeToParams(2, 4)).toEqual({ scale: 4 / 255, zeroPoint: -128 });
    expect(rangeToParams(-1, 1)).toEqual({ scale: 2 / 255, zeroPoint: 0 });
    expect(rangeToParams(0, 0)).toEqual({ scale: 1 / 255, zeroPoint: -128 });
  });

  it('quantizes weights symmetrically per channel in [-127, 127] and biases with input*weight scale', () => {
    const w = new Float32Array([1, -0.5, 0.25, 2, -2, 1]);
    expect(Array.from(quantizeSymmetric(w, [2, 3], 0, [1 / 127, 2 / 127]))).toEqual([127, -64, 32, 127, -127, 64]);
    expect(Array.from(quantizeBias(new Float32Array([0.5, -0.25]), [0.01, 0.001]))).toEqual([50, -250]);
  });
});

describe('TensorHistogram', () => {
  it('keeps exact min/max and counts through range growth', () => {
    const h = new TensorHistogram(16);
    h.add([0, 0.1, -0.2]);
    h.add([100, -3]);
    expect([h.min, h.max, h.count]).toEqual([-3, 100, 5]);
    const d = h.dense();
    expect(d.counts.reduce((a, b) => a + b, 0)).toBe(5);
    expect(h.width * 16).toBeGreaterThanOrEqual(100);
  });

  it('merging the histograms of two splits gives exactly the histogram of all the data (widths grow to match)', () => {
    const a = Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i) * 0.01);
    const b = Float32Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? 0 : Math.cos(i) * 37));
    for (const [x, y] of [[a, b], [b, a]]) {
      const one = new TensorHistogram(64);
      one.add(x);
      one.add(y);
      const hx = new TensorHistogram(64);
      hx.add(x);
      const hy = new TensorHistogram(64);
      hy.add(y);
      const m = hx.mergedWith(hy);
      expect([m.width, m.min, m.max, m.count, m.zeros]).toEqual([one.width, one.min, one.max, one.count, one.zeros]);
      expect(Array.from(m.pos)).toEqual(Array.from(one.pos));
      expect(Array.from(m.neg)).toEqual(Array.from(one.neg));
      expect(hx.count).toBe(x.length); // the parts are not changed
    }
    const empty = new TensorHistogram(64);
    empty.add([0, 0]);
    const h = new TensorHistogram(64);
    h.add([1, -2]);
    expect([empty.mergedWith(h).zeros, empty.mergedWith(h).count, h.mergedWith(empty).width]).toEqual([2, 4, h.width]);
  });

  it('percentile clips the tails; minmax keeps them', () => {
    const h = new TensorHistogram(1024);
    const data = Float32Array.from({ length: 10000 }, (_, i) => (i === 0 ? 50 : (i % 100) / 100));
    h.add(data);
    expect(chooseRange(h, { method: 'minmax' })).toEqual([0, 50]);
    const [lo, hi] = chooseRange(h, { method: 'percentile', percentile: 99.9 });
    expect(lo).toBe(0);
    expect(hi).toBeLessThan(1.1);
    const [, mhi] = chooseRange(h, { method: 'mse' });
    expect(mhi).toBeLessThan(50);
  });
});

describe('parseNpy', () => {
  it('reads a float32 array with its shape', () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }".padEnd(53, ' ') + '\n';
    const bytes = new Uint8Array(10 + header.length + 8);
    bytes.set([0x93, 78, 85, 77, 80, 89, 1, 0]);
    new DataView(bytes.buffer).setUint16(8, header.length, true);
    bytes.set(new TextEncoder().encode(header), 10);
    new DataView(bytes.buffer).setFloat32(10 + header.length, 1.5, true);
    new DataView(bytes.buffer).setFloat32(14 + header.length, -2, true);
    const a = parseNpy(bytes);
    expect(a.shape).toEqual([2, 1]);
    expect(Array.from(a.data)).toEqual([1.5, -2]);
  });
});
