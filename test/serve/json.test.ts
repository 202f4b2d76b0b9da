/**
 * TF Serving's JSON rules, without a server: NaN/Infinity tokens read and written, floats written
 * as json_tensor.cc WriteDecimal writes them ("%g" when it round-trips in float32, else "%.9g",
 * ".0" on whole numbers). Expected strings are what printf("%g") / printf("%.9g") print.
 */
import { describe, expect, it } from 'vitest';
import { formatFloat, nestedJson, parseJson } from '../../src/serve/json.js';

describe('parseJson', () => {
  it('reads NaN, Infinity and -Infinity tokens outside strings, and leaves them alone inside', () => {
    const v = parseJson('{"a":[NaN, Infinity,-Infinity, 1], "s": "NaN Infinity"}') as { a: number[]; s: string };
    expect(v.a[0]).toBeNaN();
    expect(v.a.slice(1)).toEqual([Infinity, -Infinity, 1]);
    expect(v.s).toBe('NaN Infinity');
  });
  it('BAD CALL - an escaped quote does not end a string; malformed text is a coded error', () => {
    expect(parseJson('{"s":"a\\\\"}')).toEqual({ s: 'a\\' });
    expect(() => parseJson('{"a": Nan}')).toThrow(expect.objectContaining({ code: 'REEF_SERVE_BAD_REQUEST' }));
    expect(() => parseJson('   ')).toThrow('JSON Parse error: The document is empty');
  });
});

describe('formatFloat', () => {
  it('writes floats as TF Serving does', () => {
    expect(formatFloat(3)).toBe('3.0');
    expect(formatFloat(Math.fround(0.2))).toBe('0.2');
    expect(formatFloat(Math.fround(0.1 + 0.2))).toBe('0.3');
    expect(formatFloat(Math.fround(1 / 3))).toBe('0.333333343');
    expect(formatFloat(9000000)).toBe('9e+06');
    expect(formatFloat(0.00003)).toBe('3e-05');
    expect(formatFloat(Math.fround(123456.7))).toBe('123456.703');
    expect(formatFloat(-0.5)).toBe('-0.5');
    expect(formatFloat(NaN)).toBe('NaN');
    expect(formatFloat(-Infinity)).toBe('-Infinity');
    expect(formatFloat(0.1, false)).toBe('0.1');
  });
  it('nests values by shape', () => {
    expect(nestedJson(new Float32Array([1, NaN, 2.5, Infinity]), 'float32', [2, 2])).toBe('[[1.0,NaN],[2.5,Infinity]]');
    expect(nestedJson(new BigInt64Array([1n, -2n]), 'int64', [2])).toBe('[1,-2]');
    expect(nestedJson(new Uint8Array([1, 0]), 'bool', [2])).toBe('[true,false]');
  });
});
