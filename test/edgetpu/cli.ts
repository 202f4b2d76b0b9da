/** Runs reef sub-commands registered on a fresh program, the way src/cli/index.ts main() does. */
import { Command, CommanderError } from 'commander';
import { reportError, type CliIO } from '../../src/cli/io.js';

export async function runCli(register: (p: Command, io: CliIO) => void, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const io: CliIO = { out: (s) => { out += s; }, err: (s) => { err += s; } };
  const program = new Command().name('reef').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  register(program, io);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  let code = 0;
  try {
    await program.parseAsync(['node', 'reef', ...args]);
  } catch (e) {
    code = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : reportError(e, io, args.includes('--json'));
  }
  return { code, out, err };
}
