/**
 * One SSH connection to a board (ssh2): host key checked against known_hosts before anything is
 * sent, key or ssh-agent authentication, commands, and one SFTP upload with progress. Every failure
 * becomes a ReefError with a REEF_DEPLOY_* code.
 */
import { Client, type AgentAuthMethod, type PublicKeyAuthMethod, type SFTPWrapper } from 'ssh2';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ReefError } from '../errors.js';
import { checkHostKey, readKnownHosts, recordHostKey } from './knownhosts.js';
import { knownHostsName, type SshTarget } from './target.js';

export interface SshOptions {
  /** known_hosts file (default ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** Trust and record a host key known_hosts does not have yet (never a changed one). */
  acceptNew?: boolean;
  /** Private key file(s) to offer; default ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist. */
  identity?: string[];
  /** ssh-agent socket (default $SSH_AUTH_SOCK). */
  agent?: string;
  /** Connect timeout in ms (default 15000). */
  timeoutMs?: number;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Single-quotes a string for the board's POSIX shell. */
export function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function defaultKnownHosts(): string {
  return join(homedir(), '.ssh', 'known_hosts');
}

function authMethods(user: string, opts: SshOptions): Array<AgentAuthMethod | PublicKeyAuthMethod> {
  const methods: Array<AgentAuthMethod | PublicKeyAuthMethod> = [];
  const agent = opts.agent ?? process.env.SSH_AUTH_SOCK;
  if (agent) methods.push({ type: 'agent', username: user, agent });
  const files = opts.identity ?? ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f)).filter((f) => existsSync(f));
  for (const f of files) {
    let key: Buffer;
    try {
      key = readFileSync(f);
    } catch (e) {
      throw new ReefError('REEF_DEPLOY_AUTH_FAILED', `cannot read the key file ${f} given with --identity: ${(e as Error).message}`);
    }
    methods.push({ type: 'publickey', username: user, key });
  }
  if (methods.length === 0) {
    throw new ReefError('REEF_DEPLOY_AUTH_FAILED', `no key to offer ${user}: no ssh-agent ($SSH_AUTH_SOCK unset) and none of ~/.ssh/id_ed25519, id_ecdsa, id_rsa; pass --identity KEYFILE`);
  }
  return methods;
}

/** Free bytes in a folder on the board, from the last line of `df -Pk`. */
export function parseDf(out: string): number | null {
  const line = out.trim().split('\n').pop() ?? '';
  const avail = Number(line.split(/\s+/)[3]);
  return Number.isFinite(avail) ? avail * 1024 : null;
}

/** Maps what the board's shell printed to the code a user can act on. */
export function remoteFailure(what: string, r: ExecResult): ReefError {
  const text = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ');
  const msg = `${what} failed on the board (exit ${r.code}): ${text || 'no message'}`;
  if (/No space left on device|Disk quota exceeded/i.test(text)) return new ReefError('REEF_DEPLOY_NO_SPACE', msg);
  if (/Permission denied|Operation not permitted|Read-only file system/i.test(text)) return new ReefError('REEF_DEPLOY_PERMISSION_DENIED', msg);
  return new ReefError('REEF_DEPLOY_REMOTE_FAILED', msg);
}

/** An open SSH connection to one board. */
export class SshBoard {
  private closed = false;
  private sftpChannel: SFTPWrapper | null = null;
  /** Called once when the connection ends, so no pending step waits for an answer that cannot come. */
  private readonly onClose = new Set<() => void>();

  private constructor(private readonly client: Client, readonly target: SshTarget) {
    const end = (): void => {
      if (this.closed) return;
      this.closed = true;
      for (const f of this.onClose) f();
    };
    client.on('close', end);
    client.on('end', end);
    client.on('error', end);
  }

  /** Rejects `p`'s caller with CONNECTION_LOST if the connection ends before `p` settles. */
  private guard<T>(what: string, p: (done: (e: Error | null, v?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(this.lost(what));
      const lost = (): void => reject(this.lost(what));
      this.onClose.add(lost);
      p((e, v) => {
        this.onClose.delete(lost);
        if (e) reject(e);
        else resolve(v as T);
      });
    });
  }

  /** Connects and authenticates; checks the host key first. */
  static async connect(target: SshTarget, opts: SshOptions = {}): Promise<SshBoard> {
    const khPath = opts.knownHosts ?? defaultKnownHosts();
    const khText = await readKnownHosts(khPath);
    const name = knownHostsName(target.host, target.port);
    const methods = authMethods(target.user, opts);
    let hostProblem: ReefError | null = null;
    let newKey: Buffer | null = null;
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error & { level?: string; code?: string }): void => {
        client.removeAllListeners('ready');
        client.end();
        if (hostProblem) return reject(hostProblem);
        if (e.level === 'client-authentication') {
          return reject(new ReefError('REEF_DEPLOY_AUTH_FAILED', `${target.user}@${target.host}:${target.port} refused every key offered (${methods.map((m) => m.type === 'agent' ? 'ssh-agent' : 'key file').join(', ')})`));
        }
        if (e.level === 'client-timeout') return reject(new ReefError('REEF_DEPLOY_CONNECT_FAILED', `no SSH answer from ${target.host}:${target.port} within ${(opts.timeoutMs ?? 15000) / 1000} s`));
        reject(new ReefError('REEF_DEPLOY_CONNECT_FAILED', `cannot connect to ${target.host}:${target.port}: ${e.code ? `${e.code} ` : ''}${e.message}`));
      };
      client.once('ready', () => { client.removeListener('error', fail); client.on('error', () => undefined); resolve(); });
      client.once('error', fail);
      client.connect({
        host: target.host, port: target.port, username: target.user,
        readyTimeout: opts.timeoutMs ?? 15000,
        // A board that stops answering (power, Wi-Fi) ends the connection within ~15 s instead of hanging.
        keepaliveInterval: 5000, keepaliveCountMax: 3,
        authHandler: methods,
        hostVerifier: (key: Buffer) => {
          const c = checkHostKey(khText, name, key);
          if (c.status === 'known') return true;
          if (c.status === 'unknown') {
            if (opts.acceptNew) { newKey = key; return true; }
            hostProblem = new ReefError('REEF_DEPLOY_HOST_UNKNOWN', `${name} is not in ${khPath}; its ${c.type} host key has fingerprint ${c.fingerprint}. Check it on the board, then rerun with --accept-new to trust and record it`);
            return false;
          }
          if (c.status === 'revoked') {
            hostProblem = new ReefError('REEF_DEPLOY_HOST_KEY_CHANGED', `${name} offered a host key that ${khPath}:${c.line} marks @revoked (fingerprint ${c.fingerprint}); refusing to connect`);
            return false;
          }
          hostProblem = new ReefError('REEF_DEPLOY_HOST_KEY_CHANGED', `WARNING: the host key of ${name} has CHANGED (now ${c.type} ${c.fingerprint}; ${khPath}:${c.line} records another). Someone may be in between, or the board was reinstalled. Refusing to connect; --accept-new never overrides a changed key`);
          return false;
        },
      });
    });
    if (newKey) await recordHostKey(khPath, name, newKey);
    return new SshBoard(client, target);
  }

  private lost(what: string): ReefError {
    return new ReefError('REEF_DEPLOY_CONNECTION_LOST', `the connection to ${this.target.host}:${this.target.port} dropped during ${what}`);
  }

  /** Runs a command with the board's shell; resolves with its exit code and output. */
  exec(command: string, what = command.split(' ')[0]): Promise<ExecResult> {
    return this.guard<ExecResult>(what, (done) => {
      const resolve = (v: ExecResult): void => done(null, v);
      const reject = (e: Error): void => done(e);
      this.client.exec(command, (err, stream) => {
        if (err) return reject(this.closed ? this.lost(what) : new ReefError('REEF_DEPLOY_REMOTE_FAILED', `cannot run ${what} on the board: ${err.message}`));
        let stdout = '';
        let stderr = '';
        let code: number | null = null;
        stream.on('data', (d: Buffer) => { stdout += d.toString(); });
        stream.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        stream.on('exit', (c: number | null) => { code = c; });
        stream.on('close', () => {
          if (code === null) return reject(this.lost(what));
          resolve({ code, stdout, stderr });
        });
      });
    });
  }

  /** Runs a command that must succeed; throws the mapped failure otherwise. */
  async run(command: string, what: string): Promise<string> {
    const r = await this.exec(command, what);
    if (r.code !== 0) throw remoteFailure(what, r);
    return r.stdout;
  }

  private sftp(): Promise<SFTPWrapper> {
    if (this.sftpChannel) return Promise.resolve(this.sftpChannel);
    return new Promise((resolve, reject) => {
      this.client.sftp((err, s) => {
        if (err) return reject(this.closed ? this.lost('the copy') : new ReefError('REEF_DEPLOY_REMOTE_FAILED', `the board offers no SFTP (${err.message}); enable the sftp subsystem in its sshd_config`));
        this.sftpChannel = s;
        resolve(s);
      });
    });
  }

  /** Copies a local file to `remote` over SFTP, reporting bytes sent. */
  async upload(local: string, remote: string, onProgress?: (sent: number, total: number) => void): Promise<void> {
    const sftp = await this.sftp();
    await this.guard<void>('the copy', (done) => {
      sftp.fastPut(local, remote, { step: (sent, _chunk, total) => onProgress?.(sent, total) }, (err) => {
        if (!err) return done(null);
        if (this.closed) return done(this.lost('the copy'));
        const code = (err as Error & { code?: number }).code;
        if (code === 3) return done(new ReefError('REEF_DEPLOY_PERMISSION_DENIED', `the board refused writing ${remote}: ${err.message}`));
        done(new ReefError('REEF_DEPLOY_REMOTE_FAILED', `writing ${remote} on the board failed: ${err.message}`));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.client.end();
  }
}
