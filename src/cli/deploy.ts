/**
 * `reef deploy BUNDLE TARGET`, `--rollback TARGET`, `--status TARGET`, `--bench`: parsing and printing
 * only; the work is in src/deploy.
 */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { ReefError } from '../errors.js';
import { benchOnBoard, deploy, installReef, rollback, runOnBoard, status, type ConnectOptions, type DeployResult, type InstallOptions, type InstallResult, type RollbackResult, type StatusResult } from '../deploy/deploy.js';
import { progressBar } from '../deploy/progress.js';
import type { ServiceSpec } from '../deploy/service.js';
import { checkWritable, parsePositiveInt, type CliIO } from './io.js';
import { describeBundle } from '../deploy/bundle-info.js';
import { deployFleet, fleetError, formatFleet, type FleetResult } from '../deploy/fleet.js';
import { limitHosts, readInventory } from '../deploy/inventory.js';
import { writeK8sManifests } from '../deploy/k8s.js';

export interface DeployCliOptions {
  rollback?: boolean;
  status?: boolean;
  bench?: boolean;
  benchOut?: string;
  run?: string;
  linkTimeout?: string;
  inventory?: string;
  parallel?: string;
  limit?: string;
  k8s?: string;
  image?: string;
  namespace?: string;
  nodeLabel?: string;
  hostDir?: string;
  port?: string;
  service?: string;
  unit?: string;
  unitDir?: string;
  knownHosts?: string;
  acceptNew?: boolean;
  identity?: string[];
  remoteReef?: string;
  install?: boolean | string;
  installDir?: string;
  binDir?: string;
  json?: boolean;
}

function usage(msg: string): ReefError {
  return new ReefError('REEF_INVALID_ARGUMENT', msg);
}

/** What the operands and flags ask for; pure. */
export function planDeploy(operands: string[], opts: DeployCliOptions): { job: 'deploy' | 'rollback' | 'status' | 'bench' | 'run' | 'install'; bundle?: string; target: string; extra: string[]; service?: ServiceSpec } {
  // `--install TARGET`: commander took the target as --install's optional tarball.
  if (typeof opts.install === 'string' && /^(ssh|serial):\/\//.test(opts.install)) {
    operands = [...operands, opts.install];
    opts = { ...opts, install: true };
  }
  if (opts.install && operands.length === 1 && /^(ssh|serial):\/\//.test(operands[0]!)) {
    if (opts.rollback || opts.status || opts.bench || opts.run !== undefined || opts.service !== undefined) {
      throw usage('Expected --install TARGET alone, or with a bundle: reef deploy BUNDLE TARGET --install [--service ...]');
    }
    return { job: 'install', target: operands[0]!, extra: [] };
  }
  if (opts.install && (opts.rollback || opts.status)) throw usage(`Expected --install only when installing or deploying, not with ${opts.rollback ? '--rollback' : '--status'}`);
  const modes = [opts.rollback && '--rollback', opts.status && '--status'].filter(Boolean);
  if (modes.length > 1) throw usage(`Expected one of --rollback and --status but received ${modes.join(' and ')}`);
  const kind = opts.service;
  if (kind !== undefined && kind !== 'serve' && kind !== 'camera') throw usage(`Expected serve or camera for --service but received "${kind}"`);
  if (opts.bench && opts.run !== undefined) throw usage('Expected one of --bench and --run but received both');
  const after = opts.bench ? '--bench' : opts.run !== undefined ? '--run' : undefined;
  // TARGET alone (a bundle's name never starts with ssh:// or serial://): what follows is for reef bench / run.
  const targetFirst = /^(ssh|serial):\/\//.test(operands[0] ?? '');
  if (opts.rollback || opts.status || (after && targetFirst)) {
    const extra = operands.slice(1);
    if (operands.length === 0 || (extra.length > 0 && !after) || (!after && !targetFirst)) throw usage(`Expected exactly one TARGET with ${modes[0] ?? after} but received ${operands.length} operand(s)`);
    if (modes.length > 0 && after) throw usage(`Expected ${modes[0]} alone, not with ${after}`);
    if (kind !== undefined) throw usage('Expected --service only when deploying a bundle (reef deploy BUNDLE TARGET --service serve)');
    return { job: opts.rollback ? 'rollback' : opts.status ? 'status' : opts.bench ? 'bench' : 'run', target: operands[0], extra };
  }
  if (operands.length < 2) throw usage(`Expected BUNDLE and TARGET (reef deploy model.reef ssh://pi@host/dir) but received ${operands.length === 0 ? 'none' : `only "${operands[0]}"`}`);
  const [bundle, target, ...extra] = operands;
  if (extra.length > 0 && kind === undefined && !after) throw usage(`Expected arguments after -- only with --service, --bench or --run but received "${extra.join(' ')}"`);
  const service = kind === undefined ? undefined : { kind, args: extra, unit: opts.unit, unitDir: opts.unitDir } as ServiceSpec;
  return { job: 'deploy', bundle, target, extra, service };
}

function connectOptions(opts: DeployCliOptions): ConnectOptions & { remoteReef?: string } {
  let linkTimeoutMs: number | undefined;
  if (opts.linkTimeout !== undefined) {
    const s = Number(opts.linkTimeout);
    if (!(s > 0)) throw usage(`Expected a positive number of seconds for --link-timeout but received "${opts.linkTimeout}"`);
    linkTimeoutMs = s * 1000;
  }
  return { knownHosts: opts.knownHosts, acceptNew: opts.acceptNew, identity: opts.identity, remoteReef: opts.remoteReef, linkTimeoutMs };
}

function installOptions(opts: DeployCliOptions, io: CliIO, bar: { update(done: number, total: number): void; end(): void }): InstallOptions {
  return {
    tarball: typeof opts.install === 'string' ? opts.install : undefined,
    installDir: opts.installDir, binDir: opts.binDir,
    onProgress: (p) => {
      if (p.phase === 'copy') bar.update(p.sent, p.total);
      else if (p.detail && !opts.json) { bar.end(); io.err(`install: ${p.detail}\n`); }
    },
  };
}

export function formatInstall(r: InstallResult): string {
  const lines = [
    `installed reef ${r.reef.version} on ${r.target} (${r.board.os} ${r.board.machine}, Node ${r.board.node.replace(/^v/, '')})${r.alreadyInstalled ? ': that version was there already, nothing copied' : ''}`,
    `  folder   ${r.root}/versions/${r.id} (current${r.previous ? `; previous: ${r.previous}` : ''})`,
    `  launcher ${r.launcher}${r.onPath ? '' : ` (not on the PATH of SSH commands: add ${r.launcher.replace(/\/reef$/, '')} to PATH in ~/.profile, or call it by its path)`}`,
    `  copy     ${kib(r.staged.bytes)} (${kib(r.staged.unpackedBytes)} unpacked, staged ${r.staged.cached ? 'before: from the cache' : 'now'}); sha256 ${r.staged.sha256}`,
    `  time     pack ${r.seconds.pack.toFixed(1)} s, stage ${r.seconds.stage.toFixed(1)} s, copy ${r.seconds.copy.toFixed(1)} s, unpack + check ${r.seconds.unpack.toFixed(1)} s; total ${r.seconds.total.toFixed(1)} s`,
  ];
  return lines.join('\n') + '\n';
}

function kib(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

export function formatDeploy(r: DeployResult): string {
  const lines = [
    `deployed ${r.release.file} to ${r.target}`,
    `  release  ${r.release.id}${r.previous ? ` (previous: ${r.previous})` : ''}`,
    `  sha256   ${r.boardSha256} (checked on the board)`,
    `  copy     ${kib(r.release.bytes)} in ${r.copySeconds.toFixed(2)} s (${kib(r.throughput)}/s); total ${r.seconds.toFixed(2)} s`,
  ];
  if (r.service) lines.push(`  service  ${r.service.unit}.service written to ${r.service.file}; ${r.service.calls.join(', ')}`);
  return lines.join('\n') + '\n';
}

export function formatRollback(r: RollbackResult): string {
  return `rolled back ${r.target} to ${r.current.id} (${r.current.file}, sha256 ${r.current.sha256}); ${r.previous} is now previous` +
    (r.service ? `\n  service ${r.service.unit}.service: ${r.service.calls.join(', ')}` : '') + '\n';
}

export function formatStatus(s: StatusResult): string {
  const lines = [`${s.target} (${s.dir})`];
  if (s.current) {
    lines.push(`  current  ${s.current.id}: ${s.current.file}${s.current.manifest ? ` (${s.current.manifest.name}, made ${s.current.manifest.created} by reef ${s.current.manifest.producer})` : ''}`);
    lines.push(`  sha256   ${s.current.boardSha256 || '(file missing)'} ${s.current.intact ? 'intact' : `DIFFERS from the deployed ${s.current.sha256}`}`);
  } else lines.push('  current  nothing deployed');
  lines.push(`  previous ${s.previous ? `${s.previous.id}: ${s.previous.file}` : 'none'}`);
  lines.push(`  service  ${s.service ? `${s.service.unit} ${s.service.active} (${s.service.unitFile})` : 'none installed'}`);
  if ('error' in s.doctor) lines.push(`  doctor   ${s.doctor.error}`);
  else {
    lines.push(`  doctor   ${s.doctor.summary.ok ?? 0} ok, ${s.doctor.summary.warn ?? 0} warning(s), ${s.doctor.summary.fail ?? 0} failure(s)`);
    for (const f of s.doctor.findings.filter((x) => x.status === 'fail' || x.status === 'warn')) lines.push(`    ${f.status.toUpperCase()} ${f.check}: ${f.detail}`);
  }
  return lines.join('\n') + '\n';
}

/** `--inventory`: one bundle to every board of an Ansible inventory, N at a time. */
async function fleetCommand(operands: string[], opts: DeployCliOptions, io: CliIO): Promise<FleetResult> {
  if (operands.length !== 1) throw usage(`Expected only BUNDLE with --inventory (the boards come from the inventory) but received ${operands.length} operand(s)`);
  if (opts.rollback || opts.status || opts.bench || opts.run !== undefined) throw usage('Expected --inventory only for deploying a bundle');
  if (opts.install) throw usage('Expected --install with one TARGET, not with --inventory: install reef on each board once (reef deploy --install ssh://USER@BOARD), then deploy to the inventory');
  const parallel = opts.parallel === undefined ? 4 : parsePositiveInt('--parallel', opts.parallel);
  const hosts = limitHosts(await readInventory(opts.inventory as string), opts.limit);
  const kind = opts.service;
  if (kind !== undefined && kind !== 'serve' && kind !== 'camera') throw usage(`Expected serve or camera for --service but received "${kind}"`);
  const tty = process.stderr.isTTY === true && !opts.json;
  const r = await deployFleet(operands[0], hosts, {
    ...connectOptions(opts), parallel,
    service: kind === undefined ? undefined : { kind, args: [], unit: opts.unit, unitDir: opts.unitDir },
    onHost: (e) => { if (tty) io.err(`${e.ok ? 'ok    ' : 'FAILED'} ${e.host}\n`); },
  });
  io.out(opts.json ? JSON.stringify(r) + '\n' : formatFleet(r));
  if (r.failed > 0) throw fleetError(r);
  return r;
}

/** `--k8s DIR`: Kubernetes manifests for the bundle. */
async function k8sCommand(operands: string[], opts: DeployCliOptions, io: CliIO): Promise<string[]> {
  if (operands.length !== 1) throw usage(`Expected only BUNDLE with --k8s DIR but received ${operands.length} operand(s)`);
  const info = await describeBundle(operands[0]);
  const files = await writeK8sManifests(opts.k8s as string, {
    bundleFile: info.file, image: opts.image, namespace: opts.namespace, nodeLabel: opts.nodeLabel, hostDir: opts.hostDir,
    port: opts.port === undefined ? undefined : parsePositiveInt('--port', opts.port),
  });
  io.out(opts.json ? JSON.stringify({ files }) + '\n' : `${files.map((f) => `wrote ${f}`).join('\n')}\napply with: kubectl apply -f ${opts.k8s}\n`);
  return files;
}

export async function deployCommand(operands: string[], opts: DeployCliOptions, io: CliIO): Promise<unknown> {
  if (opts.inventory !== undefined && opts.k8s !== undefined) throw usage('Expected one of --inventory and --k8s but received both');
  if (opts.inventory !== undefined) return fleetCommand(operands, opts, io);
  if (opts.k8s !== undefined) return k8sCommand(operands, opts, io);
  const plan = planDeploy(operands, opts);
  const conn = connectOptions(opts);
  if (opts.benchOut !== undefined) await checkWritable('--bench-out', opts.benchOut);
  const out = (v: unknown, text: string): void => io.out(opts.json ? JSON.stringify(v) + '\n' : text);
  if (plan.job === 'rollback') {
    const r = await rollback(plan.target, conn);
    out(r, formatRollback(r));
    return r;
  }
  if (plan.job === 'status') {
    const s = await status(plan.target, conn);
    out(s, formatStatus(s));
    return s;
  }
  if (plan.job === 'install') {
    const bar = progressBar(io, 'copy', process.stderr.isTTY === true && !opts.json);
    let r: InstallResult;
    try {
      r = await installReef(plan.target, { ...conn, ...installOptions(opts, io, bar) });
    } finally {
      bar.end();
    }
    out(r, formatInstall(r));
    return r;
  }
  let deployed: (DeployResult & { install?: InstallResult }) | undefined;
  if (plan.job === 'deploy') {
    const bar = progressBar(io, 'copy', process.stderr.isTTY === true && !opts.json);
    const ibar = progressBar(io, 'copy reef', process.stderr.isTTY === true && !opts.json);
    try {
      deployed = await deploy(plan.bundle as string, plan.target, {
        ...conn, service: plan.service,
        install: opts.install ? installOptions(opts, io, ibar) : undefined,
        onProgress: (p) => { if (p.phase === 'copy') bar.update(p.sent, p.total); },
      });
    } finally {
      ibar.end();
      bar.end();
    }
    // What runs next on the board (--bench, --run) uses the reef just installed.
    if (deployed.install) conn.remoteReef ??= deployed.install.launcher;
    if (!opts.bench && opts.run === undefined) {
      out(deployed, (deployed.install ? formatInstall(deployed.install) : '') + formatDeploy(deployed));
      return deployed;
    }
  }
  if (opts.run !== undefined) {
    const result = await runOnBoard(plan.target, opts.run, plan.service ? [] : plan.extra, conn);
    if (opts.json) io.out(JSON.stringify(deployed ? { deploy: deployed, run: result } : result) + '\n');
    else {
      if (deployed) io.out(formatDeploy(deployed));
      io.out(`reef run on ${plan.target}:\n${JSON.stringify(result, null, 2)}\n`);
    }
    return deployed ? { deploy: deployed, run: result } : result;
  }
  const bench = await benchOnBoard(plan.target, plan.service ? [] : plan.extra, conn);
  if (opts.benchOut !== undefined) await writeFile(opts.benchOut, JSON.stringify(bench) + '\n');
  if (opts.json) io.out(JSON.stringify(deployed ? { deploy: deployed, bench } : bench) + '\n');
  else {
    if (deployed) io.out(formatDeploy(deployed));
    const b = (Array.isArray(bench) ? bench[0] : bench) as { latency_ms?: { p50?: number }; throughput_ips?: number; env?: { cpu?: string } };
    io.out(`bench on ${plan.target}: p50 ${b.latency_ms?.p50?.toFixed(2) ?? '?'} ms, ${b.throughput_ips?.toFixed(1) ?? '?'} inferences/s` +
      `${opts.benchOut ? `; written to ${opts.benchOut} (compare: reef bench MODEL --compare ${opts.benchOut})` : ''}\n`);
  }
  return deployed ? { deploy: deployed, bench } : bench;
}

export function registerDeploy(program: Command, io: CliIO): void {
  program
    .command('deploy')
    .description('copy a bundle to a board (ssh://user@host[:port][/dir] or serial:///dev/ttyUSB0?baud=115200), check it there, switch it in; --rollback, --status, --bench, --run')
    .argument('[operands...]', 'BUNDLE TARGET, or TARGET alone with --rollback/--status/--bench; after --: arguments for the service or for reef bench')
    .option('--service <kind>', 'install and (re)start a systemd unit running `reef serve` or `reef camera` on the bundle')
    .option('--unit <name>', 'unit name (default reef-serve / reef-camera)')
    .option('--unit-dir <dir>', 'folder for the unit file on the board (default /etc/systemd/system)')
    .option('--rollback', 'go back to the previous release on TARGET')
    .option('--status', 'show the release, its sha256 on the board, the service and `reef doctor` of TARGET')
    .option('--bench', 'run `reef bench --json` on the board (after deploying, or on TARGET\'s current release) and bring it back')
    .option('--run <input>', 'run `reef run` on the board on INPUT (an image, copied there first) with the current release; arguments after -- go to it')
    .option('--link-timeout <s>', 'serial: give up when the board has been silent this long (default 10; a rerun resumes)')
    .option('--bench-out <file>', 'write the board\'s bench JSON here (for `reef bench MODEL --compare FILE`)')
    .option('--known-hosts <file>', 'known_hosts file (default ~/.ssh/known_hosts)')
    .option('--accept-new', 'trust and record a host key that known_hosts does not have yet (a changed key is still refused)')
    .option('--identity <file...>', 'private key file(s) to offer (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)')
    .option('--remote-reef <cmd>', 'reef on the board (default: reef on its PATH, else ~/.local/bin/reef)')
    .option('--install [reef.tgz]', 'put reef on the board first (it needs Node 20+, no compiler, no registry): packs this reef (or takes the npm pack tarball given), stages it here for the board\'s CPU, copies and checks it; reef deploy --install TARGET installs only')
    .option('--install-dir <dir>', 'with --install: folder on the board (default ~/.reef; versions/, current, previous)')
    .option('--bin-dir <dir>', 'with --install: folder for the reef launcher on the board (default ~/.local/bin)')
    .option('--inventory <hosts.yml>', 'deploy BUNDLE to every host of an Ansible YAML inventory (ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file, reef_dir)')
    .option('--parallel <n>', 'with --inventory: boards at a time (default 4)')
    .option('--limit <names>', 'with --inventory: only these hosts or groups (comma-separated)')
    .option('--k8s <dir>', 'write Kubernetes manifests for BUNDLE into DIR: a DaemonSet running reef serve on Edge TPU nodes and a KServe ServingRuntime')
    .option('--image <image>', 'with --k8s: container image with reef (default reef:VERSION)')
    .option('--namespace <ns>', 'with --k8s: namespace (default default)')
    .option('--node-label <k=v>', 'with --k8s: label of Edge TPU nodes (default reef.dev/edgetpu=true)')
    .option('--host-dir <dir>', 'with --k8s: deploy folder on the nodes (default /var/lib/reef)')
    .option('--port <port>', 'with --k8s: port reef serve listens on (default 8080)')
    .option('--json', 'print JSON')
    .action(async (operands: string[], opts: DeployCliOptions) => {
      await deployCommand(operands, opts, io);
    });
}
