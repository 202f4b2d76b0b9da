// Review (issue 11, fault paths): Session.invokeLoop() on an Edge TPU bypasses the device-lost handling
// and the watchdog.
//
// src/runtime/session.ts invokeLoop() calls lane.interp.invokeLoop() directly: no watchdog timer is
// armed (only #dispatch arms one) and its failure is not looked at (#release only). So on a lost
// device it rejects with a bare REEF_INVOKE_FAILED, no `device-lost`, the dead interpreter stays in the
// pool and nobody looks for the device; on a stuck device it never settles, whatever watchdogMs says
// (docs: "an interpreter with runs in flight that finishes none for watchdogMs is abandoned").
// invokeLoop is public API and what src/prune/measure.ts times models with.
//
// Correct: the same contract as run(): REEF_EDGETPU_DEVICE_LOST + `device-lost` on a lost device;
// REEF_INVOKE_TIMEOUT + `watchdog` when it makes no progress for watchdogMs.
import { describe, it, expect, afterAll } from 'vitest';
import { load, type ReefError } from '../../src/index.js';
import { TPU, pixels, recordEvents, sleep, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());
const DEV = 'usb /sys/bus/usb/devices/2-1';

describe('invokeLoop on the Edge TPU', () => {
  it('a lost device: REEF_EDGETPU_DEVICE_LOST and device-lost, as for run()', async () => {
    standin.set('devices=usb:1');
    const s = await load(TPU, { watchdogMs: 300, edgetpuRetryMs: 20 });
    const events = recordEvents(s);
    await s.run([pixels()]);
    standin.set('devices=');
    const e = await s.invokeLoop(3).then(() => null, (err: ReefError) => err);
    await sleep(50);
    standin.set('devices=usb:1');
    expect([e?.code, events]).toEqual(['REEF_EDGETPU_DEVICE_LOST', [`device-lost ${DEV} REEF_EDGETPU_DEVICE_LOST`]]);
    await s.dispose();
  });

  it('a stuck device: the watchdog ends it with REEF_INVOKE_TIMEOUT', async () => {
    standin.set('devices=usb:1');
    const s = await load(TPU, { watchdogMs: 300, edgetpuRetryMs: 20 });
    const events = recordEvents(s);
    await s.run([pixels()]);
    standin.set('devices=usb:1 hang');
    const outcome = await Promise.race([
      s.invokeLoop(3).then(() => 'resolved', (err: ReefError) => err.code),
      sleep(5_000).then(() => 'still running after 5 s'),
    ]);
    standin.set('devices=usb:1');  // Lets the stuck call return.
    expect([outcome, events[0]]).toEqual(['REEF_INVOKE_TIMEOUT', `watchdog 300 ${DEV}`]);
    await s.dispose();
  });
});
