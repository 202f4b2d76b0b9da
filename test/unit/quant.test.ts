import { describe, it, expect } from 'vitest';
import { quantize, dequantize, topK, parseLabels, ReefError } from '../../src/index.js';

describe('quantize / dequantize', () => {
  it('maps reals to uint8 with the scale and zero point, clamping, rounding half away from zero', () => {
    // q = round(x / (1/128)) + 128: 0.5 -> 192, -1 -> 0, 0.99 -> 254.72 -> 255, 2 -> clamp 255, -2 -> clamp 0
    const q = quantize([0.5, -1, 0.99, 2, -2, 0.00390625], { scale: 1 / 128, zeroPoint: 128 }, 'uint8');
    expect(q).toBeInstanceOf(Uint8Array);
    expect(Array.from(q)).toEqual([192, 0, 255, 255, 0, 129]); // 0.5 -> 128.5 -> rounds away to +1 of 128
  });

  it('maps reals to int8 and rounds negative halves away from zero', () => {
    // scale 0.5, zp -1: 0.25 -> 0.5 -> 1 -> 0; -0.25 -> -0.5 -> -1 -> -2; 100 -> clamp 127; -100 -> clamp -128
    expect(Array.from(quantize([0.25, -0.25, 100, -100, 1], { scale: 0.5, zeroPoint: -1 }, 'int8'))).toEqual([0, -2, 127, -128, 1]);
  });

  it('dequantizes as scale * (q - zeroPoint)', () => {
    expect(Array.from(dequantize(new Uint8Array([0, 128, 255]), { scale: 0.5, zeroPoint: 128 }))).toEqual([-64, 0, 63.5]);
    expect(Array.from(dequantize(new Int8Array([-128, 127]), { scale: 0.25, zeroPoint: -128 }))).toEqual([0, 63.75]);
    expect(Array.from(dequantize([1.5, 2], { scale: 0, zeroPoint: 0 }))).toEqual([1.5, 2]);
  });

  it('EXPECTED FAILURE - a zero scale cannot quantize', () => {
    expect(() => quantize([1], { scale: 0, zeroPoint: 0 }, 'int8'))
      .toThrow(new ReefError('REEF_INVALID_ARGUMENT', 'Expected a positive finite number for quantization.scale but received number 0'));
  });
});

describe('topK', () => {
  it('returns the k best, highest first, lower index first on ties', () => {
    expect(topK([0.1, 0.7, 0.2, 0.7, 0.05], 3)).toEqual([
      { index: 1, score: 0.7 }, { index: 3, score: 0.7 }, { index: 2, score: 0.2 },
    ]);
    expect(topK([3, 1, 2], 10).map((c) => c.index)).toEqual([0, 2, 1]);
    expect(topK([3, 1, 2], 0)).toEqual([]);
    expect(topK(new Int8Array([-5, -1, -3]), 1)).toEqual([{ index: 1, score: -1 }]);
  });
});

describe('labels', () => {
  it('reads plain label lists by line number', () => {
    expect(parseLabels('background\ntench\ngoldfish\n\n')).toEqual(['background', 'tench', 'goldfish']);
  });
  it('reads Coral-style "id label" files with gaps', () => {
    expect(parseLabels('0  person\n2  car\n3: motorcycle\n')).toEqual(['person', '', 'car', 'motorcycle']);
  });
});
