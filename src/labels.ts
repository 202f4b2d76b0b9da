import { readFile } from 'node:fs/promises';
import { ReefError } from './errors.js';

/**
 * Reads a label file: one label per line (index = line number), or
 * "index label" / "index: label" lines as Coral's label files have them.
 */
export async function readLabels(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read labels ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseLabels(text);
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
