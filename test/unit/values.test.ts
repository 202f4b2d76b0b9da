import { describe, it, expect } from 'vitest';
import { float16ToNumber, formatValues, jsonValues } from '../../src/tensor/values.js';
import { readNpy, writeNpy } from '../../src/tensor/npy.js';

describe('tensor values for people and JSON, every dtype', () => {
  it('float16 bit patterns decode to their IEEE 754 values', () => {
    // Hand-derived: 0x3c00 = 1, 0xc000 = -2, 0x3555 ~ 0.33325, 0x0001 = 2^-24 (subnormal), 0x7bff = 65504.
    expect([0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0x0000, 0x8000].map(float16ToNumber))
      .toEqual([1, -2, 0.333251953125, 2 ** -24, 65504, 0, -0]);
    expect(jsonValues('float16', new Uint16Array([0x7c00, 0xfc00, 0x7e00]))).toEqual(['Infinity', '-Infinity', 'NaN']);
  });
  it('bool as true/false, int64 as numbers (exact strings beyond 2^53), NaN/Infinity as strings', () => {
    expect(jsonValues('bool', new Uint8Array([0, 1, 0]))).toEqual([false, true, false]);
    expect(jsonValues('int64', new BigInt64Array([5n, -3n, 2n ** 60n]))).toEqual([5, -3, '1152921504606846976']);
    expect(jsonValues('float32', new Float32Array([1.5, NaN, -Infinity]))).toEqual([1.5, 'NaN', '-Infinity']);
    expect(jsonValues('int16', new Int16Array([-32768, 32767]))).toEqual([-32768, 32767]);
    expect(JSON.stringify(jsonValues('int64', new BigInt64Array([7n])))).toBe('[7]');
  });
  it('text shows the first values and how many more', () => {
    expect(formatValues('float32', new Float32Array([0.1, 2, 3]), 2)).toBe('[0.1, 2, ... (1 more)]');
    expect(formatValues('bool', new Uint8Array([1, 0]))).toBe('[true, false]');
  });
  it('.npy round trip keeps dtype and shape (header as NumPy writes it, 64-byte aligned)', () => {
    for (const [dtype, data] of [['int64', new BigInt64Array([1n, -2n])], ['bool', new Uint8Array([1, 0])], ['float16', new Uint16Array([0x3c00, 0])], ['int8', new Int8Array([-1, 2])]] as const) {
      const bytes = writeNpy({ dtype, shape: [2], data });
      expect(bytes.subarray(0, 6)).toEqual(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]));
      expect((10 + new DataView(bytes.buffer).getUint16(8, true)) % 64).toBe(0);
      const back = readNpy(bytes);
      expect([back.dtype, back.shape, Array.from(back.data as ArrayLike<number | bigint>)]).toEqual([dtype, [2], Array.from(data as ArrayLike<number | bigint>)]);
    }
  });
  it('EXPECTED FAILURE - .npy files reef cannot read are named with the reason', () => {
    expect(() => readNpy(new Uint8Array(12), 'x.npy')).toThrow('Expected a NumPy .npy array for x.npy but the magic string is missing');
    const big = writeNpy({ dtype: 'float32', shape: [4], data: new Float32Array(4) });
    expect(() => readNpy(big.subarray(0, big.length - 1), 'y.npy')).toThrow('Expected a NumPy .npy array for y.npy but it is truncated (4 elements of 4 bytes do not fit)');
  });
});
