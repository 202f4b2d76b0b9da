/**
 * Classification post-processing: pure functions over typed arrays.
 */

export interface Class {
  index: number;
  score: number;
}

/**
 * The k highest scores, highest first; equal scores keep the lower index first.
 * @example topK(new Float32Array([0.1, 0.7, 0.2]), 2) // [{index:1,score:0.7},{index:2,score:0.2}]
 */
export function topK(scores: ArrayLike<number>, k: number): Class[] {
  const n = Math.min(Math.max(0, Math.floor(k)), scores.length);
  const best: Class[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (best.length === n && (n === 0 || s <= best[n - 1].score)) continue;
    let j = best.length === n ? n - 1 : best.length;
    if (best.length < n) best.push({ index: i, score: s });
    while (j > 0 && best[j - 1].score < s) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = { index: i, score: s };
  }
  return best;
}
