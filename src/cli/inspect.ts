/** `reef inspect <model>`: I/O, operators, MACs, parameters and metadata of a .tflite or .onnx model. */
import type { Command } from 'commander';
import { basename } from 'node:path';
import { formatInspect, inspectModel, type InspectReport } from '../inspect/report.js';
import { stdio, type CliIO } from './io.js';
import { readUserFile } from '../files.js';
import { ReefError } from '../errors.js';
import { isBundle } from '../runtime/bundle.js';

export interface InspectCliOptions {
  json?: boolean;
}

/** Read the model at `path` and build its report. */
export async function inspectFile(path: string): Promise<InspectReport> {
  const bytes = await readUserFile(path, 'model');
  if (isBundle(bytes)) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected a .tflite or .onnx model for reef inspect but received a .reef bundle (${path}); inspect the model files it was made from, ` +
      'or see the variant a board runs with `reef run BUNDLE ... -v`');
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
