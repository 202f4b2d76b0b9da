/**
 * Running edgetpu_compiler when it is installed: find it on PATH, run it with a timeout, parse
 * what it printed and the .log it wrote, and read the compiled model's real split.
 *
 * The compiler is an x86-64 Linux binary from Coral's apt repository; {@link COMPILER_INSTALL}
 * says how to get it. reef never downloads it.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, delimiter, join, resolve } from 'node:path';
import { ReefError } from '../errors.js';
import { readTflite } from '../model/tflite/reader.js';
import { compiledSplit, type CompiledSplit } from './compiled.js';
import { parseCompilerLog, type CompilerLog } from './compiler_log.js';

export const COMPILER_NAME = 'edgetpu_compiler';

/** How to install the compiler (Coral's instructions; x86-64 Debian/Ubuntu only). */
export const COMPILER_INSTALL = [
  'edgetpu_compiler runs on x86-64 Debian or Ubuntu only. Install it from Coral\'s apt repository:',
  '  curl https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo apt-key add -',
  '  echo "deb https://packages.cloud.google.com/apt coral-edgetpu-stable main" | sudo tee /etc/apt/sources.list.d/coral-edgetpu.list',
  '  sudo apt-get update && sudo apt-get install edgetpu-compiler',
  'On other machines (ARM boards, macOS, Windows), run it in an x86-64 Debian container or in Coral\'s Colab notebook, then `reef package --edgetpu X_edgetpu.tflite ...`.',
].join('\n');

/**
 * The compiler's path: `explicit` if given, else the first executable `edgetpu_compiler` on PATH.
 * @returns undefined when there is none.
 */
export function findCompiler(pathEnv: string | undefined = process.env.PATH, explicit?: string): string | undefined {
  const candidates = explicit ? [explicit] : (pathEnv ?? '').split(delimiter).filter(Boolean).map((d) => join(d, COMPILER_NAME));
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) { accessSync(c, constants.X_OK); return resolve(c); }
    } catch { /* not there or not executable */ }
  }
  return undefined;
}

export interface CompileOptions {
  /** Directory for the compiled model and its .log (default: the model's directory). */
  outDir?: string;
  /** --min_runtime_version. */
  minRuntimeVersion?: number;
  /** --num_segments (pipelining over several Edge TPUs). */
  numSegments?: number;
  /** --timeout_sec of the compiler; reef kills it 10 s after that. Default 180. */
  timeoutSeconds?: number;
  /** Compiler binary (default: found on PATH). */
  compiler?: string;
  /** PATH to search (default process.env.PATH). */
  pathEnv?: string;
}

export interface CompileResult {
  compiler: string;
  args: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Parsed console output. */
  console: CompilerLog;
  /** Parsed .log file, when the compiler wrote one. */
  log?: CompilerLog;
  logFile?: string;
  /** The compiled model(s) written. */
  outputModels: string[];
  /** Real split read from the compiled model (single-segment compilations). */
  split?: CompiledSplit;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolveRun({ code: code ?? -1, stdout, stderr, timedOut }); });
  });
}

/**
 * Compile a model with edgetpu_compiler.
 *
 * @example
 * const r = await compileEdgetpu('model.tflite', { outDir: 'out' });
 * console.log(r.console.tpuOperations, r.outputModels);
 * @throws ReefError REEF_INVALID_ARGUMENT for a minRuntimeVersion, numSegments or timeoutSeconds that is not a
 * positive integer, REEF_COMPILER_NOT_FOUND when the compiler is not installed (the message says
 * how to install it), REEF_MODEL_NOT_FOUND when the model does not exist, REEF_OUTPUT_UNWRITABLE
 * when outDir cannot be written, REEF_COMPILER_FAILED when the compiler fails, cannot start or
 * times out (the message carries its own words). A failed run leaves no file in outDir.
 */
export async function compileEdgetpu(modelPath: string, opts: CompileOptions = {}): Promise<CompileResult> {
  for (const [name, v] of [['minRuntimeVersion', opts.minRuntimeVersion], ['numSegments', opts.numSegments], ['timeoutSeconds', opts.timeoutSeconds]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a positive integer for ${name} but received ${String(v)}`);
    }
  }
  if (!existsSync(modelPath)) throw new ReefError('REEF_MODEL_NOT_FOUND', `Model not found: ${modelPath}`);
  const compiler = findCompiler(opts.pathEnv, opts.compiler);
  if (!compiler) throw new ReefError('REEF_COMPILER_NOT_FOUND', `${COMPILER_NAME} was not found on PATH.\n${COMPILER_INSTALL}`);
  const outDir = resolve(opts.outDir ?? resolve(modelPath, '..'));
  // The compiler writes into a private folder; its files move to outDir only when it succeeded,
  // so a failed or killed run leaves nothing, and no file of an earlier run is taken for this one's.
  let work: string;
  try {
    work = mkdtempSync(join(outDir, '.reef-compile-'));
  } catch (e) {
    throw new ReefError('REEF_OUTPUT_UNWRITABLE', `cannot write into ${outDir}: ${(e as Error).message}`);
  }
  try {
    const timeout = opts.timeoutSeconds ?? 180;
    const args = ['--show_operations', '--out_dir', work, '--timeout_sec', String(timeout)];
    if (opts.minRuntimeVersion !== undefined) args.push('--min_runtime_version', String(opts.minRuntimeVersion));
    if (opts.numSegments !== undefined) args.push('--num_segments', String(opts.numSegments));
    args.push(resolve(modelPath));
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run(compiler, args, (timeout + 10) * 1000);
    } catch (e) {
      throw new ReefError('REEF_COMPILER_FAILED', `${COMPILER_NAME} (${compiler}) could not be started: ${(e as Error).message}`);
    }
    if (r.timedOut) throw new ReefError('REEF_COMPILER_FAILED', `${COMPILER_NAME} did not finish within ${timeout + 10} s and was stopped`);
    const parsed = parseCompilerLog(r.stdout + '\n' + r.stderr);
    const stem = basename(modelPath).replace(/\.tflite$/, '');
    const segments = opts.numSegments ?? 1;
    const names = segments > 1
      ? Array.from({ length: segments }, (_, i) => `${stem}_segment_${i}_of_${segments}_edgetpu.tflite`)
      : [`${stem}_edgetpu.tflite`];
    const made = names.filter((f) => existsSync(join(work, f)));
    if (r.code !== 0 || !parsed.succeeded || made.length === 0) {
      const why = parsed.errors.length > 0 ? parsed.errors.join('; ') : (r.stderr.trim() || r.stdout.trim().split('\n').pop() || `exit code ${r.code}`);
      throw new ReefError('REEF_COMPILER_FAILED', `${COMPILER_NAME} failed on ${modelPath}: ${why}`);
    }
    const logName = `${stem}_edgetpu.log`;
    for (const f of [...made, ...(existsSync(join(work, logName)) ? [logName] : [])]) renameSync(join(work, f), join(outDir, f));
    const outputModels = made.map((f) => join(outDir, f));
    const logFile = join(outDir, logName);
    const log = existsSync(join(outDir, logName)) && made.length > 0 ? parseCompilerLog(readFileSync(logFile, 'utf8')) : undefined;
    const result: CompileResult = { compiler, args, exitCode: r.code, stdout: r.stdout, stderr: r.stderr, console: parsed, outputModels };
    if (log) { result.log = log; result.logFile = logFile; }
    if (segments === 1) {
      result.split = compiledSplit(readTflite(new Uint8Array(readFileSync(modelPath))), readTflite(new Uint8Array(readFileSync(outputModels[0]!))));
    }
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
