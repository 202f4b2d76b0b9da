/**
 * `reef repair <model> -o <out.tflite>`: fix the known converter defects that have one
 * unambiguous fix (src/model/tflite/defects.ts) and list what changed.
 */
import type { Command } from 'commander';
import { describeDefect, repairTflite, type ModelDefect } from '../model/tflite/defects.js';
import { readUserFile } from '../files.js';
import { checkOutputs, stdio, writeAtomic, type CliIO } from './io.js';

export interface RepairCliOptions {
  output: string;
  json?: boolean;
}

/** What `reef repair --json` prints. */
export interface RepairReport {
  model: string;
  output: string;
  bytes: number;
  repaired: ModelDefect[];
}

/** The command's work, separate from commander so tests can call it. */
export async function repairCommand(path: string, opts: RepairCliOptions, io: CliIO = stdio): Promise<RepairReport> {
  await checkOutputs([['-o/--output', opts.output]], [['the model', path]]);
  const { bytes, repaired } = repairTflite(await readUserFile(path, 'model'), path);
  await writeAtomic([[opts.output, bytes]]);
  const report: RepairReport = { model: path, output: opts.output, bytes: bytes.length, repaired };
  if (opts.json) {
    io.out(JSON.stringify(report, null, 2) + '\n');
  } else {
    io.out(`${path}: repaired ${repaired.length} tensor${repaired.length === 1 ? '' : 's'}\n`);
    for (const d of repaired) io.out(`  ${describeDefect(d)}\n`);
    io.out(`wrote ${opts.output} (${bytes.length} bytes)\n`);
  }
  return report;
}

/** Adds `repair <model> -o <out> [--json]` to the program. */
export function registerRepair(program: Command, io: CliIO = stdio): void {
  program
    .command('repair')
    .description('fix known converter defects TensorFlow Lite refuses (e.g. quantized_dimension out of range on 1-D bias tensors)')
    .argument('<model>', 'path to a .tflite model')
    .requiredOption('-o, --output <file>', 'where to write the repaired model')
    .option('--json', 'print what was changed as JSON')
    .action(async (model: string, opts: RepairCliOptions) => {
      await repairCommand(model, opts, io);
    });
}
