/** Runs the reef CLI in-process and captures what it prints. */
import { main } from '../src/cli/index.js';

export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'reef', ...args], { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}
