/**
 * `reef edgetpu check <model>` and `reef edgetpu compile <model>`: argument parsing and printing
 * only; the work is in src/edgetpu.
 */
import type { Command } from 'commander';
import { ReefError } from '../errors.js';
import { checkEdgetpu, checkReportJson, formatCheckReport, type EdgetpuCheckReport } from '../edgetpu/check.js';
import { compareWithLog } from '../edgetpu/compiler_log.js';
import { compileEdgetpu, COMPILER_INSTALL, COMPILER_NAME, findCompiler, type CompileResult } from '../edgetpu/compiler.js';
import { DEFAULT_COMPILER_VERSION } from '../edgetpu/rules.js';
import { parsePositiveInt, type CliIO } from './io.js';
import { readUserFile } from '../files.js';

interface CheckCliOptions { json?: boolean; compilerVersion?: string }
interface CompileCliOptions { json?: boolean; outDir?: string; minRuntime?: string; numSegments?: string; timeout?: string; compiler?: string }

const readModel = (path: string): Promise<Uint8Array> => readUserFile(path, 'model');

/** `reef edgetpu check`. */
export async function edgetpuCheckCommand(model: string, opts: CheckCliOptions, io: CliIO): Promise<EdgetpuCheckReport> {
  const compilerVersion = opts.compilerVersion === undefined ? DEFAULT_COMPILER_VERSION : parsePositiveInt('--compiler-version', opts.compilerVersion);
  const report = checkEdgetpu(await readModel(model), { compilerVersion });
  io.out(opts.json ? JSON.stringify(checkReportJson(report)) + '\n' : formatCheckReport(report, model));
  return report;
}

function compileSummary(r: CompileResult, report: EdgetpuCheckReport): { text: string; json: Record<string, unknown> } {
  const cmp = compareWithLog(report, r.log ?? r.console);
  const predicted = report.operators.map((o) => o.mapped);
  const opDiffs = r.split ? predicted.flatMap((m, i) => (m !== r.split!.mapped[i] ? [i] : [])) : [];
  const agrees = cmp.agrees && opDiffs.length === 0;
  const lines = [
    `${COMPILER_NAME} ${r.console.version ?? '(unknown version)'}: ${r.outputModels.join(', ')}`,
    `On the Edge TPU: ${r.console.tpuOperations ?? r.split?.mapped.filter(Boolean).length ?? '?'} (predicted ${report.tpuOps}); on the CPU: ${r.console.cpuOperations ?? '?'} (predicted ${report.cpuOps})`,
  ];
  if (r.console.onChipUsedBytes !== undefined) {
    lines.push(`On-chip parameters: ${r.console.onChipUsedBytes} bytes, off-chip: ${r.console.offChipBytes ?? 0} bytes (estimated ${report.memory.onChipBytes} / ${report.memory.offChipBytes})`);
  }
  lines.push(agrees ? 'The compiler did what reef predicted.' : 'The compiler differs from the prediction:');
  for (const row of cmp.rows.filter((x) => x.predicted !== x.actual)) lines.push(`  ${row.opcode.padEnd(28)} ${row.status}: predicted ${row.predicted}, compiler ${row.actual}`);
  for (const i of opDiffs) lines.push(`  operator #${i} ${report.operators[i]!.opcode}: predicted ${predicted[i] ? 'TPU' : 'CPU'}, compiled ${predicted[i] ? 'CPU' : 'TPU'}`);
  return {
    text: lines.join('\n') + '\n',
    json: {
      compiler: r.compiler, version: r.console.version ?? null, output_models: r.outputModels, log_file: r.logFile ?? null,
      tpu_ops: r.console.tpuOperations ?? null, cpu_ops: r.console.cpuOperations ?? null,
      on_chip_bytes: r.console.onChipUsedBytes ?? null, off_chip_bytes: r.console.offChipBytes ?? null,
      edgetpu_subgraphs: r.console.edgetpuSubgraphs ?? null, operators: (r.log ?? r.console).operators,
      agrees, differences: cmp.rows.filter((x) => x.predicted !== x.actual), operator_differences: opDiffs,
    },
  };
}

/** `reef edgetpu compile`: the check first, then the compiler if installed. */
export async function edgetpuCompileCommand(model: string, opts: CompileCliOptions, io: CliIO): Promise<void> {
  // Options are checked before anything else, so a bad value is reported whether or not the compiler is installed.
  const flags = {
    ...(opts.outDir !== undefined ? { outDir: opts.outDir } : {}),
    ...(opts.minRuntime !== undefined ? { minRuntimeVersion: parsePositiveInt('--min-runtime', opts.minRuntime) } : {}),
    ...(opts.numSegments !== undefined ? { numSegments: parsePositiveInt('--num-segments', opts.numSegments) } : {}),
    ...(opts.timeout !== undefined ? { timeoutSeconds: parsePositiveInt('--timeout', opts.timeout) } : {}),
  };
  const bytes = await readModel(model);
  const compiler = findCompiler(process.env.PATH, opts.compiler);
  if (!compiler) {
    const report = checkEdgetpu(bytes);
    if (opts.json) io.out(JSON.stringify({ check: checkReportJson(report), compile: null }) + '\n');
    else io.out(formatCheckReport(report, model));
    throw new ReefError('REEF_COMPILER_NOT_FOUND', `${COMPILER_NAME} was not found on PATH (the prediction is printed above).\n${COMPILER_INSTALL}`);
  }
  const r = await compileEdgetpu(model, { compiler, ...flags });
  const report = checkEdgetpu(bytes, { compilerVersion: r.console.major ?? DEFAULT_COMPILER_VERSION });
  const s = compileSummary(r, report);
  if (opts.json) io.out(JSON.stringify({ check: checkReportJson(report), compile: s.json }) + '\n');
  else io.out(formatCheckReport(report, model) + '\n' + s.text);
}

/** Registers `reef edgetpu check` and `reef edgetpu compile`. */
export function registerEdgetpu(program: Command, io: CliIO): void {
  const edgetpu = program.command('edgetpu').description('Edge TPU: check a model, predict the TPU/CPU split, run edgetpu_compiler');
  edgetpu
    .command('check')
    .description('predict, operator by operator, what edgetpu_compiler will map to the Edge TPU')
    .argument('<model>', 'a full-integer .tflite model (the compiler\'s input)')
    .option('--compiler-version <n>', `compiler major version to predict for (default ${DEFAULT_COMPILER_VERSION})`)
    .option('--json', 'print JSON: {operators:[{index,opcode,mapped,reason}],tpu_ops,cpu_ops,...}')
    .action(async (model: string, opts: CheckCliOptions) => { await edgetpuCheckCommand(model, opts, io); });
  edgetpu
    .command('compile')
    .description('check, then run edgetpu_compiler (when installed) and compare its result with the prediction')
    .argument('<model>', 'a full-integer .tflite model')
    .option('-o, --out-dir <dir>', 'where to write X_edgetpu.tflite and X_edgetpu.log (default: beside the model)')
    .option('-m, --min-runtime <n>', 'oldest Edge TPU runtime the model must run on, e.g. 13 (passed as -m/--min_runtime_version)')
    .option('--num-segments <n>', 'split into n segments for pipelining (--num_segments)')
    .option('--timeout <s>', 'compiler timeout in seconds (default 180)')
    .option('--compiler <path>', 'the edgetpu_compiler binary (default: found on PATH)')
    .option('--json', 'print JSON: {check, compile}')
    .action(async (model: string, opts: CompileCliOptions) => edgetpuCompileCommand(model, opts, io));
  for (const c of edgetpu.commands) c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
}
