/** Shared test helpers for test/bench: the shared models and a CLI harness. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerBench } from '../../src/cli/bench.js';
import { reportError, type CliIO } from '../../src/cli/io.js';

const SHARED = process.env.REEF_SHARED ?? join(import.meta.dirname, '..', '..', '..', 'shared');

/** Path of a file under shared/; throws naming the path when it is missing (never a silent skip). */
export function sharedPath(rel: string): string {
  const p = join(SHARED, rel);
  if (!existsSync(p)) throw new Error(`shared data missing: ${p} (set REEF_SHARED to the shared/ folder)`);
  return p;
}

/** Path of a shared model (shared/models/<rel>); throws naming the path when it is missing. */
export function sharedModel(rel: string): string {
  return sharedPath(join('models', rel));
}

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'bench');

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `reef bench ...args` through registerBench, with the one catch the real CLI has. */
export async function runBench(args: string[]): Promise<CliRun> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const program = new Command().name('reef').exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  registerBench(program, io);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  let code = 0;
  try {
    await program.parseAsync(['node', 'reef', 'bench', ...args]);
  } catch (e) {
    code = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : reportError(e, io, args.includes('--json'));
  }
  return { code, out, err };
}
