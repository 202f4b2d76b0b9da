/**
 * An SVG bar chart of per-layer SQNR (what `reef quantize --plot` writes): one bar per layer in
 * execution order, the worst layer in red, a dashed line at the output SQNR.
 */
import type { QuantizeReport } from './report.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Renders the report's per-layer SQNR as a standalone SVG document. */
export function sqnrPlotSvg(r: QuantizeReport): string {
  const layers = r.layers.filter((l) => l.sqnrDb !== null);
  const w = Math.max(480, 40 + layers.length * 14);
  const h = 300;
  const top = 40, bottom = 60, left = 50;
  const maxDb = Math.max(10, ...layers.map((l) => Math.min(80, l.sqnrDb!)));
  const y = (db: number): number => top + (h - top - bottom) * (1 - Math.max(0, Math.min(db, maxDb)) / maxDb);
  const bw = (w - left - 20) / Math.max(1, layers.length);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${left}" y="20" font-size="13">${esc(`Per-layer SQNR of int8 vs float: ${r.model} (${r.method})`)}</text>`);
  for (let db = 0; db <= maxDb; db += 10) {
    parts.push(`<line x1="${left}" x2="${w - 20}" y1="${y(db)}" y2="${y(db)}" stroke="#ddd"/><text x="${left - 6}" y="${y(db) + 4}" text-anchor="end">${db}</text>`);
  }
  parts.push(`<text x="12" y="${(h - bottom + top) / 2}" transform="rotate(-90 12 ${(h - bottom + top) / 2})" text-anchor="middle">SQNR (dB)</text>`);
  layers.forEach((l, k) => {
    const x = left + k * bw;
    const worst = r.worstLayer?.tensor === l.tensor;
    parts.push(`<rect x="${(x + 1).toFixed(1)}" y="${y(l.sqnrDb!).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${(h - bottom - y(l.sqnrDb!)).toFixed(1)}" fill="${worst ? '#d62728' : '#1f77b4'}"><title>${esc(`op ${l.op} ${l.opcode} ${l.name}: ${l.sqnrDb!.toFixed(1)} dB`)}</title></rect>`);
    parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${h - bottom + 12}" text-anchor="end" transform="rotate(-60 ${(x + bw / 2).toFixed(1)} ${h - bottom + 12})" font-size="9">${l.op}</text>`);
  });
  const out = r.outputs[0]?.sqnrDb;
  if (out !== null && out !== undefined) {
    parts.push(`<line x1="${left}" x2="${w - 20}" y1="${y(out)}" y2="${y(out)}" stroke="#2ca02c" stroke-dasharray="4 3"/><text x="${w - 22}" y="${y(out) - 4}" text-anchor="end" fill="#2ca02c">output ${out.toFixed(1)} dB</text>`);
  }
  parts.push(`<text x="${(w + left) / 2}" y="${h - 8}" text-anchor="middle">operator index</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
