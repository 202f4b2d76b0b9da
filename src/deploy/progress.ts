/** A one-line progress bar on stderr, drawn only on a terminal. */

export interface ProgressSink {
  err(text: string): void;
}

function mb(n: number): string {
  return (n / 1e6).toFixed(n < 1e7 ? 2 : 1);
}

/** Returns update(done, total) and end(); draws at most 10 times a second. */
export function progressBar(io: ProgressSink, label: string, enabled: boolean): { update(done: number, total: number): void; end(): void } {
  let last = 0;
  let drawn = false;
  const t0 = Date.now();
  return {
    update(done, total) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const width = 30;
      const fill = Math.round(frac * width);
      const rate = done / Math.max((now - t0) / 1000, 1e-3);
      io.err(`\r\x1b[K${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(total)} MB ${mb(rate)} MB/s`);
      drawn = true;
    },
    end() {
      if (drawn) io.err('\r\x1b[K');
      drawn = false;
    },
  };
}
