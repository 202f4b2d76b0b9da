/**
 * reef deploy over SSH against a real OpenSSH server on loopback (see sshd.ts): host key checking,
 * authentication, the copy/verify/rename, rollback, and the faults (dropped session, full disk,
 * read-only disk) that must leave the installed release untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy, rollback, status } from '../../src/deploy/deploy.js';
import { progressBar } from '../../src/deploy/progress.js';
import { buildBundle } from '../../src/package/writer.js';
import { codeOf, sha } from './helpers.js';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';
import { startSshd, type Sshd } from './sshd.js';

const SMALL = sharedPath('models/tflite/hello_world_float.tflite');
const MEDIUM = sharedPath('models/tflite/resnet8_cifar10_int8.tflite');
const LARGE = sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');


let sshd: Sshd;
let work: string;
let n = 0;
/** A fresh deploy folder on the "board". */
const boardDir = (): string => join(work, `board${++n}`);

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'reef-deploy-'));
});

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const auth = (): { identity: string[]; knownHosts: string; agent: string } => ({ identity: [sshd.userKey], knownHosts: sshd.knownHosts, agent: '' });

describe('host keys', () => {
  it('EXPECTED FAILURE - an unknown host key is refused, naming the fingerprint ssh-keygen prints; nothing is copied', async () => {
    const kh = join(work, 'empty_known_hosts');
    const dir = boardDir();
    const e = await codeOf(deploy(SMALL, sshd.url(dir), { ...auth(), knownHosts: kh }));
    expect(e.code).toBe('REEF_DEPLOY_HOST_UNKNOWN');
    expect(e.message).toContain(sshd.hostFingerprint);
    expect(e.message).toContain('--accept-new');
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(kh)).toBe(false);
  });

  it('--accept-new trusts and records the key; the next deploy needs no flag', async () => {
    const kh = join(work, 'new_known_hosts');
    const dir = boardDir();
    await deploy(SMALL, sshd.url(dir), { ...auth(), knownHosts: kh, acceptNew: true });
    expect(readFileSync(kh, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostPub.split(' ').slice(0, 2).join(' ')}\n`);
    // ssh itself agrees with what was recorded.
    expect(execFileSync('ssh-keygen', ['-F', `[127.0.0.1]:${sshd.port}`, '-f', kh], { encoding: 'utf8' })).toContain(sshd.hostPub.split(' ')[1]);
    const again = await deploy(MEDIUM, sshd.url(dir), { ...auth(), knownHosts: kh });
    expect(again.boardSha256).toBe(sha(MEDIUM));
  });

  it('EXPECTED FAILURE - a changed host key is refused loudly, also with --accept-new', async () => {
    const kh = join(work, 'changed_known_hosts');
    const other = mkdtempSync(join(tmpdir(), 'reef-otherkey-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(other, 'k')]);
    const otherPub = readFileSync(join(other, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${otherPub}\n`);
    const dir = boardDir();
    for (const acceptNew of [false, true]) {
      const e = await codeOf(deploy(SMALL, sshd.url(dir), { ...auth(), knownHosts: kh, acceptNew }));
      expect(e.code).toBe('REEF_DEPLOY_HOST_KEY_CHANGED');
      expect(e.message).toContain(`WARNING: the host key of [127.0.0.1]:${sshd.port} has CHANGED (now ssh-ed25519 ${sshd.hostFingerprint}; ${kh}:1 records another)`);
    }
    expect(readFileSync(kh, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${otherPub}\n`);
    expect(existsSync(dir)).toBe(false);
    rmSync(other, { recursive: true, force: true });
  });

  it('a hashed known_hosts entry (ssh-keygen -H) is matched', async () => {
    const kh = join(work, 'hashed_known_hosts');
    copyFileSync(sshd.knownHosts, kh);
    execFileSync('ssh-keygen', ['-H', '-f', kh], { stdio: 'ignore' });
    expect(readFileSync(kh, 'utf8').startsWith('|1|')).toBe(true);
    const r = await deploy(SMALL, sshd.url(boardDir()), { ...auth(), knownHosts: kh });
    expect(r.boardSha256).toBe(sha(SMALL));
  });
});

describe('authentication', () => {
  it('EXPECTED FAILURE - a key the board does not accept gives REEF_DEPLOY_AUTH_FAILED', async () => {
    const dir = boardDir();
    const e = await codeOf(deploy(SMALL, sshd.url(dir), { ...auth(), identity: [sshd.strangerKey] }));
    expect(e.code).toBe('REEF_DEPLOY_AUTH_FAILED');
    expect(e.message).toBe(`${sshd.user}@127.0.0.1:${sshd.port} refused every key offered (key file)`);
    expect(existsSync(dir)).toBe(false);
  });

  it('EXPECTED FAILURE - nothing listening gives REEF_DEPLOY_CONNECT_FAILED', async () => {
    const e = await codeOf(deploy(SMALL, `ssh://${sshd.user}@127.0.0.1:1/x`, auth()));
    expect(e.code).toBe('REEF_DEPLOY_CONNECT_FAILED');
    expect(e.message).toContain('ECONNREFUSED');
  });
});

describe('copy, verify, switch, rollback', () => {
  it('installs a release, keeps the previous one, and rolls back and forth', async () => {
    const dir = boardDir();
    const a = await deploy(SMALL, sshd.url(dir), auth());
    expect(a.boardSha256).toBe(sha(SMALL));
    expect(a.previous).toBe(null);
    const b = await deploy(MEDIUM, sshd.url(dir), auth());
    expect(b.previous).toBe(a.release.id);
    expect(readlinkSync(join(dir, 'current'))).toBe(`releases/${b.release.id}`);
    expect(readlinkSync(join(dir, 'previous'))).toBe(`releases/${a.release.id}`);
    expect(sha(join(dir, 'current', 'resnet8_cifar10_int8.tflite'))).toBe(sha(MEDIUM));
    expect(JSON.parse(readFileSync(join(dir, 'current', 'release.json'), 'utf8'))).toEqual(b.release);
    // A third deploy prunes the oldest release: only current and previous are kept.
    const c = await deploy(SMALL, sshd.url(dir), auth());
    expect(readdirSync(join(dir, 'releases')).sort()).toEqual([b.release.id, c.release.id].sort());

    const r = await rollback(sshd.url(dir), auth());
    expect(r.current.id).toBe(b.release.id);
    expect(r.previous).toBe(c.release.id);
    expect(sha(join(dir, 'current', 'resnet8_cifar10_int8.tflite'))).toBe(sha(MEDIUM));
    const back = await rollback(sshd.url(dir), auth());
    expect(back.current.id).toBe(c.release.id);
  });

  it('EXPECTED FAILURE - rollback with no previous release gives REEF_DEPLOY_NOTHING_TO_ROLLBACK', async () => {
    const dir = boardDir();
    expect((await codeOf(rollback(sshd.url(dir), auth()))).code).toBe('REEF_DEPLOY_NOTHING_TO_ROLLBACK');
    await deploy(SMALL, sshd.url(dir), auth());
    expect((await codeOf(rollback(sshd.url(dir), auth()))).code).toBe('REEF_DEPLOY_NOTHING_TO_ROLLBACK');
    expect(readlinkSync(join(dir, 'current')).startsWith('releases/')).toBe(true);
  });

  it('EXPECTED FAILURE - the session killed mid-copy gives REEF_DEPLOY_CONNECTION_LOST; the installed release is untouched', async () => {
    const dir = boardDir();
    const a = await deploy(SMALL, sshd.url(dir), auth());
    let killed = 0;
    const e = await codeOf(deploy(LARGE, sshd.url(dir), {
      ...auth(),
      onProgress: (p) => {
        if (p.phase === 'copy' && p.sent >= 512 * 1024 && killed === 0) {
          for (const pid of sshd.sessions()) { process.kill(pid, 'SIGKILL'); killed++; }
        }
      },
    }));
    expect(killed).toBeGreaterThan(0);
    expect(e.code).toBe('REEF_DEPLOY_CONNECTION_LOST');
    expect(readlinkSync(join(dir, 'current'))).toBe(`releases/${a.release.id}`);
    expect(sha(join(dir, 'current', 'hello_world_float.tflite'))).toBe(sha(SMALL));
    expect(readdirSync(join(dir, 'releases')).filter((f) => !f.startsWith('.'))).toEqual([a.release.id]);
    // The next deploy clears the partial copy and succeeds.
    const b = await deploy(LARGE, sshd.url(dir), auth());
    expect(b.boardSha256).toBe(sha(LARGE));
    expect(readdirSync(join(dir, 'releases')).sort()).toEqual([a.release.id, b.release.id].sort());
  });
});

// Real full and read-only disks: small tmpfs mounts (needs root, as CI's setup runs).
describe.runIf(process.getuid?.() === 0)('disk faults on the board', () => {
  const mounts: string[] = [];
  const mount = (opts: string): string => {
    const m = mkdtempSync(join(tmpdir(), 'reef-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', m]);
    mounts.push(m);
    return m;
  };
  afterAll(() => {
    for (const m of mounts) {
      try { execFileSync('umount', [m]); } catch { /* already */ }
      rmSync(m, { recursive: true, force: true });
    }
  });

  it('EXPECTED FAILURE - a bundle larger than the free space gives REEF_DEPLOY_NO_SPACE; the installed release is untouched', async () => {
    const m = mount('size=160k');
    const dir = join(m, 'reef');
    const a = await deploy(SMALL, sshd.url(dir), auth());
    const e = await codeOf(deploy(MEDIUM, sshd.url(dir), auth()));
    expect(e.code).toBe('REEF_DEPLOY_NO_SPACE');
    expect(e.message).toMatch(/has \d+ KiB free and resnet8_cifar10_int8.tflite needs 97 KiB/);
    expect(readlinkSync(join(dir, 'current'))).toBe(`releases/${a.release.id}`);
    expect(sha(join(dir, 'current', 'hello_world_float.tflite'))).toBe(sha(SMALL));
    expect(readdirSync(join(dir, 'releases'))).toEqual([a.release.id]);
  });

  it('EXPECTED FAILURE - a read-only deploy folder gives REEF_DEPLOY_PERMISSION_DENIED', async () => {
    const m = mount('size=1m');
    const a = await deploy(SMALL, sshd.url(join(m, 'reef')), auth());
    execFileSync('mount', ['-o', 'remount,ro', m]);
    const e = await codeOf(deploy(MEDIUM, sshd.url(join(m, 'reef')), auth()));
    expect(e.code).toBe('REEF_DEPLOY_PERMISSION_DENIED');
    expect(e.message).toContain('Read-only file system');
    expect(readlinkSync(join(m, 'reef', 'current'))).toBe(`releases/${a.release.id}`);
  });
});

describe('reef deploy (CLI)', () => {
  it('--json prints the result; --status shows the release, its sha256 on the board and the board\'s reef doctor', async () => {
    const dir = boardDir();
    const base = ['--identity', sshd.userKey, '--known-hosts', sshd.knownHosts];
    const d = await cli('deploy', MEDIUM, sshd.url(dir), ...base, '--json');
    expect(d.code).toBe(0);
    const r = JSON.parse(d.out);
    expect(r.boardSha256).toBe(sha(MEDIUM));
    expect(r.release.bytes).toBe(readFileSync(MEDIUM).length);
    const s = await cli('deploy', '--status', sshd.url(dir), ...base, '--json');
    expect(s.code).toBe(0);
    const st = JSON.parse(s.out);
    expect(st.current).toEqual({ ...r.release, boardSha256: sha(MEDIUM), intact: true });
    expect(st.service).toBe(null);
    // The board's own reef doctor ran there (through the board's PATH) and answered.
    const local = JSON.parse((await cli('doctor', '--json')).out);
    expect(st.doctor.findings.map((f: { check: string }) => f.check)).toEqual(local.findings.map((f: { check: string }) => f.check));
  });

  it('EXPECTED FAILURE - bad targets and option mixes are usage errors with codes', async () => {
    const t = await cli('deploy', SMALL, 'ftp://x/y', '--json');
    expect(t.code).toBe(1);
    expect(JSON.parse(t.out).error.code).toBe('REEF_DEPLOY_TARGET_INVALID');
    const u = await cli('deploy', SMALL, '--json');
    expect(u.code).toBe(2);
    expect(JSON.parse(u.out).error.message).toBe(`Expected BUNDLE and TARGET (reef deploy model.reef ssh://pi@host/dir) but received only "${SMALL}"`);
    const v = await cli('deploy', SMALL, sshd.url('/x'), '--service', 'nginx', '--json');
    expect(JSON.parse(v.out).error.message).toBe('Expected serve or camera for --service but received "nginx"');
    const w = await cli('deploy', join(work, 'missing.tflite'), sshd.url('/x'), '--json');
    expect(JSON.parse(w.out).error.code).toBe('REEF_FILE_NOT_FOUND');
  });
});

describe('--service, --status, --bench', () => {
  it('--service serve writes a Restart=on-failure unit, reloads, enables and restarts it (systemctl stand-in); --status shows it active; rollback restarts it on the old release', async () => {
    const dir = boardDir();
    const unitDir = join(work, `units${n}`);
    const base = ['--identity', sshd.userKey, '--known-hosts', sshd.knownHosts];
    writeFileSync(sshd.systemctlLog, '');
    const first = await cli('deploy', SMALL, sshd.url(dir), ...base, '--json');
    expect(first.code).toBe(0);
    const d = await cli('deploy', MEDIUM, sshd.url(dir), ...base, '--service', 'serve', '--unit-dir', unitDir, '--json', '--', '--port', '8080');
    expect(d.code).toBe(0);
    const r = JSON.parse(d.out);
    expect(r.service).toEqual({ unit: 'reef-serve', file: `${unitDir}/reef-serve.service`, calls: ['systemctl daemon-reload', 'systemctl enable reef-serve.service', 'systemctl restart reef-serve.service'] });
    const unit = readFileSync(join(unitDir, 'reef-serve.service'), 'utf8');
    const reefOnBoard = join(process.cwd(), 'test/deploy/board-bin/reef');
    expect(unit).toContain(`\nExecStart=${reefOnBoard} serve ${dir}/current/resnet8_cifar10_int8.tflite --port 8080\n`);
    expect(unit).toContain('\nRestart=on-failure\n');
    expect(unit).toContain(`\nUser=${sshd.user}\n`);
    expect(unit).toContain('\nWantedBy=multi-user.target\n');
    expect(readFileSync(sshd.systemctlLog, 'utf8')).toBe('daemon-reload\nenable reef-serve.service\nrestart reef-serve.service\n');
    const s = JSON.parse((await cli('deploy', '--status', sshd.url(dir), ...base, '--json')).out);
    expect(s.service).toEqual({ unit: 'reef-serve.service', active: 'active', unitFile: `${unitDir}/reef-serve.service` });
    const text = (await cli('deploy', '--status', sshd.url(dir), ...base)).out;
    expect(text).toContain(`  service  reef-serve.service active (${unitDir}/reef-serve.service)\n`);
    expect(text).toContain(`  sha256   ${sha(MEDIUM)} intact\n`);
    // Rollback rewrites the unit for the old release and restarts it.
    const b = await cli('deploy', '--rollback', sshd.url(dir), ...base, '--json');
    expect(JSON.parse(b.out).current.file).toBe('hello_world_float.tflite');
    expect(readFileSync(join(unitDir, 'reef-serve.service'), 'utf8')).toContain(`\nExecStart=${reefOnBoard} serve ${dir}/current/hello_world_float.tflite --port 8080\n`);
    expect(readFileSync(sshd.systemctlLog, 'utf8').split('\n').slice(-4).join('\n')).toBe('daemon-reload\nenable reef-serve.service\nrestart reef-serve.service\n');
  });

  it('--bench runs reef bench on the board and brings the JSON back; reef bench MODEL --compare FILE sets it beside this machine', async () => {
    const dir = boardDir();
    const out = join(work, 'board-bench.json');
    const base = ['--identity', sshd.userKey, '--known-hosts', sshd.knownHosts];
    const d = await cli('deploy', MEDIUM, sshd.url(dir), ...base, '--bench', '--bench-out', out, '--json', '--', '--runs', '5', '--warmup', '1');
    expect(d.code).toBe(0);
    const r = JSON.parse(d.out);
    expect(r.deploy.boardSha256).toBe(sha(MEDIUM));
    expect(r.bench.model).toBe(`${dir}/current/resnet8_cifar10_int8.tflite`);
    expect(r.bench.series.latency_ms).toHaveLength(5);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(r.bench);
    const c = await cli('bench', MEDIUM, '--runs', '5', '--warmup', '1', '--compare', out, '--json');
    expect(c.code).toBe(0);
    const cmp = JSON.parse(c.out);
    expect(JSON.stringify(cmp)).toContain('this-machine.json');
    expect(JSON.stringify(cmp)).toContain('board-bench.json');
  });
});

describe('ssh-agent', () => {
  it('authenticates with a key held by a real ssh-agent (no key file given)', async () => {
    const sock = join(work, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      execFileSync('ssh-add', ['-q', sshd.userKey], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const dir = boardDir();
      const r = await deploy(SMALL, sshd.url(dir), { knownHosts: sshd.knownHosts, identity: [], agent: sock });
      expect(r.boardSha256).toBe(sha(SMALL));
      // The same agent without the key: refused, naming what was offered.
      execFileSync('ssh-add', ['-q', '-D'], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const e = await codeOf(deploy(SMALL, sshd.url(dir), { knownHosts: sshd.knownHosts, identity: [], agent: sock }));
      expect(e.code).toBe('REEF_DEPLOY_AUTH_FAILED');
      expect(e.message).toBe(`${sshd.user}@127.0.0.1:${sshd.port} refused every key offered (ssh-agent)`);
    } finally {
      agent.kill('SIGTERM');
    }
  });
});

describe('progress bar', () => {
  it('draws on a terminal only, redrawn in place, and clears its line at the end', () => {
    let text = '';
    const bar = progressBar({ err: (t) => { text += t; } }, 'copy', true);
    bar.update(1_500_000, 3_000_000);
    expect(text).toMatch(/^\r\x1b\[Kcopy \[#{15}\.{15}\]  50% 1\.50\/3\.00 MB \d+\.\d+ MB\/s$/);
    bar.end();
    expect(text.endsWith('\r\x1b[K')).toBe(true);
    let off = '';
    const quiet = progressBar({ err: (t) => { off += t; } }, 'copy', false);
    quiet.update(1, 2);
    quiet.end();
    expect(off).toBe('');
  });
});

describe('.reef bundles', () => {
  it('--status names the bundle from its manifest; a broken .reef is refused before any connection', async () => {
    const { bytes, manifest } = buildBundle({
      name: 'resnet8', created: '2026-01-01T00:00:00.000Z',
      variants: [{ name: 'cpu-int8', data: readFileSync(MEDIUM), source: 'resnet8_cifar10_int8.tflite' }],
    });
    const file = join(work, 'resnet8.reef');
    writeFileSync(file, bytes);
    const dir = boardDir();
    const base = ['--identity', sshd.userKey, '--known-hosts', sshd.knownHosts];
    expect((await cli('deploy', file, sshd.url(dir), ...base)).code).toBe(0);
    const s = JSON.parse((await cli('deploy', '--status', sshd.url(dir), ...base, '--json')).out);
    expect(s.current.manifest).toEqual({ name: 'resnet8', created: '2026-01-01T00:00:00.000Z', producer: manifest.producer });
    expect(s.current.sha256).toBe(sha(file));
    const text = (await cli('deploy', '--status', sshd.url(dir), ...base)).out;
    expect(text).toContain(`resnet8.reef (resnet8, made 2026-01-01T00:00:00.000Z by reef ${manifest.producer})`);
    const broken = join(work, 'broken.reef');
    writeFileSync(broken, 'not a tar');
    const e = await cli('deploy', broken, `ssh://${sshd.user}@127.0.0.1:1/x`, '--json');
    expect(JSON.parse(e.out).error.code).toBe('REEF_BUNDLE_INVALID');
  });
});
