/**
 * `reef doctor`: what runs here, what is missing, and the fix for each.
 */
import type { Command } from 'commander';
import { doctor, type DoctorReport, type RuntimeFacts } from '../doctor/doctor.js';
import { ensureLibrary } from '../runtime/library.js';
import { addonCandidates, addonFix, loadedAddonPath, native } from '../native.js';
import { listEdgetpuDevices, loadEdgetpuRuntime } from '../runtime/edgetpu.js';
import type { CliIO } from './io.js';

interface DoctorCliOptions { json?: boolean; root?: string }

/** What the runtime reports on this host; nothing here throws. */
export function runtimeFacts(): RuntimeFacts {
  const facts: RuntimeFacts = { node: process.versions.node, tflite: null, edgetpu: null, devices: [] };
  try {
    native();
    const path = loadedAddonPath() ?? null;
    facts.addon = { path, source: addonCandidates().find((c) => c.path === path)?.source };
  } catch (e) {
    facts.addon = { path: null, error: (e as Error).message.replace(/ Fix: .*$/, ''), fix: addonFix() };
    return facts;
  }
  try {
    facts.tflite = ensureLibrary();
  } catch (e) {
    facts.tfliteError = (e as Error).message;
  }
  try {
    facts.edgetpu = loadEdgetpuRuntime();
    if (facts.edgetpu) facts.devices = listEdgetpuDevices();
  } catch { /* reported as missing */ }
  return facts;
}

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', info: 'info' } as const;

export function formatDoctor(r: DoctorReport): string {
  const lines = r.findings.map((f) => `${MARK[f.status]}  ${f.check.padEnd(17)} ${f.detail}${f.fix ? `\n      ${''.padEnd(17)} fix: ${f.fix}` : ''}`);
  lines.push('', `${r.summary.ok} ok, ${r.summary.warn} warning(s), ${r.summary.fail} failure(s)`);
  return lines.join('\n') + '\n';
}

export function doctorCommand(opts: DoctorCliOptions, io: CliIO): DoctorReport {
  const report = doctor(opts.root ?? '/', runtimeFacts());
  io.out(opts.json ? JSON.stringify(report) + '\n' : formatDoctor(report));
  return report;
}

export function registerDoctor(program: Command, io: CliIO): void {
  program
    .command('doctor')
    .description('check this board for reef and the Coral Edge TPU: libraries, devices, USB speed, permissions, temperature, governor')
    .option('--json', 'print JSON ({ findings: [{ check, status, detail, fix? }], summary })')
    .action((opts: DoctorCliOptions) => { doctorCommand(opts, io); });
}
