/**
 * `reef deploy --install`: puts reef on a board that has Node but no registry access and no
 * compiler. The host packs reef, stages node_modules for the board's cpu (src/deploy/stage.ts) and
 * copies the result with the deploy discipline: a temporary name, the board's own sha256, then
 * renames. Layout on the board (ROOT = ~/.reef by default):
 *
 *   ROOT/versions/ID/node_modules/reef   one installed reef, ID = version + tarball sha256 prefix
 *   ROOT/versions/ID/reef-install.json   what was staged (reef version, tarball sha256, platform)
 *   ROOT/current  -> versions/ID         switched with one rename
 *   ROOT/previous -> versions/ID         the reef before (for going back); older ones are removed
 *   BIN/reef                             launcher: exec NODE ROOT/current/node_modules/reef/bin/reef.js
 *
 * A copy or unpack that fails leaves ROOT/current and the launcher as they were; the next
 * install removes the partial files. The new reef must pass its own `reef doctor` (addon and
 * TensorFlow Lite load on the board) before it is switched in.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ReefError } from '../errors.js';
import { MIN_NODE_MAJOR } from '../doctor/doctor.js';
import { parseDf, remoteFailure, sq, type SshBoard } from './ssh.js';
import { defaultCacheDir, packReef, stageInstall, type BoardArch, type Packed, type Staged } from './stage.js';

export interface InstallOptions {
  /** reef's packed tarball (`npm pack`); default: pack this reef now. */
  tarball?: string;
  /** Install folder on the board, absolute or relative to the user's home (default .reef). */
  installDir?: string;
  /** Folder for the `reef` launcher on the board (default .local/bin, i.e. ~/.local/bin). */
  binDir?: string;
  /** Host folder for packed and staged tarballs (default $REEF_INSTALL_CACHE or ~/.cache/reef/install). */
  cacheDir?: string;
  onProgress?: (p: InstallProgress) => void;
}

export interface InstallProgress {
  phase: 'probe' | 'pack' | 'stage' | 'copy' | 'unpack' | 'check' | 'switch';
  sent: number;
  total: number;
  /** One line saying what is happening, for a terminal. */
  detail?: string;
}

export interface BoardFacts {
  os: string;
  machine: string;
  arch: BoardArch;
  node: string;
  nodePath: string;
  home: string;
}

export interface InstallResult {
  target: string;
  board: BoardFacts;
  reef: { version: string; tarball: string; sha256: string };
  staged: Staged;
  /** The installed version's folder name under ROOT/versions. */
  id: string;
  root: string;
  launcher: string;
  /** The launcher's folder is on the board's PATH for non-interactive SSH commands. */
  onPath: boolean;
  previous: string | null;
  /** True when this exact reef was installed already (nothing copied). */
  alreadyInstalled: boolean;
  seconds: { pack: number; stage: number; copy: number; unpack: number; total: number };
}

export const DEFAULT_INSTALL_DIR = '.reef';
export const DEFAULT_BIN_DIR = '.local/bin';
/** Marks a launcher reef wrote (an existing BIN/reef without it is not replaced). */
const LAUNCHER_MARK = 'written by `reef deploy --install`';

const ARCH: Record<string, BoardArch> = { x86_64: 'x64', amd64: 'x64', aarch64: 'arm64', arm64: 'arm64' };

/** One `npm pack` per process and tarball: a second board (or a rerun in one process) reuses it. */
const packs = new Map<string, Promise<Packed>>();
function packOnce(dir: string, tarball?: string): Promise<Packed> {
  const key = `${dir}\0${tarball ?? ''}`;
  let p = packs.get(key);
  if (!p) {
    p = packReef(dir, tarball);
    packs.set(key, p);
    p.catch(() => packs.delete(key));
  }
  return p;
}

/** uname, node and $HOME on the board; refuses a board reef cannot run on, saying what to install. */
export async function probeBoard(board: SshBoard): Promise<BoardFacts> {
  const out = await board.run([
    'printf "os=%s\\nmachine=%s\\nhome=%s\\n" "$(uname -s)" "$(uname -m)" "$HOME"',
    'n=$(command -v node 2>/dev/null) && printf "nodePath=%s\\nnode=%s\\n" "$n" "$("$n" -v 2>/dev/null)"',
    'exit 0',
  ].join('\n'), 'probing the board');
  const f: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) f[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  const where = `${board.target.host}:${board.target.port}`;
  const arch = ARCH[f.machine ?? ''];
  if (f.os !== 'Linux' || !arch) {
    throw new ReefError('REEF_DEPLOY_BOARD_UNSUPPORTED', `${where} is ${f.os ?? '?'} ${f.machine ?? '?'}; reef ships prebuilt addons for Linux on x86_64 and aarch64 only${f.machine?.startsWith('arm') ? ' (a 32-bit OS on a 64-bit Pi: install the 64-bit Raspberry Pi OS)' : ''}`);
  }
  const nodeFor = `Node ${MIN_NODE_MAJOR} or newer for linux-${arch}`;
  if (!f.nodePath) {
    throw new ReefError('REEF_DEPLOY_BOARD_NODE', `${where} has no node on the PATH of an SSH command (${f.os} ${f.machine}): install ${nodeFor} there (NodeSource's node_${MIN_NODE_MAJOR}.x apt repository, or the nodejs.org linux-${arch} tarball with its bin/ on PATH; nvm only sets PATH for interactive shells), then rerun with --install`);
  }
  const major = Number(/^v(\d+)\./.exec(f.node ?? '')?.[1]);
  if (!(major >= MIN_NODE_MAJOR)) {
    throw new ReefError('REEF_DEPLOY_BOARD_NODE', `${where} has Node ${f.node || '(no version)'} at ${f.nodePath}, and reef needs ${MIN_NODE_MAJOR} or newer: install ${nodeFor} there (NodeSource's node_${MIN_NODE_MAJOR}.x apt repository, or the nodejs.org linux-${arch} tarball), then rerun with --install`);
  }
  return { os: f.os, machine: f.machine!, arch, node: f.node!, nodePath: f.nodePath, home: f.home ?? '' };
}

/** The launcher script: absolute node (a service's PATH may not have it) and the `current` link. */
export function launcherText(nodePath: string, root: string): string {
  return [
    '#!/bin/sh',
    `# reef, ${LAUNCHER_MARK}: runs the reef in ${root}/current`,
    `# (${root}/previous is the one before it).`,
    `exec ${sq(nodePath)} ${sq(`${root}/current/node_modules/reef/bin/reef.js`)} "$@"`,
    '',
  ].join('\n');
}

/**
 * Installs reef on the board over an open SSH connection: probe, pack + stage here, copy, verify,
 * unpack, check with the new reef's own doctor, switch. Returns where it went.
 */
export async function installOverSsh(board: SshBoard, opts: InstallOptions = {}): Promise<InstallResult> {
  const t0 = performance.now();
  const step = (phase: InstallProgress['phase'], detail: string, sent = 0, total = 0): void => opts.onProgress?.({ phase, sent, total, detail });
  step('probe', 'checking the board (uname, node)');
  const facts = await probeBoard(board);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();

  step('pack', opts.tarball ? `reading ${opts.tarball}` : 'npm pack (reef with its prebuilt addons)');
  const tp = performance.now();
  const packed: Packed = await packOnce(join(cacheDir, 'packed'), opts.tarball);
  const ts = performance.now();
  step('stage', `installing reef ${packed.version} for linux-${facts.arch} here (npm, no scripts)`);
  const staged = await stageInstall(packed, facts.arch, cacheDir, (line) => step('stage', line));
  const tc = performance.now();

  const id = `${packed.version}-${packed.sha256.slice(0, 12)}`;
  const rootIn = opts.installDir ?? DEFAULT_INSTALL_DIR;
  const binIn = opts.binDir ?? DEFAULT_BIN_DIR;
  if (/[\0\n]/.test(rootIn + binIn)) throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected folders without NUL or newline for --install-dir and --bin-dir');
  // Absolute paths (the launcher and units name them), stale partial copies removed, a write probe, df.
  const prep = await board.run([
    `mkdir -p ${sq(`${rootIn}/versions`)} ${sq(binIn)} || exit 1`,
    `bin=$(cd ${sq(binIn)} && pwd -P) || exit 1`,
    `cd ${sq(rootIn)} || exit 1`,
    'rm -rf versions/.incoming-* versions/.new-*',
    ': > versions/.incoming-probe && rm -f versions/.incoming-probe || exit 1',
    'printf "root=%s\\nbin=%s\\n" "$(pwd -P)" "$bin"',
    `[ -f ${sq(`versions/${id}/reef-install.json`)} ] && echo have=1`,
    `[ -e "$bin/reef" ] && { grep -q ${sq(LAUNCHER_MARK)} "$bin/reef" && echo launcher=ours || echo launcher=foreign; }`,
    'echo "df=$(df -Pk . | tail -1)"',
    'exit 0',
  ].join('\n'), `preparing ${rootIn}`);
  const kv: Record<string, string> = {};
  for (const line of prep.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
  }
  const root = kv.root!;
  const launcher = `${kv.bin}/reef`;
  if (kv.launcher === 'foreign') {
    throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', `${launcher} exists on the board and is not a launcher reef wrote (another reef install, e.g. npm -g?); remove it, or pass --bin-dir DIR for another folder`);
  }
  const where = `${board.target.host}:${root}`;
  const have = kv.have === '1';
  let copySeconds = 0;
  let unpackSeconds = 0;
  if (!have) {
    const free = parseDf(kv.df ?? '');
    const need = staged.bytes + staged.unpackedBytes + (1 << 20);
    if (free !== null && free < need) {
      throw new ReefError('REEF_DEPLOY_NO_SPACE', `${where} has ${Math.floor(free / 1024)} KiB free and reef's install needs ${Math.ceil(need / 1024)} KiB (${(staged.bytes / 1e6).toFixed(1)} MB copied, ${(staged.unpackedBytes / 1e6).toFixed(1)} MB unpacked); nothing was copied, the installed reef is unchanged`);
    }
    const tmp = `versions/.incoming-${id}-${randomBytes(4).toString('hex')}.tgz`;
    const t1 = performance.now();
    try {
      await board.upload(staged.file, `${root}/${tmp}`, (sent, total) => opts.onProgress?.({ phase: 'copy', sent, total }));
    } catch (e) {
      if (!board.isClosed) await board.exec(`rm -f ${sq(`${root}/${tmp}`)}`).catch(() => undefined);
      throw e;
    }
    copySeconds = (performance.now() - t1) / 1000;
    step('unpack', `checking the sha256 on the board and unpacking into ${root}/versions/${id}`, staged.bytes, staged.bytes);
    const t2 = performance.now();
    const r = await board.exec([
      `cd ${sq(root)} || exit 1`,
      `sum=$(sha256sum ${sq(tmp)}) || exit 1`,
      'echo "$sum"',
      `[ "\${sum%% *}" = ${sq(staged.sha256)} ] || { rm -f ${sq(tmp)}; exit 4; }`,
      `new=versions/.new-${id}`,
      'rm -rf "$new" && mkdir "$new" || exit 1',
      `tar -xzf ${sq(tmp)} -C "$new" || { rm -rf "$new" ${sq(tmp)}; exit 5; }`,
      `rm -f ${sq(tmp)}`,
    ].join('\n'), 'unpacking reef');
    if (r.code === 4) {
      throw new ReefError('REEF_DEPLOY_CHECKSUM_MISMATCH', `${where}/${tmp} has sha256 ${(r.stdout.split(/\s+/)[0] || '(none)')} but the staged install has ${staged.sha256}; the copy was removed, the installed reef is unchanged`);
    }
    if (r.code !== 0) {
      await board.exec(`rm -rf ${sq(`${root}/${tmp}`)} ${sq(`${root}/versions/.new-${id}`)}`).catch(() => undefined);
      throw remoteFailure('unpacking reef', r);
    }
    // The new reef's own doctor, before it is switched in: its addon and TFLite must load on the board.
    step('check', 'reef doctor of the new install on the board');
    const d = await board.exec(`${sq(facts.nodePath)} ${sq(`${root}/versions/.new-${id}/node_modules/reef/bin/reef.js`)} doctor --json`, 'reef doctor');
    let findings: Array<{ check: string; status: string; detail: string; fix?: string }> = [];
    try {
      findings = (JSON.parse(d.stdout) as { findings: typeof findings }).findings;
    } catch { /* reported below */ }
    const bad = findings.filter((f) => ['node', 'addon', 'tflite'].includes(f.check) && f.status !== 'ok');
    if (findings.length === 0 || bad.length > 0) {
      await board.exec(`rm -rf ${sq(`${root}/versions/.new-${id}`)}`).catch(() => undefined);
      const why = bad.length > 0 ? bad.map((f) => `${f.check}: ${f.detail}${f.fix ? ` (fix: ${f.fix})` : ''}`).join('; ') : `no JSON from reef doctor (exit ${d.code}): ${(d.stderr || d.stdout).trim().slice(0, 300)}`;
      throw new ReefError('REEF_DEPLOY_INSTALL_FAILED', `the new reef does not run on ${board.target.host} (${why}); it was removed, the installed reef is unchanged`);
    }
    await board.run(`cd ${sq(root)} && mv -T ${sq(`versions/.new-${id}`)} ${sq(`versions/${id}`)}`, 'moving the install into place');
    unpackSeconds = (performance.now() - t2) / 1000;
  }
  step('switch', `switching ${root}/current and writing ${launcher}`);
  const rel = `versions/${id}`;
  const sw = await board.exec([
    `cd ${sq(root)} || exit 1`,
    'set -e',
    'old=$(readlink current 2>/dev/null || true)',
    `ln -sfn ${sq(rel)} .current.new && mv -Tf .current.new current`,
    `if [ -n "$old" ] && [ "$old" != ${sq(rel)} ]; then ln -sfn "$old" .previous.new && mv -Tf .previous.new previous; fi`,
    'keep=$(readlink previous 2>/dev/null || true)',
    `for d in versions/*; do [ "$d" = ${sq(rel)} ] || [ "$d" = "$keep" ] || rm -rf "$d"; done`,
    `tmp=${sq(`${launcher}.new-${randomBytes(4).toString('hex')}`)}`,
    `printf '%s' ${sq(launcherText(facts.nodePath, root))} > "$tmp" && chmod 755 "$tmp" && mv -f "$tmp" ${sq(launcher)}`,
    'echo "$old"',
    // Would a later `reef` over SSH find this launcher?
    `[ "$(command -v reef 2>/dev/null)" = ${sq(launcher)} ] && echo onpath=1 || true`,
  ].join('\n'), 'switching reef');
  if (sw.code !== 0) throw remoteFailure('switching reef', sw);
  const lines = sw.stdout.trim().split('\n');
  const onPath = lines.includes('onpath=1');
  const old = lines.filter((l) => l !== 'onpath=1').join('').trim().replace(/^versions\//, '');
  const total = (performance.now() - t0) / 1000;
  return {
    target: board.target.text, board: facts,
    reef: { version: packed.version, tarball: packed.file, sha256: packed.sha256 },
    staged, id, root, launcher, onPath, previous: old && old !== id ? old : null, alreadyInstalled: have,
    seconds: { pack: (ts - tp) / 1000, stage: (tc - ts) / 1000, copy: copySeconds, unpack: unpackSeconds, total },
  };
}
