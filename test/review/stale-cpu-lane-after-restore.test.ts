// Review (issue 11, fault paths): a CPU-variant interpreter replaced by the watchdog while the Edge TPU
// comes back stays in the pool after `device-restored`, for good.
//
// src/runtime/session.ts #onHang on a CPU lane retires it and calls #replaceCpuLane(remake), which
// awaits the new interpreter's init() and then #addLane()s it, checking only #disposed. When the
// device is restored meanwhile (#lookForDevices retires the CPU lanes it sees and drops the fallback
// model), the replacement arrives afterwards and joins the pool next to the Edge TPU interpreter.
// From then on runs are split between the Edge TPU and a CPU interpreter while session.variant /
// delegate say "edgetpu"; and when the device is lost again no `fallback` happens (#loseLane sees a
// lane left: "other devices carry on"), the runs silently go to the stale CPU interpreter and
// session.variant still says "edgetpu".
// Seen in a stress run (pool 1, watchdog 100 ms, device flapping) as a missing `fallback` event; made
// deterministic here with one libuv worker thread (UV_THREADPOOL_SIZE=1: inits finish in order) and
// the busy-JS-thread watchdog (see watchdog-fires-on-busy-js-thread.test.ts) to fire the CPU lane's
// watchdog right after the probe queued the Edge TPU interpreter.
//
// Correct: after device-restored no CPU-variant interpreter is left in the pool (a replacement that
// arrives late is dropped: e.g. #replaceCpuLane checks that the fallback it was made for is still the
// current one); a later loss falls back again, with its `fallback` event, and session.variant says
// what runs.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.js';
import { useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

describe('the watchdog replaces a CPU-variant interpreter while the Edge TPU comes back', () => {
  it('no CPU-variant interpreter is left after device-restored; the next loss falls back again', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'review', 'fixtures', 'stale-cpu-lane.ts')], {
      env: { ...process.env, ...standin.env, UV_THREADPOOL_SIZE: '1' }, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL', cwd: REPO_ROOT,
    });
    standin.set('devices=usb:1');
    expect([r.signal, r.status, r.stderr]).toEqual([null, 0, '']);
    const doc = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      gotRestored: boolean; afterRestore: { variant: string; delegate: string }; runs: string[]; gotFallback: boolean; variantNow: string;
    };
    expect([doc.gotRestored, doc.afterRestore]).toEqual([true, { variant: 'edgetpu', delegate: 'edgetpu' }]);
    // Lost again: the run on the Edge TPU fails, the two behind it wait for the CPU variant, which comes with its event.
    expect([doc.runs, doc.gotFallback, doc.variantNow]).toEqual([['REEF_EDGETPU_DEVICE_LOST', 'ok', 'ok'], true, 'cpu-int8']);
  });
});
