/**
 * Per-tensor statistics collected in one pass over the calibration data: exact min/max and a
 * histogram of values with an unknown range up front.
 *
 * The histogram is two-sided around zero: `bins` bins of width `width` on each side, bin k of the
 * positive side holding values in [k*w, (k+1)*w) and bin k of the negative side (-(k+1)*w, -k*w].
 * When a value falls outside +-bins*w the width doubles and neighbouring bin pairs merge, which is
 * exact because bin edges stay aligned at 0 and at multiples of the new width. The width is a
 * power of two, so after any growth the data fills at least half of one side's bins.
 */

export class TensorHistogram {
  readonly bins: number;
  /** Width of one bin (a power of two); 0 until the first non-zero value. */
  width = 0;
  min = Infinity;
  max = -Infinity;
  count = 0;
  /** Counts of values >= 0 (index k: [k*w, (k+1)*w)). */
  readonly pos: Float64Array;
  /** Counts of values < 0 (index k: (-(k+1)*w, -k*w]). */
  readonly neg: Float64Array;
  /** Exact zeros are common (ReLU) and kept apart so they never blur a bin. */
  zeros = 0;

  constructor(bins = 2048) {
    this.bins = bins;
    this.pos = new Float64Array(bins);
    this.neg = new Float64Array(bins);
  }

  /** Adds every value of `data`. */
  add(data: ArrayLike<number>): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (data.length === 0) return;
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      throw new RangeError(`non-finite value (${!Number.isFinite(lo) ? lo : hi}) in calibration activations`);
    }
    if (lo < this.min) this.min = lo;
    if (hi > this.max) this.max = hi;
    this.count += data.length;
    const reach = Math.max(Math.abs(lo), Math.abs(hi));
    if (reach > 0) this.#fit(reach);
    if (this.width === 0) {
      this.zeros += data.length;
      return;
    }
    const inv = 1 / this.width;
    const last = this.bins - 1;
    const pos = this.pos;
    const neg = this.neg;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v === 0) {
        this.zeros++;
      } else if (v > 0) {
        const k = Math.floor(v * inv);
        pos[k > last ? last : k]!++;
      } else {
        const k = Math.floor(-v * inv);
        neg[k > last ? last : k]!++;
      }
    }
  }

  /** A copy. */
  clone(): TensorHistogram {
    const c = new TensorHistogram(this.bins);
    c.width = this.width;
    c.min = this.min;
    c.max = this.max;
    c.count = this.count;
    c.zeros = this.zeros;
    c.pos.set(this.pos);
    c.neg.set(this.neg);
    return c;
  }

  /** The histogram of both samples (exact: widths are powers of two, so bins align after growing). */
  mergedWith(o: TensorHistogram): TensorHistogram {
    const a = this.clone();
    const b = o.clone();
    for (const [x, y] of [[a, b], [b, a]] as const) {
      if (y.width > x.width) {
        if (x.width === 0) x.width = y.width;
        else x.#fit(y.width * x.bins);
      }
    }
    for (let k = 0; k < a.bins; k++) { a.pos[k] += b.pos[k]!; a.neg[k] += b.neg[k]!; }
    a.zeros += b.zeros;
    a.count += b.count;
    a.min = Math.min(a.min, b.min);
    a.max = Math.max(a.max, b.max);
    return a;
  }

  /** Grows the width (merging bins) until +-reach fits. */
  #fit(reach: number): void {
    if (this.width === 0) {
      this.width = 2 ** Math.ceil(Math.log2(reach / this.bins));
      while (this.width * this.bins < reach) this.width *= 2;
      return;
    }
    while (this.width * this.bins < reach) {
      for (const side of [this.pos, this.neg]) {
        for (let k = 0; k < this.bins / 2; k++) side[k] = side[2 * k]! + side[2 * k + 1]!;
        side.fill(0, this.bins / 2);
      }
      this.width *= 2;
    }
  }

  /**
   * The histogram as one ascending list of bins over [-bins*w, bins*w]: `counts[j]` covers
   * [edges(j), edges(j)+w) with edges(j) = (j - bins) * w; zeros are added to the bin starting at 0.
   */
  dense(): { counts: Float64Array; start: number; width: number } {
    const n = this.bins;
    const counts = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      counts[n - 1 - k] = this.neg[k]!;
      counts[n + k] = this.pos[k]!;
    }
    counts[n] = counts[n]! + this.zeros;
    const width = this.width === 0 ? 1 : this.width;
    return { counts, start: -n * width, width };
  }
}
