/**
 * JSON as TensorFlow Serving reads and writes it: the NaN, Infinity and -Infinity tokens are
 * accepted in requests (rapidjson's kParseNanAndInfFlag) and written in responses, floats are
 * written the way TF Serving writes them (six significant digits when that round-trips, else
 * max_digits10, and a trailing ".0" on whole numbers), and nesting depth is bounded before
 * anything is parsed.
 */
import { ReefError } from '../errors.js';
import { float16ToNumber } from '../tensor/values.js';

/** The most nested arrays/objects a request may have (a 6-D tensor in an instances list is 8). */
export const MAX_JSON_DEPTH = 32;

const NAN_MARK = '\u0000reef:NaN';
const INF_MARK = '\u0000reef:Infinity';
const NINF_MARK = '\u0000reef:-Infinity';

/** The most JSON values a body may hold, and who says so (for the message). */
export interface JsonValueLimit {
  max: number;
  /** e.g. 'model hello_world_float takes at most 1024 rows of 1 value' */
  why: string;
}

/**
 * Parses request JSON. Throws REEF_SERVE_BAD_REQUEST with TF Serving's words
 * ("JSON Parse error: ...") for malformed text, nesting deeper than MAX_JSON_DEPTH, or (with
 * `limit`) more values than the model can ever take: counted in the same pre-scan, before
 * JSON.parse builds any of them.
 */
export function parseJson(text: string, limit?: JsonValueLimit): unknown {
  if (text.length === 0 || text.trim().length === 0) {
    throw new ReefError('REEF_SERVE_BAD_REQUEST', 'JSON Parse error: The document is empty');
  }
  // One pass: depth check, and NaN/Infinity tokens (outside strings) rewritten to marker strings.
  let depth = 0;
  let inString = false;
  let rewritten: string[] | null = null;
  let last = 0;
  // Every array/object opens with [ or {, and every value after the first in one follows a comma:
  // opens + commas is at most the number of values.
  let values = 0;
  const max = limit?.max ?? Infinity;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 44) {
      if (++values > max) tooMany(limit as JsonValueLimit, i);
    } else if (c === 91 || c === 123) {
      if (++values > max) tooMany(limit as JsonValueLimit, i);
      if (++depth > MAX_JSON_DEPTH) {
        throw new ReefError('REEF_SERVE_BAD_REQUEST',
          `JSON Parse error: nesting deeper than ${MAX_JSON_DEPTH} levels at offset: ${i}`);
      }
    } else if (c === 93 || c === 125) depth--;
    else if (c === 78 || c === 73 || (c === 45 && text.charCodeAt(i + 1) === 73)) {
      // N(aN), I(nfinity), -I(nfinity)
      let token: string | null = null;
      if (text.startsWith('NaN', i)) token = 'NaN';
      else if (text.startsWith('Infinity', i)) token = 'Infinity';
      else if (text.startsWith('-Infinity', i)) token = '-Infinity';
      if (token) {
        rewritten ??= [];
        rewritten.push(text.slice(last, i), JSON.stringify(token === 'NaN' ? NAN_MARK : token === 'Infinity' ? INF_MARK : NINF_MARK));
        i += token.length - 1;
        last = i + 1;
      }
    }
  }
  const source = rewritten ? rewritten.join('') + text.slice(last) : text;
  try {
    return rewritten ? JSON.parse(source, revive) : JSON.parse(source);
  } catch (e) {
    throw new ReefError('REEF_SERVE_BAD_REQUEST', `JSON Parse error: ${(e as Error).message}`);
  }
}

function tooMany(limit: JsonValueLimit, offset: number): never {
  throw new ReefError('REEF_SERVE_BAD_REQUEST',
    `JSON Parse error: the request has more than ${limit.max} JSON values (at offset: ${offset}), more than ${limit.why}; send fewer rows per request`);
}

function revive(_key: string, v: unknown): unknown {
  if (typeof v === 'string' && v.charCodeAt(0) === 0) {
    if (v === NAN_MARK) return NaN;
    if (v === INF_MARK) return Infinity;
    if (v === NINF_MARK) return -Infinity;
  }
  return v;
}

/** printf("%.{p}g") for a finite number. */
function formatG(v: number, p: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  let s = v.toExponential(p - 1); // d.ddde+x, correctly rounded
  let e = Number(s.slice(s.indexOf('e') + 1));
  if (Number.isNaN(e)) e = exp;
  if (e < -4 || e >= p) {
    let [mant, ex] = s.split('e');
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const n = Number(ex);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  s = v.toFixed(Math.max(0, p - 1 - e));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/**
 * A float as TF Serving writes it (json_tensor.cc WriteDecimal): "%g" when it round-trips, else
 * "%.9g" (float32) / "%.17g" (float64); ".0" appended to whole numbers; NaN, Infinity, -Infinity.
 */
export function formatFloat(v: number, float32 = true): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v < 0 ? '-Infinity' : 'Infinity';
  let s = formatG(v, 6);
  const back = Number(s);
  if ((float32 ? Math.fround(back) : back) !== v) s = formatG(v, float32 ? 9 : 17);
  if (!s.includes('.') && !s.includes('e')) s += '.0';
  return s;
}

/** Writes `count` values of a typed array from `offset` as nested JSON lists of `dims`. */
export function nestedJson(
  data: ArrayLike<number | bigint>, dtype: string, dims: readonly number[], offset = 0,
): string {
  const fmt = elementWriter(dtype);
  const parts: string[] = [];
  let k = offset;
  const walk = (level: number): void => {
    if (level === dims.length) {
      parts.push(fmt(data[k++]));
      return;
    }
    parts.push('[');
    for (let i = 0; i < dims[level]; i++) {
      if (i > 0) parts.push(',');
      walk(level + 1);
    }
    parts.push(']');
  };
  walk(0);
  return parts.join('');
}

/** The JSON text of one element of a dtype (floats as TF Serving writes them). */
export function elementWriter(dtype: string): (v: number | bigint) => string {
  switch (dtype) {
    case 'float32': return (v) => formatFloat(v as number, true);
    case 'float64': return (v) => formatFloat(v as number, false);
    case 'float16': return (v) => formatFloat(halfToFloat(v as number), true);
    case 'bool': return (v) => (v ? 'true' : 'false');
    default: return (v) => String(v);
  }
}

export const halfToFloat = float16ToNumber;
