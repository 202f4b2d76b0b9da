/**
 * `reef agent --serial DEV`: runs on the board, answers `reef deploy ... serial://...` until stopped.
 */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../agent/agent.js';
import { ReefError } from '../errors.js';
import { BAUD_RATES } from '../deploy/target.js';
import type { CliIO } from './io.js';

interface AgentCliOptions { serial?: string; baud: string; dir?: string; json?: boolean }

export async function agentCommand(opts: AgentCliOptions, io: CliIO, until: Promise<void> = signalled()): Promise<void> {
  if (!opts.serial) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected --serial DEVICE (e.g. /dev/ttyAMA0) but received none');
  const baud = Number(opts.baud);
  if (!(BAUD_RATES as readonly number[]).includes(baud)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one of ${BAUD_RATES.join(', ')} for --baud but received "${opts.baud}"`);
  const dir = opts.dir ?? join(homedir(), 'reef');
  const agent = await Agent.start({ device: opts.serial, baud, dir, log: (l) => io.err(`reef agent: ${l}\n`) });
  io.out(opts.json ? JSON.stringify({ listening: opts.serial, baud, dir: agent.dir }) + '\n' : `reef agent: listening on ${opts.serial} at ${baud} baud, deploy folder ${agent.dir}\n`);
  await until;
  await agent.stop();
}

function signalled(): Promise<void> {
  return new Promise((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
}

export function registerAgent(program: Command, io: CliIO): void {
  program
    .command('agent')
    .description('on the board: answer `reef deploy BUNDLE serial:///dev/ttyX` over a serial line (UART, USB adapter)')
    .option('--serial <device>', 'serial device, e.g. /dev/ttyAMA0 or /dev/ttyGS0')
    .option('--baud <n>', 'baud rate (the host\'s ?baud= must match)', '115200')
    .option('--dir <dir>', 'deploy folder (default ~/reef)')
    .option('--json', 'print the listening line as JSON')
    .action(async (opts: AgentCliOptions) => { await agentCommand(opts, io); });
}
