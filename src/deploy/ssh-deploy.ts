/**
 * Deploy over SSH, as shell steps on the board (POSIX sh and coreutils: mkdir, df, sha256sum, mv,
 * ln, readlink). Layout in the deploy folder DIR:
 *
 *   DIR/releases/ID/FILE          each deployed file, ID = time + sha256 prefix
 *   DIR/releases/ID/release.json  its ReleaseInfo
 *   DIR/current -> releases/ID    switched with one rename, so it always names a whole release
 *   DIR/previous -> releases/ID   what --rollback goes back to
 *   DIR/service.json              the unit written by --service, rewritten on rollback
 *
 * The copy goes to releases/.incoming-*, its sha256 is checked on the board, and only then is it
 * renamed into a release and `current` switched. A failure at any step leaves `current` as it was.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { ReefError } from '../errors.js';
import { releaseFor, type BundleInfo, type ReleaseInfo } from './bundle-info.js';
import { parseDf, remoteFailure, sq, SshBoard } from './ssh.js';
import { DEFAULT_UNIT_DIR, unitName, unitText, type ServiceSpec } from './service.js';
import type { SshTarget } from './target.js';
import { DEFAULT_BIN_DIR } from './install.js';

export interface DeployProgress {
  phase: 'connect' | 'copy' | 'verify' | 'install' | 'service';
  sent: number;
  total: number;
}

export interface DeployOptions {
  service?: ServiceSpec;
  /** reef on the board (default "reef", found on the board's PATH). */
  remoteReef?: string;
  onProgress?: (p: DeployProgress) => void;
}

export interface DeployResult {
  target: string;
  release: ReleaseInfo;
  previous: string | null;
  /** sha256 sum the board computed of the installed file. */
  boardSha256: string;
  seconds: number;
  copySeconds: number;
  /** Bytes per second of the copy. */
  throughput: number;
  service: { unit: string; file: string; calls: string[] } | null;
  /** Serial only: bytes the board already had from an interrupted deploy (not sent again). */
  resumedBytes?: number;
  /** Serial only: frames sent, resent, and damaged frames received. */
  link?: { baud: number; framesSent: number; framesResent: number; badFramesReceived: number };
}

/**
 * reef on the board: `given` (--remote-reef), else `reef` on the PATH of an SSH command, else the
 * launcher `reef deploy --install` writes by default (~/.local/bin/reef, often not on that PATH).
 */
export async function boardReef(board: SshBoard, given?: string): Promise<string> {
  if (given) return given;
  const r = await board.exec(`command -v reef 2>/dev/null || { [ -x "$HOME/${DEFAULT_BIN_DIR}/reef" ] && echo "$HOME/${DEFAULT_BIN_DIR}/reef"; } || true`, 'command -v reef');
  return r.stdout.trim().split('\n')[0] || 'reef';
}

async function installService(board: SshBoard, dir: string, release: ReleaseInfo, spec: ServiceSpec, given?: string): Promise<{ unit: string; file: string; calls: string[] }> {
  const remoteReef = await boardReef(board, given);
  const unit = unitName(spec);
  const unitDir = spec.unitDir ?? DEFAULT_UNIT_DIR;
  const reefPath = (await board.exec(`command -v ${sq(remoteReef)}`, 'command -v reef')).stdout.trim();
  if (!reefPath.startsWith('/')) {
    throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', `reef is not installed on the board (\`command -v ${remoteReef}\` found nothing); install it there (reef deploy --install, or npm install -g reef) or name it with --remote-reef`);
  }
  const absDir = (await board.run(`cd ${sq(dir)} && pwd -P`, 'pwd')).trim();
  const user = (await board.run('id -un', 'id')).trim();
  const text = unitText(spec, { reef: reefPath, bundle: `${absDir}/current/${release.file}`, dir: absDir, user });
  const file = `${unitDir}/${unit}.service`;
  const tmp = `${unitDir}/.${unit}.service.reef-tmp`;
  const record = JSON.stringify({ unit, unitDir, kind: spec.kind, args: spec.args, remoteReef });
  await board.run(`mkdir -p ${sq(unitDir)} && printf '%s' ${sq(text)} > ${sq(tmp)} && mv -f ${sq(tmp)} ${sq(file)} && printf '%s\\n' ${sq(record)} > ${sq(`${dir}/service.json`)}`, `writing ${file}`);
  const calls = ['daemon-reload', `enable ${unit}.service`, `restart ${unit}.service`];
  for (const c of calls) await board.run(`systemctl ${c}`, `systemctl ${c}`);
  return { unit, file, calls: calls.map((c) => `systemctl ${c}`) };
}

/** Deploys one bundle to one board over SSH; the connection is the caller's. */
export async function deployOverSsh(board: SshBoard, info: BundleInfo, opts: DeployOptions = {}): Promise<DeployResult> {
  const t0 = performance.now();
  const target = board.target;
  const dir = target.dir;
  const release = releaseFor(info);
  const df = await board.run(`mkdir -p ${sq(`${dir}/releases`)} && cd ${sq(dir)} && rm -rf releases/.incoming-* releases/.new-* && : > releases/.incoming-probe && rm -f releases/.incoming-probe && df -Pk .`, `preparing ${dir}`);
  const free = parseDf(df);
  if (free !== null && free < info.bytes + 64 * 1024) {
    throw new ReefError('REEF_DEPLOY_NO_SPACE', `${target.host}:${dir} has ${Math.floor(free / 1024)} KiB free and ${info.file} needs ${Math.ceil(info.bytes / 1024)} KiB (plus 64 KiB); nothing was copied, the installed version is unchanged`);
  }
  const tmp = `${dir}/releases/.incoming-${release.id}-${randomBytes(4).toString('hex')}`;
  const tc = performance.now();
  try {
    await board.upload(info.path, tmp, (sent, total) => opts.onProgress?.({ phase: 'copy', sent, total }));
  } catch (e) {
    if (!board.isClosed) await board.exec(`rm -f ${sq(tmp)}`).catch(() => undefined);
    if (e instanceof ReefError && e.code === 'REEF_DEPLOY_REMOTE_FAILED') {
      // SFTP says only "Failure": ask the board whether the disk filled up.
      const again = parseDf(await board.run(`df -Pk ${sq(dir)}`, 'df').catch(() => ''));
      if (again !== null && again < 64 * 1024) throw new ReefError('REEF_DEPLOY_NO_SPACE', `${e.message}; the board's disk is full (${Math.floor(again / 1024)} KiB free). The installed version is unchanged`);
    }
    throw e;
  }
  const copySeconds = (performance.now() - tc) / 1000;
  opts.onProgress?.({ phase: 'verify', sent: info.bytes, total: info.bytes });
  const rel = `releases/${release.id}`;
  const script = [
    `cd ${sq(dir)} || exit 1`,
    // The board's own sha256 of the copy, checked before anything moves.
    `sum=$(sha256sum ${sq(tmp.slice(dir.length + 1))}) || exit 1`,
    'echo "$sum"',
    `[ "\${sum%% *}" = ${sq(info.sha256)} ] || { rm -f ${sq(tmp.slice(dir.length + 1))}; exit 4; }`,
    'set -e',
    `new=releases/.new-${release.id}`,
    'rm -rf "$new"; mkdir "$new"',
    `mv -f ${sq(tmp.slice(dir.length + 1))} "$new"/${sq(release.file)}`,
    `printf '%s\\n' ${sq(JSON.stringify(release))} > "$new"/release.json`,
    `mv -T "$new" ${sq(rel)}`,
    'old=$(readlink current 2>/dev/null || true)',
    `ln -sfn ${sq(rel)} .current.new && mv -Tf .current.new current`,
    `if [ -n "$old" ] && [ "$old" != ${sq(rel)} ]; then ln -sfn "$old" .previous.new && mv -Tf .previous.new previous; fi`,
    'keep_p=$(readlink previous 2>/dev/null || true)',
    `for d in releases/*; do [ "$d" = ${sq(rel)} ] || [ "$d" = "$keep_p" ] || rm -rf "$d"; done`,
    'echo "$old"',
  ].join('\n');
  const r = await board.exec(script, 'install');
  const boardSha256 = (r.stdout.split('\n')[0] ?? '').split(/\s+/)[0];
  if (r.code === 4) {
    throw new ReefError('REEF_DEPLOY_CHECKSUM_MISMATCH', `${target.host}:${tmp} has sha256 ${boardSha256 || '(none)'} but ${info.file} has ${info.sha256}; the copy was removed, the installed version is unchanged`);
  }
  if (r.code !== 0) {
    await board.exec(`rm -rf ${sq(tmp)} ${sq(`${dir}/releases/.new-${release.id}`)}`).catch(() => undefined);
    throw remoteFailure('installing the release', r);
  }
  const old = r.stdout.trim().split('\n').slice(1).join('').trim();
  let service: DeployResult['service'] = null;
  if (opts.service) {
    opts.onProgress?.({ phase: 'service', sent: info.bytes, total: info.bytes });
    service = await installService(board, dir, release, opts.service, opts.remoteReef);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    target: target.text, release, previous: old ? old.replace(/^releases\//, '') : null, boardSha256,
    seconds, copySeconds, throughput: info.bytes / Math.max(copySeconds, 1e-6), service,
  };
}

export interface RollbackResult {
  target: string;
  /** The release now current. */
  current: ReleaseInfo;
  /** The release rolled back from (now `previous`). */
  previous: string;
  service: { unit: string; calls: string[] } | null;
}

/** Switches `current` and `previous` on the board; restarts the service if one was installed. */
export async function rollbackOverSsh(board: SshBoard): Promise<RollbackResult> {
  const dir = board.target.dir;
  const script = [
    `cd ${sq(dir)} 2>/dev/null || exit 3`,
    'p=$(readlink previous 2>/dev/null) || exit 3',
    '[ -f "$p/release.json" ] || exit 3',
    'c=$(readlink current)',
    'set -e',
    'ln -sfn "$p" .current.new && mv -Tf .current.new current',
    'ln -sfn "$c" .previous.new && mv -Tf .previous.new previous',
    'cat current/release.json',
    'echo "$c"',
  ].join('\n');
  const r = await board.exec(script, 'rollback');
  if (r.code === 3) throw new ReefError('REEF_DEPLOY_NOTHING_TO_ROLLBACK', `${board.target.host}:${dir} keeps no previous release (deploy there twice before rolling back)`);
  if (r.code !== 0) throw remoteFailure('rollback', r);
  const lines = r.stdout.trim().split('\n');
  const previous = (lines.pop() ?? '').replace(/^releases\//, '');
  const current = JSON.parse(lines.join('\n')) as ReleaseInfo;
  let service: RollbackResult['service'] = null;
  const rec = await board.exec(`cat ${sq(`${dir}/service.json`)}`, 'cat service.json');
  if (rec.code === 0 && rec.stdout.trim()) {
    const s = JSON.parse(rec.stdout) as { unit: string; unitDir: string; kind: 'serve' | 'camera'; args: string[]; remoteReef: string };
    const done = await installService(board, dir, current, { kind: s.kind, args: s.args, unit: s.unit, unitDir: s.unitDir }, s.remoteReef);
    service = { unit: done.unit, calls: done.calls };
  }
  return { target: board.target.text, current, previous, service };
}

export interface StatusResult {
  target: string;
  dir: string;
  current: (ReleaseInfo & { boardSha256: string; intact: boolean }) | null;
  previous: ReleaseInfo | null;
  service: { unit: string; active: string; unitFile: string } | null;
  /** `reef doctor --json` on the board, or why it could not run. */
  doctor: { findings: Array<{ check: string; status: string; detail: string; fix?: string }>; summary: Record<string, number> } | { error: string };
}

/** What runs on the board: the release, its checksum now, the unit's state and reef doctor. */
export async function statusOverSsh(board: SshBoard, given?: string): Promise<StatusResult> {
  const dir = board.target.dir;
  const read = async (rel: string): Promise<ReleaseInfo | null> => {
    const r = await board.exec(`cat ${sq(`${dir}/${rel}/release.json`)}`, 'cat release.json');
    if (r.code !== 0) return null;
    try { return JSON.parse(r.stdout) as ReleaseInfo; } catch { return null; }
  };
  const cur = await read('current');
  let current: StatusResult['current'] = null;
  if (cur) {
    const s = await board.exec(`sha256sum ${sq(`${dir}/current/${cur.file}`)}`, 'sha256sum');
    const boardSha256 = s.code === 0 ? s.stdout.trim().split(/\s+/)[0] : '';
    current = { ...cur, boardSha256, intact: boardSha256 === cur.sha256 };
  }
  const previous = await read('previous');
  let service: StatusResult['service'] = null;
  const rec = await board.exec(`cat ${sq(`${dir}/service.json`)}`, 'cat service.json');
  if (rec.code === 0 && rec.stdout.trim()) {
    const s = JSON.parse(rec.stdout) as { unit: string; unitDir: string };
    const a = await board.exec(`systemctl is-active ${sq(`${s.unit}.service`)}`, 'systemctl is-active');
    service = { unit: `${s.unit}.service`, active: a.stdout.trim() || `unknown (exit ${a.code})`, unitFile: `${s.unitDir}/${s.unit}.service` };
  }
  const d = await board.exec(`${sq(await boardReef(board, given))} doctor --json`, 'reef doctor');
  let doctor: StatusResult['doctor'];
  try {
    doctor = JSON.parse(d.stdout) as StatusResult['doctor'];
  } catch {
    doctor = { error: `reef doctor on the board did not answer with JSON (exit ${d.code}): ${(d.stderr || d.stdout).trim().slice(0, 300)}` };
  }
  return { target: board.target.text, dir, current, previous, service, doctor };
}

async function currentFile(board: SshBoard, what: string): Promise<string> {
  const dir = board.target.dir;
  const cur = await board.exec(`cat ${sq(`${dir}/current/release.json`)}`, 'cat release.json');
  if (cur.code !== 0) throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', `nothing is deployed in ${board.target.host}:${dir}; deploy a bundle before ${what}`);
  return `${dir}/current/${(JSON.parse(cur.stdout) as ReleaseInfo).file}`;
}

/** Copies `input` to DIR/inputs on the board and runs `reef run` there on the current release. */
export async function runOverSsh(board: SshBoard, input: string, args: string[], given?: string): Promise<unknown> {
  const remoteReef = await boardReef(board, given);
  const model = await currentFile(board, '--run');
  const remote = `${board.target.dir}/inputs/${basename(input)}`;
  await board.run(`mkdir -p ${sq(`${board.target.dir}/inputs`)}`, 'mkdir inputs');
  await board.upload(input, remote);
  const r = await board.exec([remoteReef, 'run', model, remote, '--json', ...args].map(sq).join(' '), 'reef run');
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw remoteFailure('reef run', r);
  }
}

/** Runs `reef bench --json` on the board on the current release; returns its parsed JSON. */
export async function benchOverSsh(board: SshBoard, args: string[], given?: string): Promise<unknown> {
  const remoteReef = await boardReef(board, given);
  const cmd = [remoteReef, 'bench', await currentFile(board, '--bench'), '--json', ...args].map(sq).join(' ');
  const r = await board.exec(cmd, 'reef bench');
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw remoteFailure('reef bench', r);
  }
}
