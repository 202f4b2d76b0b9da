/**
 * Embeddings: a model's output taken as a feature vector; L2 normalisation and cosine similarity.
 */
import { ReefError } from '../errors.js';

/** The vector scaled to unit length (a zero vector stays zero). */
export function l2Normalize(v: ArrayLike<number>): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  const out = new Float32Array(v.length);
  if (n === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = v[i] / n;
  return out;
}

/** Cosine similarity of two vectors of one length: 1 same direction, 0 orthogonal, -1 opposite; 0 if either is zero. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected two vectors of one length for cosineSimilarity but received ${a.length} and ${b.length}`);
  }
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
