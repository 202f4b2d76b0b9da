/**
 * bench:deploy — how long `reef deploy` takes and how fast it copies:
 * - over SSH to a real sshd on loopback (test/deploy/sshd.ts), against OpenSSH's own `scp` of the
 *   same file to the same server measured in the same run (ratio reef / scp, by throughput);
 * - over a serial line: two socat pty pairs with the fault injector pacing bytes at 115200 and
 *   921600 baud (a pty has no baud rate of its own), against the line rate baud/10 bytes/s
 *   (ratio = the protocol's efficiency: framing, CRC, escapes, acknowledgements).
 * - `--install` over SSH on loopback: reef packed (npm pack), staged for linux-x64 (npm install from
 *   the cache), then copied, checked, unpacked and switched on the board; the board part against
 *   `scp` of the same staged tarball (the copy alone), and once more from the staging cache.
 * Figures are reported (stdout table, --json), never asserted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy, installReef, type InstallResult } from '../src/deploy/deploy.js';
import { startSshd } from '../test/deploy/sshd.js';
import { startRig } from '../test/deploy/serial-rig.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared', 'models', 'tflite');
const json = process.argv.includes('--json');
const reps = Number(process.argv.find((a) => a.startsWith('--reps='))?.slice(7) ?? 3);
const med = (a: number[]): number => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] ?? 0; };

interface Row { link: string; model: string; bytes: number; deploy_s: number; copy_s: number; throughput_kBps: number; baseline: string; baseline_kBps: number; ratio: number; resent?: number }
const rows: Row[] = [];
let install: { first: InstallResult['seconds']; cached_total_s: number; staged_bytes: number; unpacked_bytes: number } | null = null;

// --- SSH on loopback
{
  const sshd = await startSshd();
  const work = mkdtempSync(join(tmpdir(), 'reef-bench-deploy-'));
  try {
    for (const model of ['mobilenet_v1_0.25_128_float.tflite', 'ssd_mobilenet_v1_coco_quant_postprocess.tflite']) {
      const file = join(SHARED, model);
      const bytes = statSync(file).size;
      const total: number[] = [];
      const copy: number[] = [];
      const scp: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        const r = await deploy(file, sshd.url(join(work, 'board')), { identity: [sshd.userKey], knownHosts: sshd.knownHosts, agent: '' });
        total.push((performance.now() - t0) / 1000);
        copy.push(r.copySeconds);
        const t = performance.now();
        execFileSync('scp', ['-q', '-i', sshd.userKey, '-o', `UserKnownHostsFile=${sshd.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-P', String(sshd.port), file, `${sshd.user}@127.0.0.1:${join(work, 'scp.tflite')}`]);
        scp.push((performance.now() - t) / 1000);
      }
      // Whole command against whole command (connect, copy, and for reef the check and switch too).
      const kBps = bytes / med(total) / 1000;
      const scpKBps = bytes / med(scp) / 1000;
      rows.push({ link: 'ssh loopback', model, bytes, deploy_s: med(total), copy_s: med(copy), throughput_kBps: kBps, baseline: 'scp, whole command', baseline_kBps: scpKBps, ratio: kBps / scpKBps });
    }
  } finally {
    await sshd.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

// --- reef deploy --install on loopback (fresh staging cache: pack and stage are measured too)
{
  const sshd = await startSshd();
  const work = mkdtempSync(join(tmpdir(), 'reef-bench-install-'));
  const saved = process.env.REEF_INSTALL_CACHE;
  process.env.REEF_INSTALL_CACHE = join(work, 'cache');
  try {
    const opts = { identity: [sshd.userKey], knownHosts: sshd.knownHosts, agent: '', binDir: join(work, 'bin') };
    const first = await installReef(sshd.url(join(work, 'board')), { ...opts, installDir: join(work, 'root1') });
    const again = await installReef(sshd.url(join(work, 'board')), { ...opts, installDir: join(work, 'root2') });
    const t = performance.now();
    execFileSync('scp', ['-q', '-i', sshd.userKey, '-o', `UserKnownHostsFile=${sshd.knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-P', String(sshd.port), first.staged.file, `${sshd.user}@127.0.0.1:${join(work, 'scp.tgz')}`]);
    const scp = (performance.now() - t) / 1000;
    const board = first.seconds.copy + first.seconds.unpack;
    const kBps = first.staged.bytes / board / 1000;
    rows.push({ link: 'ssh loopback --install', model: `reef ${first.reef.version} staged linux-x64 (.tgz)`, bytes: first.staged.bytes, deploy_s: board, copy_s: first.seconds.copy, throughput_kBps: kBps, baseline: 'scp of the .tgz', baseline_kBps: first.staged.bytes / scp / 1000, ratio: kBps / (first.staged.bytes / scp / 1000) });
    install = { first: first.seconds, cached_total_s: again.seconds.total, staged_bytes: first.staged.bytes, unpacked_bytes: first.staged.unpackedBytes };
  } finally {
    if (saved === undefined) delete process.env.REEF_INSTALL_CACHE;
    else process.env.REEF_INSTALL_CACHE = saved;
    await sshd.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

// --- Serial, paced at the baud rate by the injector
for (const [baud, model] of [[115200, 'resnet8_cifar10_int8.tflite'], [921600, 'resnet8_cifar10_int8.tflite'], [921600, 'vww_96_int8.tflite']] as const) {
  const rig = await startRig({ baud, injectorBaud: baud });
  try {
    const file = join(SHARED, model);
    const bytes = readFileSync(file).length;
    // Fresh transfers only (a rerun of the same file would resume, or be installed already).
    const r = await deploy(file, `serial://${rig.hostDev}?baud=${baud}`, { linkTimeoutMs: 20_000 });
    const kBps = bytes / r.copySeconds / 1000;
    const line = baud / 10 / 1000;
    rows.push({ link: `serial pty ${baud} baud`, model, bytes, deploy_s: r.seconds, copy_s: r.copySeconds, throughput_kBps: kBps, baseline: 'line rate baud/10', baseline_kBps: line, ratio: kBps / line, resent: r.link?.framesResent });
  } finally {
    await rig.stop();
  }
}

if (json) process.stdout.write(JSON.stringify({ reps, rows, install }, null, 2) + '\n');
else {
  process.stdout.write('link                   model                                            bytes   deploy s  copy s   kB/s    baseline              kB/s    ratio  resent\n');
  for (const r of rows) {
    process.stdout.write(`${r.link.padEnd(23)}${r.model.padEnd(48)}${String(r.bytes).padStart(8)} ${r.deploy_s.toFixed(2).padStart(9)} ${r.copy_s.toFixed(2).padStart(7)} ${r.throughput_kBps.toFixed(1).padStart(8)}    ${r.baseline.padEnd(20)}${r.baseline_kBps.toFixed(1).padStart(7)}  ${r.ratio.toFixed(2).padStart(6)}  ${r.resent ?? ''}\n`);
  }
  if (install) {
    const f = install.first;
    process.stdout.write(`\n--install (first board, nothing cached): pack ${f.pack.toFixed(1)} s, stage ${f.stage.toFixed(1)} s, copy ${f.copy.toFixed(1)} s, unpack + check ${f.unpack.toFixed(1)} s, total ${f.total.toFixed(1)} s; `
      + `next board (staged install cached): ${install.cached_total_s.toFixed(1)} s; ${(install.staged_bytes / 1e6).toFixed(1)} MB copied, ${(install.unpacked_bytes / 1e6).toFixed(1)} MB unpacked\n`);
  }
}
