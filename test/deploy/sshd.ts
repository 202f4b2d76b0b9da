/**
 * A real OpenSSH server (Debian openssh-server) for the deploy tests: started on a free loopback
 * port with throwaway host and user keys in a temporary folder, no system configuration read or
 * touched (-f CONFIG), stopped by PID. The "board" is this machine: commands run as the current
 * user with PATH = test/deploy/standin-bin (the systemctl stand-in), test/deploy/board-bin (this
 * checkout's real reef), then the usual folders.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.js';

export const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  port: number;
  pid: number;
  dir: string;
  /** A private key the server accepts. */
  userKey: string;
  /** A private key it does not. */
  strangerKey: string;
  /** Its host public key line ("ssh-ed25519 AAAA... comment"). */
  hostPub: string;
  /** The host key's fingerprint as ssh-keygen -lf prints it (independent of reef). */
  hostFingerprint: string;
  /** A known_hosts file that trusts this server. */
  knownHosts: string;
  /** What the systemctl stand-in recorded. */
  systemctlLog: string;
  user: string;
  url(path: string): string;
  /** PIDs of the per-connection sshd children (for cutting a session). */
  sessions(): number[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function keygen(path: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

/** Starts sshd; resolves once it listens (at most 10 s). */
export async function startSshd(opts: { hostKey?: string; boardPath?: string[] } = {}): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} missing: install Debian's openssh-server (scripts/setup.sh APT_PACKAGES)`);
  // sshd refuses to start without its privilege separation folder, which systemd's tmpfiles would create.
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'reef-sshd-'));
  const hostKey = opts.hostKey ?? join(dir, 'host_key');
  if (!opts.hostKey) keygen(hostKey, 'reef-test-host');
  const userKey = join(dir, 'user_key');
  const strangerKey = join(dir, 'stranger_key');
  keygen(userKey, 'reef-test-user');
  keygen(strangerKey, 'reef-test-stranger');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`));
  const port = await freePort();
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim();
  const hostFingerprint = execFileSync('ssh-keygen', ['-lf', `${hostKey}.pub`], { encoding: 'utf8' }).split(' ')[1];
  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub.split(' ').slice(0, 2).join(' ')}\n`);
  const systemctlLog = join(dir, 'systemctl.log');
  // boardPath replaces what follows the systemctl stand-in (a board without reef, or without node).
  const path = [join(REPO_ROOT, 'test/deploy/standin-bin'), ...(opts.boardPath ?? [join(REPO_ROOT, 'test/deploy/board-bin'), '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'])].join(':');
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password', 'PidFile none', 'ListenAddress 127.0.0.1',
    'Subsystem sftp internal-sftp', 'MaxStartups 50', 'MaxSessions 50',
    // SHLVL=1: bash then skips ~/.bashrc (sourced for sshd commands only at level 1), which on a dev
    // machine may take seconds (pyenv init); a board account's rc files are not what is tested.
    `SetEnv PATH=${path} REEF_STANDIN_SYSTEMCTL_LOG=${systemctlLog} SHLVL=1`, '',
  ].join('\n'));
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not listen within 10 s: ${log}`)), 10_000);
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('Server listening')) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (c) => { clearTimeout(timer); reject(new Error(`sshd exited (${c}): ${log}`)); });
  });
  const pid = child.pid as number;
  const user = userInfo().username;
  const sessions = (): number[] => {
    // Every process under the listener: the per-connection [priv] process and its unprivileged child
    // (both hold the socket), and what they run.
    const kids = (p: number): number[] => {
      try {
        return execFileSync('pgrep', ['-P', String(p)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
      } catch {
        return [];
      }
    };
    const all: number[] = [];
    const walk = (p: number): void => { for (const k of kids(p)) { all.push(k); walk(k); } };
    walk(pid);
    return all;
  };
  return {
    port, pid, dir, userKey, strangerKey, hostPub, hostFingerprint, knownHosts, systemctlLog, user,
    url: (p: string) => `ssh://${user}@127.0.0.1:${port}${p}`,
    sessions,
    stop: async () => {
      for (const s of sessions()) {
        try { process.kill(s, 'SIGKILL'); } catch { /* gone */ }
      }
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
