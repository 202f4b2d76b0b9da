// Review (issue 11, fault paths): loading a .reef bundle fails outright when the Edge TPU that was
// there when the variant was chosen cannot be used a moment later, although the bundle carries a
// cpu-int8 variant for exactly that.
//
// src/runtime/session.ts Session.open: the variant is chosen by openBundleBytes/probeHost (device
// listed -> "edgetpu"), then planEdgetpu lists the devices again and the interpreter opens the device
// on a libuv worker. If the device is unplugged in between, the load rejects with
// REEF_EDGETPU_NO_DEVICE; if it is listed but cannot be opened -- the USB Accelerator is held by
// another process (a running `reef serve` while the user tries `reef run bundle.reef`), or it drops
// off between listing and opening -- with a generic REEF_INTERPRETER_FAILED ("could not open the USB
// device ... (unplugged, or in use by another process?)"). A device that flaps while a bundle loads
// failed 19 of 60 loads here. Once loaded, the same session survives the same fault by running the
// cpu-int8 variant.
//
// Made deterministic with a FIFO as the stand-in's state file: a writer (bash, stopped by PID) answers
// the first K reads with "devices=usb:1" and every later one with "devices=" (the device is gone
// after the K-th look).
//
// Correct: whatever K, the bundle loads: on the Edge TPU if it could be opened, else on its cpu-int8
// variant (with the reason in session.variant).
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.js';
import { bundle, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
const dir = mkdtempSync(join(tmpdir(), 'reef-review-fifo-'));
const writers: ChildProcess[] = [];
afterAll(() => {
  for (const w of writers) if (w.pid && w.exitCode === null) process.kill(w.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  standin.restore();
});

/** A FIFO whose first k reads say the device is there and every later one that it is gone. */
function fifoGoneAfter(k: number): string {
  const fifo = join(dir, `state-${k}`);
  execFileSync('mkfifo', [fifo]);
  writers.push(spawn('bash', ['-c', `n=0; while true; do if [ $n -lt ${k} ]; then echo devices=usb:1 > '${fifo}'; else echo devices= > '${fifo}'; fi; n=$((n+1)); done`], { stdio: 'ignore' }));
  return fifo;
}

describe('a .reef bundle whose Edge TPU goes away while it loads', () => {
  it('loads on the Edge TPU or on its cpu-int8 variant, never fails, whenever the device goes', async () => {
    const path = join(dir, 'mobilenet.reef');
    writeFileSync(path, await bundle());
    const fifos = [1, 2, 3].map(fifoGoneAfter);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'review', 'fixtures', 'load-bundle.ts'), path, ...fifos], {
      env: { ...process.env, ...standin.env }, encoding: 'utf8', timeout: 90_000, killSignal: 'SIGKILL', cwd: REPO_ROOT,
    });
    for (const w of writers.splice(0)) process.kill(w.pid!, 'SIGKILL');
    expect([r.signal, r.stderr]).toEqual([null, '']);
    const got = r.stdout.trim().split('\n');
    const loaded = ['ok edgetpu/edgetpu', 'ok cpu-int8/xnnpack'];
    expect(got.map((line, i) => `gone after ${i + 1} looks: ${loaded.includes(line) ? 'loaded' : line}`)).toEqual([
      'gone after 1 looks: loaded', 'gone after 2 looks: loaded', 'gone after 3 looks: loaded']);
  });
});
