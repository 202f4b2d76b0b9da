import { readUserFile } from './files.js';
import { ReefError } from './errors.js';

/**
 * Reads a label file: one label per line (index = line number), or
 * "index label" / "index: label" lines as Coral's label files have them.
 */
export async function readLabels(path: string): Promise<string[]> {
  const text = new TextDecoder().decode(await readUserFile(path, 'labels', 'REEF_FILE_NOT_FOUND'));
  const labels = parseLabels(text);
  if (labels.length === 0) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected labels, one per line, in ${path} but it has none`);
  return labels;
}

/** Parses label text; see {@link readLabels}. */
export function parseLabels(text: string): string[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  const indexed = lines.length > 0 && lines.every((l) => /^\s*\d+[\s:]+\S/.test(l));
  if (!indexed) return lines.map((l) => l.trim());
  const out: string[] = [];
  for (const l of lines) {
    const m = /^\s*(\d+)[\s:]+(.*)$/.exec(l) as RegExpExecArray;
    out[Number(m[1])] = m[2].trim();
  }
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) out[i] = '';
  return out;
}
