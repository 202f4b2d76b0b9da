/**
 * reef deploy over a serial line: the real `reef agent` on one end of two socat pty pairs, a fault
 * injector between them (serial-rig.ts). Whatever the line does, the file arrives intact or the
 * command fails with a coded error, and `current` on the board never names a partial file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { deploy, rollback, status } from '../../src/deploy/deploy.js';
import { codeOf, sha } from './helpers.js';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';
import { startRig, type SerialRig } from './serial-rig.js';
import { SerialLink } from '../../src/deploy/serial/link.js';
import { json, sendFile } from '../../src/deploy/serial/host.js';
import { OP } from '../../src/deploy/serial/protocol.js';
import { releaseFor } from '../../src/deploy/bundle-info.js';

const SMALL = sharedPath('models/tflite/hello_world_float.tflite');
const MEDIUM = sharedPath('models/tflite/resnet8_cifar10_int8.tflite');
const LARGER = sharedPath('models/tflite/vww_96_int8.tflite');
const MNIST_LSTM = sharedPath('models/tflite/mnist_lstm_float.tflite');


let rig: SerialRig;
const url = (): string => `serial://${rig.hostDev}?baud=921600`;
const installed = (): string => readlinkSync(join(rig.boardDir, 'current'));

beforeAll(async () => {
  rig = await startRig({ baud: 921600 });
});

afterAll(async () => {
  await rig?.stop();
});

describe('reef deploy serial://', () => {
  it('a clean line: the file arrives, its sha256 checked on the board, switched into place', async () => {
    const r = await deploy(SMALL, url());
    expect(r.boardSha256).toBe(sha(SMALL));
    expect(r.resumedBytes).toBe(0);
    expect(installed()).toBe(`releases/${r.release.id}`);
    expect(sha(join(rig.boardDir, 'current', 'hello_world_float.tflite'))).toBe(sha(SMALL));
  });

  it('dropped, corrupted and delayed bytes: resent until intact', async () => {
    await rig.injector('drop 0.0003');
    await rig.injector('corrupt 0.0003');
    await rig.injector('delay 0.05 40');
    try {
      const r = await deploy(MEDIUM, url(), { linkTimeoutMs: 5000 });
      expect(r.boardSha256).toBe(sha(MEDIUM));
      expect(r.link?.framesResent).toBeGreaterThan(0);
      expect(sha(join(rig.boardDir, 'current', 'resnet8_cifar10_int8.tflite'))).toBe(sha(MEDIUM));
      const stats = JSON.parse(await rig.injector('stats'));
      expect(stats.dropped).toBeGreaterThan(0);
      expect(stats.corrupted).toBeGreaterThan(0);
    } finally {
      await rig.injector('drop 0');
      await rig.injector('corrupt 0');
      await rig.injector('delay 0 0');
    }
  });

  it('EXPECTED FAILURE - the cable pulled mid-copy gives REEF_DEPLOY_LINK_LOST, nothing half-installed; the rerun resumes', async () => {
    const before = installed();
    let cut = false;
    const e = await codeOf(deploy(LARGER, url(), {
      linkTimeoutMs: 1500,
      onProgress: (p) => { if (p.phase === 'copy' && !cut && p.sent > p.total * 0.4) { cut = true; void rig.injector('cut'); } },
    }));
    expect(e.code).toBe('REEF_DEPLOY_LINK_LOST');
    expect(e.message).toMatch(/^nothing heard from the board on .* for \d+\.\d s \(cable pulled\? is `reef agent --serial` running there at 921600 baud\?\)$/);
    expect(installed()).toBe(before);
    expect(sha(join(rig.boardDir, 'current', 'resnet8_cifar10_int8.tflite'))).toBe(sha(MEDIUM));
    await rig.injector('restore');
    const r = await deploy(LARGER, url());
    expect(r.boardSha256).toBe(sha(LARGER));
    // At least what was acknowledged before the cut (less what the lagging bitmap resends) was not sent again.
    expect(r.resumedBytes).toBeGreaterThan(readFileSync(LARGER).length * 0.3);
    expect(r.resumedBytes).toBeLessThan(readFileSync(LARGER).length);
    expect(sha(join(rig.boardDir, 'current', 'vww_96_int8.tflite'))).toBe(sha(LARGER));
    expect(readdirSync(join(rig.boardDir, 'releases')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('EXPECTED FAILURE - a line that garbles every frame gives REEF_DEPLOY_LINK_LOST; the installed release is untouched', async () => {
    const before = installed();
    await rig.injector('corrupt 0.3');
    try {
      const e = await codeOf(deploy(SMALL, url(), { linkTimeoutMs: 1500 }));
      expect(e.code).toBe('REEF_DEPLOY_LINK_LOST');
    } finally {
      await rig.injector('corrupt 0');
    }
    expect(installed()).toBe(before);
  });

  it('rollback, status, reef run and reef bench on the board over the same link', async () => {
    const r = await rollback(url());
    expect(r.current.file).toBe('resnet8_cifar10_int8.tflite');
    const s = await status(url());
    expect(s.current?.boardSha256).toBe(sha(MEDIUM));
    expect(s.current?.intact).toBe(true);
    expect(s.previous?.file).toBe('vww_96_int8.tflite');
    expect('findings' in s.doctor).toBe(true);

    const model = sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite');
    const image = sharedPath('images/misc/grace_hopper.jpg');
    const local = JSON.parse((await cli('run', model, image, '--json')).out);
    const d = await cli('deploy', model, url(), '--run', image, '--json');
    expect(d.code).toBe(0);
    const remote = JSON.parse(d.out);
    expect(remote.deploy.boardSha256).toBe(sha(model));
    expect(remote.run.results[0].top).toEqual(local.results[0].top);
    expect(remote.run.results[0].image).toBe(join(rig.boardDir, 'inputs', 'grace_hopper.jpg'));
    expect(existsSync(join(rig.boardDir, 'inputs', 'grace_hopper.jpg'))).toBe(true);

    const b = await cli('deploy', '--bench', url(), '--json', '--', '--runs', '3', '--warmup', '1');
    expect(b.code).toBe(0);
    const bench = JSON.parse(b.out);
    expect(bench.model).toBe(join(rig.boardDir, 'current', 'mobilenet_v1_0.25_128_float.tflite'));
    expect(bench.series.latency_ms).toHaveLength(3);
  });

  it('EXPECTED FAILURE - a file whose sha256 on the board differs from the one announced is removed, not installed (REEF_DEPLOY_CHECKSUM_MISMATCH)', async () => {
    const before = installed();
    const link = await SerialLink.open(rig.hostDev, 921600);
    try {
      await json(link, OP.hello);
      const bytes = readFileSync(SMALL);
      const claimed = sha(MEDIUM);
      const { handle } = await sendFile(link, 'release', 'hello_world_float.tflite', bytes, claimed);
      const release = releaseFor({ path: SMALL, file: 'hello_world_float.tflite', bytes: bytes.length, sha256: claimed, manifest: null });
      const e = await codeOf(json(link, OP.commit, { handle, sha256: claimed, release }));
      expect(e.code).toBe('REEF_DEPLOY_CHECKSUM_MISMATCH');
      expect(e.message).toBe(`the board (reef agent) answered: the received hello_world_float.tflite has sha256 ${sha(SMALL)} but the host sent ${claimed}; it was removed, the installed version is unchanged`);
    } finally {
      await link.close();
    }
    expect(installed()).toBe(before);
    expect(readdirSync(join(rig.boardDir, 'releases')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('EXPECTED FAILURE - a device that does not exist gives REEF_DEPLOY_CONNECT_FAILED; --service is refused on serial', async () => {
    const e = await codeOf(deploy(SMALL, 'serial:///dev/reef-no-such-tty?baud=115200'));
    expect(e.code).toBe('REEF_DEPLOY_CONNECT_FAILED');
    expect(e.message).toMatch(/^cannot open \/dev\/reef-no-such-tty: /);
    const s = await codeOf(deploy(SMALL, url(), { service: { kind: 'serve', args: [] } }));
    expect(s.code).toBe('REEF_DEPLOY_TARGET_INVALID');
    const a = await cli('agent', '--serial', '/dev/reef-no-such-tty', '--json');
    expect(a.code).toBe(1);
    expect(JSON.parse(a.out).error.code).toBe('REEF_DEPLOY_CONNECT_FAILED');
  });

  it('EXPECTED FAILURE - a line that damages every long frame (short ones pass, no randomness): REEF_DEPLOY_LINK_UNRELIABLE; nothing is put in place', async () => {
    const before = installed();
    const releases = (): string[] => readdirSync(join(rig.boardDir, 'releases')).filter((f) => !f.startsWith('.')).sort();
    const had = releases();
    // BEGIN, its answer and the acknowledgements are short frames and pass; every 1 KiB chunk frame
    // arrives damaged, fails its CRC and is never answered, while the board keeps answering the rest.
    await rig.injector('long 256');
    try {
      const e = await codeOf(deploy(MNIST_LSTM, url(), { maxTries: 4, linkTimeoutMs: 60_000 }));
      expect(e.code).toBe('REEF_DEPLOY_LINK_UNRELIABLE');
      expect(e.message.replace(/\(\d+ damaged/, '(N damaged')).toBe(`a request on ${rig.hostDev} went unanswered 4 times while the board still answered others (N damaged frames so far)`);
    } finally {
      await rig.injector('long 0');
    }
    expect(JSON.parse(await rig.injector('stats')).longDamaged).toBeGreaterThan(1024);
    // `current` is as it was, no new release, and no file of the failed copy outside releases/.incoming-*.
    expect(installed()).toBe(before);
    expect(releases()).toEqual(had);
    expect(existsSync(join(rig.boardDir, 'current', 'mnist_lstm_float.tflite'))).toBe(false);
    // What is left is the resumable partial copy (and its chunk bitmap) under the temporary name only.
    const left = readdirSync(join(rig.boardDir, 'releases')).filter((f) => f.startsWith('.'));
    expect(left).toContain(`.incoming-${sha(MNIST_LSTM)}.part`);
    expect(left.filter((f) => !f.startsWith(`.incoming-${sha(MNIST_LSTM)}.`))).toEqual([]);
  });
});
