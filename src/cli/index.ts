/**
 * The reef CLI: argument parsing and printing only; every command is a thin
 * call into the layers below.
 */
import { Command, CommanderError } from 'commander';
import { reefVersion } from '../paths.js';
import { EXIT, reportError, stdio, type CliIO } from './io.js';
import { registerRun } from './run.js';
import { registerInfo } from './info.js';
import { registerInspect } from './inspect.js';
import { registerBench } from './bench.js';
import { registerEdgetpu } from './edgetpu.js';
import { registerPackage } from './package.js';
import { registerQuantize } from './quantize.js';
import { registerPrune } from './prune.js';
import { registerOptimize } from './optimize.js';
import { registerServe } from './serve.js';
import { registerConvert } from './convert.js';
import { registerRepair } from './repair.js';

function version(): string {
  return reefVersion();
}

/** Builds the command tree; pure, so tests can parse without running. */
export function buildProgram(io: CliIO = stdio): Command {
  const program = new Command();
  program
    .name('reef')
    .description('Take a trained model to a Raspberry Pi or a Coral board and run it there, fast.')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(run with --help for usage)');
  registerRun(program, io);
  registerInspect(program, io);
  registerBench(program, io);
  registerEdgetpu(program, io);
  registerPackage(program, io);
  registerQuantize(program, io);
  registerPrune(program, io);
  registerOptimize(program, io);
  registerConvert(program, io);
  registerInfo(program, io);
  registerServe(program, io);
  registerRepair(program, io);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  return program;
}

/** Runs the CLI; resolves with the exit code. One catch prints every error. */
export async function main(argv: string[], io: CliIO = stdio): Promise<number> {
  const program = buildProgram(io);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportError(e, io, json);
  }
}
