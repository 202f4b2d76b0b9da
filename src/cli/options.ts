/**
 * Options several commands share (runtime choice, normalisation), declared once, parsed once, with
 * the same words and the same warnings everywhere.
 */
import type { Command } from 'commander';
import type { LoadOptions, Session } from '../runtime/session.js';
import { takeTfliteLog } from '../runtime/library.js';
import type { Normalization } from '../image/preprocess.js';
import { parseNumberList, parsePositiveInt, type CliIO } from './io.js';
import { ReefError } from '../errors.js';

export interface RuntimeCliOptions {
  threads?: string;
  xnnpack: boolean;
  library?: string;
  device?: string;
  variant?: string;
  edgetpu?: string;
  watchdog?: string;
}

/** --threads N, --no-xnnpack, --library, --device, --variant. */
export function addRuntimeOptions(cmd: Command): Command {
  return cmd
    .option('--threads <n>', 'CPU threads (default: the device profile\'s)')
    .option('--no-xnnpack', 'use TFLite\'s built-in kernels instead of XNNPACK')
    .option('--library <path>', 'libtensorflowlite_c to load')
    .option('--device <id>', 'device profile to use instead of the detected one')
    .option('--variant <name>', 'for a .reef bundle: run this variant (edgetpu, cpu-int8, cpu-float)')
    .option('--edgetpu <spec>', 'Edge TPU for compiled models: usb, pci, :N, usb:N, pci:N, or off (default: any)')
    .option('--watchdog <ms>', WATCHDOG_HELP);
}

/** --mean, --std. */
export function addNormalizationOptions(cmd: Command): Command {
  return cmd
    .option('--mean <v>', 'subtracted from 0..255 pixels for float inputs (one value or one per channel, e.g. r,g,b)')
    .option('--std <v>', 'divides after the mean (one value or one per channel); default 127.5');
}

/** The LoadOptions the runtime options say; warns about thread counts. */
export function loadOptions(opts: RuntimeCliOptions, io: CliIO): LoadOptions {
  const threads = opts.threads === undefined ? undefined : parsePositiveInt('--threads', opts.threads);
  return {
    threads, xnnpack: opts.xnnpack, library: opts.library, device: opts.device, variant: opts.variant,
    ...(opts.edgetpu !== undefined ? { edgetpu: opts.edgetpu } : {}),
    ...(opts.watchdog !== undefined ? { watchdogMs: parseWatchdog(opts.watchdog) } : {}),
  };
}

/** `--watchdog MS`: 0 turns it off, else a positive integer of milliseconds. */
export function parseWatchdog(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > 86_400_000) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected an integer number of milliseconds from 0 (off) to 86400000 for --watchdog but received "${text}"`);
  }
  return n;
}

export const WATCHDOG_HELP = 'abandon an invoke that makes no progress for this long (default: 10000 on an Edge TPU, 0 = off, elsewhere)';

/** One stderr line per Edge TPU event while the command runs (device lost, CPU variant in, device back, watchdog). */
export function reportDeviceEvents(session: Session, io: CliIO): void {
  session.on('watchdog', (e) => io.err(`reef: warning: an invoke on ${e.device ?? 'the CPU'} made no progress for ${e.ms} ms and was abandoned\n`));
  session.on('device-lost', (e) => io.err(`reef: warning: Edge TPU ${e.device} lost (${e.error.code}); looking for it again\n`));
  session.on('fallback', (e) => io.err(`reef: warning: ${e.reason}\n`));
  session.on('device-restored', (e) => io.err(`reef: Edge TPU ${e.device} is back; runs go to it again\n`));
}

/** --mean/--std as given (undefined where not given). */
export function parseNormalization(opts: { mean?: string; std?: string }): Partial<Normalization> {
  return {
    ...(opts.mean === undefined ? {} : { mean: parseNumberList('--mean', opts.mean) }),
    ...(opts.std === undefined ? {} : { std: parseNumberList('--std', opts.std) }),
  };
}

/**
 * What every command says once a model is loaded: one warning line when XNNPACK was asked for but
 * refused the model; with -v, the variant, the delegate, and TFLite's own log lines.
 */
export function reportSession(session: Session, io: CliIO, verbose = false): void {
  const log = takeTfliteLog();
  reportDeviceEvents(session, io);
  if (session.xnnpack && session.delegate.name === 'none') io.err(`reef: warning: ${session.delegate.reason}\n`);
  for (const w of session.warnings) io.err(`reef: warning: ${w}\n`);
  if (!verbose) return;
  const v = session.variant;
  if (v) {
    io.err(`variant ${v.variant} (${v.file}): ${v.reason}\n`);
    for (const s of v.skipped) io.err(`  skipped ${s.variant}: ${s.reason}\n`);
  }
  const shapes = (ts: Session['inputs']): string => ts.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(', ');
  io.err(`model ${session.source}: ${shapes(session.inputs)} -> ${shapes(session.outputs)}; ` +
    `${session.delegate.name === 'xnnpack' ? 'XNNPACK' : session.delegate.name === 'edgetpu' ? session.delegate.reason : 'built-in kernels'}, ${session.threads} thread(s); ` +
    `TFLite ${session.library.version} from ${session.library.path}\n`);
  for (const line of log) io.err(`tflite: ${line}\n`);
}
