/**
 * `reef deploy`: one entry point per job (deploy, rollback, status, bench) for any target; each
 * opens the link, does the job and closes it, whatever happens.
 */
import { ReefError } from '../errors.js';
import { describeBundle, type BundleInfo } from './bundle-info.js';
import { SshBoard, type SshOptions } from './ssh.js';
import { benchOverSsh, deployOverSsh, rollbackOverSsh, statusOverSsh, type DeployOptions, type DeployResult, type RollbackResult, type StatusResult } from './ssh-deploy.js';
import { parseTarget, type SshTarget, type Target } from './target.js';

export type { DeployOptions, DeployResult, RollbackResult, StatusResult } from './ssh-deploy.js';
export { parseTarget } from './target.js';

export interface ConnectOptions extends SshOptions {
  /** Serial: give up when the board has not answered for this long (ms, default 10000). */
  linkTimeoutMs?: number;
}

async function withSsh<T>(target: SshTarget, opts: ConnectOptions, job: (b: SshBoard) => Promise<T>): Promise<T> {
  const board = await SshBoard.connect(target, opts);
  try {
    return await job(board);
  } finally {
    board.close();
  }
}

function asTarget(t: string | Target): Target {
  return typeof t === 'string' ? parseTarget(t) : t;
}

function sshOnly(t: Target): SshTarget {
  if (t.kind !== 'ssh') throw new ReefError('REEF_DEPLOY_TARGET_INVALID', `serial targets (${t.text}) are not supported by this build of reef yet; use ssh://`);
  return t;
}

/**
 * Copies a bundle to a board, verifies its sha256 there, and switches it into place; the previous
 * release is kept for rollback.
 * @example
 * const r = await deploy('mobilenet.reef', 'ssh://pi@10.0.0.5/home/pi/reef', { acceptNew: true });
 */
export async function deploy(bundle: string | BundleInfo, target: string | Target, opts: DeployOptions & ConnectOptions = {}): Promise<DeployResult> {
  const t = asTarget(target);
  const info = typeof bundle === 'string' ? await describeBundle(bundle) : bundle;
  const s = sshOnly(t);
  opts.onProgress?.({ phase: 'connect', sent: 0, total: info.bytes });
  return withSsh(s, opts, (b) => deployOverSsh(b, info, opts));
}

/** Goes back to the previous release on the board (and restarts its service). */
export async function rollback(target: string | Target, opts: ConnectOptions = {}): Promise<RollbackResult> {
  const t = asTarget(target);
  return withSsh(sshOnly(t), opts, (b) => rollbackOverSsh(b));
}

/** The board's current release, its checksum now, its service and `reef doctor`. */
export async function status(target: string | Target, opts: ConnectOptions & { remoteReef?: string } = {}): Promise<StatusResult> {
  const t = asTarget(target);
  return withSsh(sshOnly(t), opts, (b) => statusOverSsh(b, opts.remoteReef));
}

/** `reef bench --json` on the board, on the deployed release; the parsed result. */
export async function benchOnBoard(target: string | Target, args: string[], opts: ConnectOptions & { remoteReef?: string } = {}): Promise<unknown> {
  const t = asTarget(target);
  return withSsh(sshOnly(t), opts, (b) => benchOverSsh(b, args, opts.remoteReef));
}
