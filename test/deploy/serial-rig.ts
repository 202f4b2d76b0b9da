/**
 * A serial "cable" for the deploy tests and bench, all real processes stopped by PID:
 *
 *   host (reef deploy) <-> A1 [socat pty pair] A2 <-> fault-injector <-> B1 [socat pty pair] B2 <-> reef agent
 *
 * `socat -d -d pty,raw,echo=0 pty,raw,echo=0` makes each pair (Debian socat); the agent is this
 * checkout's real `reef agent` (bin/reef.js) as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../shared.js';

export interface SerialRig {
  /** The host's end: use as serial://HOSTDEV?baud=N. */
  hostDev: string;
  /** The agent's deploy folder. */
  boardDir: string;
  /** Sends a command to the injector; resolves with its answer line. */
  injector(cmd: string): Promise<string>;
  agentLog(): string;
  stop(): Promise<void>;
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((res, rej) => {
    const t = setInterval(() => {
      if (cond()) { clearInterval(t); res(); } else if (Date.now() > end) { clearInterval(t); rej(new Error(`timed out waiting for ${what}`)); }
    }, 20);
  });
}

async function kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

export async function startRig(opts: { baud?: number; injectorBaud?: number; seed?: number } = {}): Promise<SerialRig> {
  if (!existsSync('/usr/bin/socat')) throw new Error('/usr/bin/socat missing: install Debian\'s socat (scripts/setup.sh APT_PACKAGES)');
  const dir = mkdtempSync(join(tmpdir(), 'reef-serial-'));
  const procs: ChildProcess[] = [];
  const pair = async (x: string, y: string): Promise<void> => {
    const p = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${join(dir, x)}`, `pty,raw,echo=0,link=${join(dir, y)}`], { stdio: 'ignore' });
    procs.push(p);
    await waitFor(() => existsSync(join(dir, x)) && existsSync(join(dir, y)), 5000, `socat ${x}/${y}`);
  };
  try {
    await pair('a1', 'a2');
    await pair('b1', 'b2');
    const inj = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/deploy/fault-injector.ts'), join(dir, 'a2'), join(dir, 'b1'),
      '--baud', String(opts.injectorBaud ?? 0), '--seed', String(opts.seed ?? 7)], { stdio: ['pipe', 'pipe', 'inherit'], cwd: REPO_ROOT });
    procs.push(inj);
    const lines: string[] = [];
    const waiting: Array<(l: string) => void> = [];
    createInterface({ input: inj.stdout! }).on('line', (l) => { const w = waiting.shift(); if (w) w(l); else lines.push(l); });
    await new Promise<void>((res, rej) => {
      waiting.push((l) => (l === 'ready' ? res() : rej(new Error(`injector said ${l}`))));
      inj.once('exit', (c) => rej(new Error(`fault injector exited (${c})`)));
    });
    const boardDir = join(dir, 'board');
    let log = '';
    const agent = spawn(process.execPath, [join(REPO_ROOT, 'bin/reef.js'), 'agent', '--serial', join(dir, 'b2'), '--baud', String(opts.baud ?? 115200), '--dir', boardDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(agent);
    agent.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    agent.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    await waitFor(() => log.includes('listening on'), 15_000, `reef agent (log: ${log})`);
    return {
      hostDev: join(dir, 'a1'),
      boardDir,
      injector: (cmd) => new Promise((res) => { waiting.push(res); inj.stdin!.write(cmd + '\n'); }),
      agentLog: () => log,
      stop: async () => {
        for (const p of procs.reverse()) await kill(p);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    for (const p of procs.reverse()) await kill(p);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
