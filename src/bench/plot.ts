/**
 * `--plot out.svg`: latency histogram and CDF as plain SVG text (no browser,
 * no canvas, no dependency). Several series share the axes, one colour each.
 */
import { percentileSorted, sorted } from './stats.js';

/** One series to draw. */
export interface PlotSeries {
  label: string;
  /** Values in ms. */
  values: ArrayLike<number>;
}

/** Title, bin count, size and axis scale of the plot. */
export interface PlotOptions {
  title?: string;
  /** Histogram bins over the shared range. Default 40. */
  bins?: number;
  width?: number;
  height?: number;
  /** Log-scale latency axis. Default: when the largest value is more than 20x the smallest. */
  log?: boolean;
}

const LOG_SPAN = 20;

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(x: number): string {
  return Number(x.toFixed(2)).toString();
}

/** "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Ticks 1, 2, 5 x 10^k inside [lo, hi] (lo > 0), for a log axis. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const mult of [1, 2, 5]) {
      const v = Number((mult * 10 ** e).toPrecision(12));
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

function tickLabel(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(4)).toString();
}

/**
 * Renders the histogram (top) and the empirical CDF (bottom) of the series.
 * @example
 * writeFileSync('latency.svg', plotLatency([{ label: 'run()', values: result.series.latency_ms }]));
 */
export function plotLatency(series: PlotSeries[], options: PlotOptions = {}): string {
  const data = series.filter((s) => s.values.length > 0).map((s) => ({ label: s.label, xs: sorted(s.values) }));
  if (data.length === 0) throw new RangeError('nothing to plot: every series is empty');
  const W = options.width ?? 800;
  const H = options.height ?? 640;
  const bins = options.bins ?? 40;
  const m = { left: 70, right: 45, top: 50, bottom: 50, gap: 70 };
  const panelH = (H - m.top - m.bottom - m.gap) / 2;
  const plotW = W - m.left - m.right;
  let lo = Math.min(...data.map((d) => d.xs[0]));
  let hi = Math.max(...data.map((d) => d.xs[d.xs.length - 1]));
  if (hi === lo) {
    lo -= Math.max(Math.abs(lo) * 0.05, 1e-3);
    hi += Math.max(Math.abs(hi) * 0.05, 1e-3);
  }
  // Log scale when the values span more than LOG_SPAN x (e.g. a sweep with XNNPACK on and off).
  const log = options.log ?? (lo > 0 && hi / lo > LOG_SPAN);
  const fwd = log ? Math.log10 : (v: number): number => v;
  const inv = log ? (v: number): number => 10 ** v : (v: number): number => v;
  let flo = fwd(lo);
  let fhi = fwd(hi);
  const pad = (fhi - flo) * 0.02;
  flo = log ? flo - pad : Math.max(0, flo - pad);
  fhi += pad;
  lo = inv(flo);
  hi = inv(fhi);
  const sx = (v: number): number => m.left + ((fwd(v) - flo) / (fhi - flo)) * plotW;
  const w = (fhi - flo) / bins;
  const edge = (b: number): number => inv(flo + b * w);
  const counts = data.map((d) => {
    const c = new Array<number>(bins).fill(0);
    for (const x of d.xs) c[Math.min(bins - 1, Math.max(0, Math.floor((fwd(x) - flo) / w)))]++;
    return c;
  });
  const maxCount = Math.max(...counts.flat());
  const histTop = m.top;
  const cdfTop = m.top + panelH + m.gap;
  const syHist = (c: number): number => histTop + panelH - (c / maxCount) * panelH;
  const syCdf = (p: number): number => cdfTop + panelH - p * panelH;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (options.title) out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(options.title)}</text>`);

  const xTicks = log ? logTicks(lo, hi) : niceTicks(lo, hi);
  for (const [top, name] of [[histTop, 'histogram'], [cdfTop, 'CDF']] as const) {
    out.push(`<g class="${name}">`);
    out.push(`<rect x="${m.left}" y="${num(top)}" width="${num(plotW)}" height="${num(panelH)}" fill="none" stroke="#888"/>`);
    for (const t of xTicks) {
      const x = num(sx(t));
      out.push(`<line x1="${x}" y1="${num(top + panelH)}" x2="${x}" y2="${num(top + panelH + 5)}" stroke="#888"/>`);
      out.push(`<text x="${x}" y="${num(top + panelH + 18)}" text-anchor="middle">${tickLabel(t)}</text>`);
    }
    out.push(`<text x="${m.left + plotW / 2}" y="${num(top + panelH + 36)}" text-anchor="middle">latency (ms${log ? ', log scale' : ''})</text>`);
    out.push('</g>');
  }
  // Histogram: y ticks and one step outline (lightly filled) per series.
  for (const t of niceTicks(0, maxCount, 4).filter((v) => Number.isInteger(v))) {
    const y = num(syHist(t));
    out.push(`<line x1="${m.left - 5}" y1="${y}" x2="${m.left}" y2="${y}" stroke="#888"/><text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${t}</text>`);
  }
  out.push(`<text transform="translate(18 ${num(histTop + panelH / 2)}) rotate(-90)" text-anchor="middle">runs</text>`);
  counts.forEach((c, i) => {
    const color = COLORS[i % COLORS.length];
    const pts: string[] = [`${num(sx(lo))},${num(syHist(0))}`];
    c.forEach((n, b) => {
      pts.push(`${num(sx(edge(b)))},${num(syHist(n))}`, `${num(sx(edge(b + 1)))},${num(syHist(n))}`);
    });
    pts.push(`${num(sx(hi))},${num(syHist(0))}`);
    out.push(`<polygon class="hist" points="${pts.join(' ')}" fill="${color}" fill-opacity="0.25" stroke="${color}"/>`);
  });
  // CDF: y gridlines at the reported percentiles, one step line per series.
  for (const p of [0, 0.25, 0.5, 0.75, 1]) {
    const y = num(syCdf(p));
    out.push(`<text x="${m.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${p}</text>`);
  }
  for (const [p, name] of [[0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99']] as const) {
    const y = num(syCdf(p));
    out.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + plotW}" y2="${y}" stroke="#ccc" stroke-dasharray="4 3"/><text x="${m.left + plotW + 4}" y="${y}" dominant-baseline="middle" fill="#666" font-size="10">${name}</text>`);
  }
  out.push(`<text transform="translate(18 ${num(cdfTop + panelH / 2)}) rotate(-90)" text-anchor="middle">fraction of runs</text>`);
  data.forEach((d, i) => {
    const color = COLORS[i % COLORS.length];
    const n = d.xs.length;
    const pts: string[] = [`${num(sx(d.xs[0]))},${num(syCdf(0))}`];
    for (let k = 0; k < n; k++) {
      pts.push(`${num(sx(d.xs[k]))},${num(syCdf(k / n))}`, `${num(sx(d.xs[k]))},${num(syCdf((k + 1) / n))}`);
    }
    out.push(`<polyline class="cdf" points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
  });
  // Legend with p50 / p99 per series.
  const legend = data.map((d) => `${d.label}: p50 ${tickLabel(percentileSorted(d.xs, 0.5))} ms, p99 ${tickLabel(percentileSorted(d.xs, 0.99))} ms (n=${d.xs.length})`);
  const legendW = 18 + Math.max(...legend.map((t) => t.length)) * 6.6;
  const legendX = Math.max(m.left + 4, m.left + plotW - 8 - legendW);
  out.push(`<rect x="${num(legendX - 4)}" y="${histTop + 2}" width="${num(legendW + 8)}" height="${data.length * 16 + 6}" fill="white" fill-opacity="0.85"/>`);
  data.forEach((d, i) => {
    const y = histTop + 14 + i * 16;
    const x = legendX;
    out.push(`<rect x="${num(x)}" y="${y - 9}" width="12" height="10" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${num(x + 18)}" y="${y}">${esc(legend[i])}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
