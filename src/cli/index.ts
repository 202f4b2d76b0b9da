/**
 * The reef CLI: argument parsing and printing only; every command is a thin
 * call into the layers below.
 */
import { Command, CommanderError } from 'commander';
import { reefVersion } from '../paths.js';
import { EXIT, reportError, reportUsageError, stdio, type CliIO } from './io.js';
import { registerRun } from './run.js';
import { registerInfo } from './info.js';
import { registerInspect } from './inspect.js';
import { registerBench } from './bench.js';
import { registerEdgetpu } from './edgetpu.js';
import { registerPackage } from './package.js';
import { registerQuantize } from './quantize.js';
import { registerEval } from './eval.js';
import { registerCamera } from './camera.js';
import { registerDoctor } from './doctor.js';
import { registerPrune } from './prune.js';
import { registerOptimize } from './optimize.js';
import { registerServe } from './serve.js';
import { registerConvert } from './convert.js';
import { registerRepair } from './repair.js';
import { registerDeploy } from './deploy.js';
import { registerAgent } from './agent.js';

function version(): string {
  return reefVersion();
}

/** Builds the command tree; pure, so tests can parse without running. */
export function buildProgram(io: CliIO = stdio, options: { json?: boolean } = {}): Command {
  // commander's own usage messages are not printed: main() prints them in reef's format (JSON under --json).
  void options;
  const writeErr = (): void => undefined;
  const program = new Command();
  program
    .name('reef')
    .description('Take a trained model to a Raspberry Pi or a Coral board and run it there, fast.')
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr })
    .showHelpAfterError(false);
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
  registerEval(program, io);
  registerCamera(program, io);
  registerDoctor(program, io);
  registerServe(program, io);
  registerRepair(program, io);
  registerDeploy(program, io);
  registerAgent(program, io);
  const configure = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr });
    c.showHelpAfterError(false);
    c.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Runs the CLI; resolves with the exit code. One catch prints every error. */
export async function main(argv: string[], io: CliIO = stdio): Promise<number> {
  const json = argv.includes('--json');
  const program = buildProgram(io, { json });
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.ok;
      if (e.code === 'commander.help') {
        // `reef` alone (or a group without its subcommand): the help, as a usage error.
        io.err(program.helpInformation());
        return EXIT.usage;
      }
      return reportUsageError(e.message, io, json);
    }
    return reportError(e, io, json);
  }
}
