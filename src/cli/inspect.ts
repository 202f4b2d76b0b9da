/** `reef inspect <model>`: I/O, operators, MACs, parameters and metadata of a .tflite or .onnx model. */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ReefError } from '../errors.js';
import { formatInspect, inspectModel, type InspectReport } from '../model/inspect.js';
import { stdio, type CliIO } from './io.js';

export interface InspectCliOptions {
  json?: boolean;
}

/** Read the model at `path` and build its report. */
export async function inspectFile(path: string): Promise<InspectReport> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ReefError('REEF_MODEL_NOT_FOUND', `Cannot read model ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return inspectModel(bytes, basename(path));
}

/** The command's work, separate from commander so tests can call it. */
export async function inspectCommand(path: string, opts: InspectCliOptions, io: CliIO = stdio): Promise<void> {
  const report = await inspectFile(path);
  io.out(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatInspect(report));
}

/** Adds `inspect <model> [--json]` to the program. */
export function registerInspect(program: Command, io: CliIO = stdio): void {
  program
    .command('inspect')
    .description('show a model\'s inputs, outputs, operators, MACs, parameters and metadata (.tflite or .onnx)')
    .argument('<model>', 'path to a .tflite or .onnx model')
    .option('--json', 'print the report as JSON')
    .action(async (model: string, opts: InspectCliOptions) => {
      await inspectCommand(model, opts, io);
    });
}
