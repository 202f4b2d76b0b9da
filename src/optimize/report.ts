/**
 * The optimize report: one table (quality, size raw and gzip, latency, Pareto front, the
 * recommendation) and an SVG plot of quality against latency, marker area by gzip size, the
 * Pareto front joined, the recommended variant ringed.
 */
import { qualityOf, type OptimizeResult } from './optimize.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

/** The variants as a table for the terminal. */
export function formatOptimize(r: OptimizeResult, model: string): string {
  const lines = [`reef optimize: ${model} (quality: ${r.quality === 'accuracy' ? 'top-1 accuracy on the labelled samples' : 'worst output SQNR against the original'})`, ''];
  lines.push(`  ${'variant'.padEnd(28)} ${(r.quality === 'accuracy' ? 'top-1' : 'SQNR').padStart(8)} ${'agree'.padStart(7)} ${'size'.padStart(11)} ${'gzip'.padStart(11)} ${'latency'.padStart(10)} ${'Edge TPU'.padStart(14)}  pareto`);
  for (const v of r.variants) {
    const q = r.quality === 'accuracy' ? `${(100 * (v.accuracy ?? 0)).toFixed(1)}%` : `${v.sqnrDb >= 999 ? 'exact' : `${v.sqnrDb.toFixed(1)} dB`}`;
    const mark = v.name === r.recommended ? '  <- recommended' : '';
    lines.push(`  ${v.name.padEnd(28)} ${q.padStart(8)} ${(v.agreement === null ? '-' : `${(100 * v.agreement).toFixed(1)}%`).padStart(7)} ${kb(v.size).padStart(11)} ${kb(v.gzipSize).padStart(11)} ${`${v.latencyMs.toFixed(3)} ms`.padStart(10)} ${(v.edgetpu ? `${v.edgetpu.tpuOps}/${v.edgetpu.tpuOps + v.edgetpu.cpuOps} ops${v.edgetpu.segments > 1 ? ` ${v.edgetpu.segments}seg` : ''}` : '-').padStart(14)}  ${v.pareto ? '  *   ' : '      '}${mark}`);
  }
  lines.push('');
  lines.push('Edge TPU: operators the Edge TPU compiler would map (reef edgetpu check\'s prediction) of the int8 variants; float variants cannot run there.');
  lines.push(r.recommended ? `recommended: ${r.recommended} (${r.why})` : `recommended: none (${r.why})`);
  return lines.join('\n') + '\n';
}

/** Quality against latency as a standalone SVG document. */
export function optimizePlotSvg(r: OptimizeResult, model: string): string {
  const w = 640, h = 420, left = 60, right = 20, top = 40, bottom = 50;
  const qs = r.variants.map((v) => Math.min(qualityOf(v, r.quality), r.quality === 'sqnr' ? 60 : 100));
  const ls = r.variants.map((v) => v.latencyMs);
  const [q0, q1] = [Math.min(...qs), Math.max(...qs)];
  const [l0, l1] = [0, Math.max(...ls) * 1.1];
  const x = (l: number): number => left + ((w - left - right) * (l - l0)) / Math.max(1e-9, l1 - l0);
  const y = (q: number): number => top + (h - top - bottom) * (1 - (q - q0 + 1) / Math.max(1e-9, q1 - q0 + 2));
  const maxGzip = Math.max(...r.variants.map((v) => v.gzipSize));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${left}" y="20" font-size="13">${esc(`reef optimize: ${model} — ${r.quality === 'accuracy' ? 'top-1 accuracy (%)' : 'worst output SQNR (dB)'} vs latency; marker area = gzip size`)}</text>`);
  parts.push(`<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#444"/><line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#444"/>`);
  for (let k = 0; k <= 4; k++) {
    const l = l0 + ((l1 - l0) * k) / 4;
    const q = q0 - 1 + ((q1 - q0 + 2) * k) / 4;
    parts.push(`<text x="${x(l).toFixed(1)}" y="${h - bottom + 14}" text-anchor="middle">${l.toFixed(2)}</text>`);
    parts.push(`<text x="${left - 6}" y="${(y(q) + 4).toFixed(1)}" text-anchor="end">${q.toFixed(1)}</text>`);
  }
  parts.push(`<text x="${(w + left) / 2}" y="${h - 12}" text-anchor="middle">median latency (ms)</text>`);
  const front = r.variants.map((v, k) => ({ v, k })).filter((e) => e.v.pareto).sort((a, b) => a.v.latencyMs - b.v.latencyMs);
  if (front.length > 1) parts.push(`<polyline fill="none" stroke="#2ca02c" stroke-dasharray="4 3" points="${front.map((e) => `${x(ls[e.k]!).toFixed(1)},${y(qs[e.k]!).toFixed(1)}`).join(' ')}"/>`);
  r.variants.forEach((v, k) => {
    const rad = 3 + 12 * Math.sqrt(v.gzipSize / maxGzip);
    const colour = v.dtype === 'int8' ? '#1f77b4' : '#ff7f0e';
    parts.push(`<circle cx="${x(ls[k]!).toFixed(1)}" cy="${y(qs[k]!).toFixed(1)}" r="${rad.toFixed(1)}" fill="${colour}" fill-opacity="0.5" stroke="${v.pareto ? '#2ca02c' : colour}"><title>${esc(`${v.name}: ${qs[k]!.toFixed(1)}, ${v.latencyMs.toFixed(3)} ms, ${kb(v.gzipSize)} gzip`)}</title></circle>`);
    parts.push(`<text x="${(x(ls[k]!) + rad + 2).toFixed(1)}" y="${(y(qs[k]!) + 3).toFixed(1)}" font-size="9">${esc(v.name)}</text>`);
    if (v.name === r.recommended) parts.push(`<circle cx="${x(ls[k]!).toFixed(1)}" cy="${y(qs[k]!).toFixed(1)}" r="${(rad + 4).toFixed(1)}" fill="none" stroke="#d62728" stroke-width="2"/>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
