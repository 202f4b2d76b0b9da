/**
 * `reef deploy`: one entry point per job (deploy, rollback, status, bench) for any target; each
 * opens the link, does the job and closes it, whatever happens.
 */
import { ReefError } from '../errors.js';
import { describeBundle, type BundleInfo } from './bundle-info.js';
import { SshBoard, type SshOptions } from './ssh.js';
import { benchOverSsh, deployOverSsh, rollbackOverSsh, statusOverSsh, type DeployOptions, type DeployResult, type RollbackResult, type StatusResult } from './ssh-deploy.js';
import { parseTarget, type SshTarget, type Target } from './target.js';
import { benchOverSerial, deployOverSerial, rollbackOverSerial, runOverSerial, statusOverSerial } from './serial/host.js';
import { runOverSsh } from './ssh-deploy.js';
import { installOverSsh, type InstallOptions, type InstallResult } from './install.js';

export type { DeployOptions, DeployResult, RollbackResult, StatusResult } from './ssh-deploy.js';
export type { InstallOptions, InstallResult } from './install.js';
export { parseTarget } from './target.js';

export interface ConnectOptions extends SshOptions {
  /** Serial: give up when the board has not answered for this long (ms, default 10000). */
  linkTimeoutMs?: number;
  /** Serial: sends of one request before giving up (default 30). */
  maxTries?: number;
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

/**
 * Copies a bundle to a board, verifies its sha256 there, and switches it into place; the previous
 * release is kept for rollback.
 * @example
 * const r = await deploy('mobilenet.reef', 'ssh://pi@10.0.0.5/home/pi/reef', { acceptNew: true });
 */
export async function deploy(bundle: string | BundleInfo, target: string | Target, opts: DeployOptions & ConnectOptions & { install?: InstallOptions } = {}): Promise<DeployResult & { install?: InstallResult }> {
  const t = asTarget(target);
  const info = typeof bundle === 'string' ? await describeBundle(bundle) : bundle;
  if (t.kind === 'serial') {
    if (opts.service) throw new ReefError('REEF_DEPLOY_TARGET_INVALID', `--service needs an ssh:// target (systemctl on the board); over ${t.text}, install the unit once over SSH or by hand`);
    if (opts.install) throw serialInstall(t.text);
    return deployOverSerial(t, info, opts);
  }
  opts.onProgress?.({ phase: 'connect', sent: 0, total: info.bytes });
  return withSsh(t, opts, async (b) => {
    if (!opts.install) return deployOverSsh(b, info, opts);
    // reef first (its launcher then runs the service, status and bench), then the bundle, on one connection.
    const install = await installOverSsh(b, opts.install);
    const r = await deployOverSsh(b, info, { ...opts, remoteReef: opts.remoteReef ?? install.launcher });
    return { ...r, install };
  });
}

function serialInstall(text: string): ReefError {
  return new ReefError('REEF_DEPLOY_TARGET_INVALID', `--install needs an ssh:// target: over ${text} the board's end is \`reef agent\`, which is reef itself. Install reef on the board once over SSH (reef deploy --install ssh://...), or copy the staged install by hand (docs/deploy.md)`);
}

/**
 * Puts reef on a board that has Node but no registry access and no compiler: packs and stages it
 * here for the board's CPU, copies and checks it there, and writes a `reef` launcher.
 * @example
 * const r = await installReef('ssh://pi@10.0.0.5', { tarball: 'reef-0.1.0.tgz' });
 */
export async function installReef(target: string | Target, opts: InstallOptions & ConnectOptions = {}): Promise<InstallResult> {
  const t = asTarget(target);
  if (t.kind === 'serial') throw serialInstall(t.text);
  return withSsh(t, opts, (b) => installOverSsh(b, opts));
}

/** Goes back to the previous release on the board (and restarts its service). */
export async function rollback(target: string | Target, opts: ConnectOptions = {}): Promise<RollbackResult> {
  const t = asTarget(target);
  return t.kind === 'serial' ? rollbackOverSerial(t, opts) : withSsh(t, opts, (b) => rollbackOverSsh(b));
}

/** The board's current release, its checksum now, its service and `reef doctor`. */
export async function status(target: string | Target, opts: ConnectOptions & { remoteReef?: string } = {}): Promise<StatusResult> {
  const t = asTarget(target);
  return t.kind === 'serial' ? statusOverSerial(t, opts) : withSsh(t, opts, (b) => statusOverSsh(b, opts.remoteReef));
}

/** `reef bench --json` on the board, on the deployed release; the parsed result. */
export async function benchOnBoard(target: string | Target, args: string[], opts: ConnectOptions & { remoteReef?: string } = {}): Promise<unknown> {
  const t = asTarget(target);
  return t.kind === 'serial' ? benchOverSerial(t, args, opts) : withSsh(t, opts, (b) => benchOverSsh(b, args, opts.remoteReef));
}

/**
 * `reef run` on the board, on its current release: INPUT (an image) is copied there first (into
 * DIR/inputs), then `reef run DIR/current/FILE DIR/inputs/INPUT --json ARGS` runs; its JSON.
 */
export async function runOnBoard(target: string | Target, input: string, args: string[], opts: ConnectOptions & { remoteReef?: string } = {}): Promise<unknown> {
  const t = asTarget(target);
  return t.kind === 'serial' ? runOverSerial(t, input, args, opts) : withSsh(t, opts, (b) => runOverSsh(b, input, args, opts.remoteReef));
}
