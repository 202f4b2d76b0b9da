// Review (issue 11, session events): a pool of 2 on one Edge TPU loses its device once (one
// `device-lost`) but reports it back twice (two `device-restored` for the same device, a probe round
// apart), so `reef run`/`reef serve` print "Edge TPU ... is back; runs go to it again" twice, and a
// listener that reacts to device-restored (re-enabling a camera feed, an alert) fires twice.
//
// src/runtime/session.ts #lookForDevices restores one interpreter per probe round and emits
// device-restored each time (#lostLanes counts interpreters, not devices); #loseLane emits one
// device-lost for all the interpreters of the device.
//
// Correct: one device-restored per device that comes back (when its first interpreter is back, or
// when all are), matching the one device-lost: [device-lost X, fallback cpu-int8, device-restored X].
import { describe, it, expect, afterAll } from 'vitest';
import { load } from '../../src/index.js';
import { bundle, nextEvent, pixels, recordEvents, sleep, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());
const DEV = 'usb /sys/bus/usb/devices/2-1';

describe('a pool of 2 interpreters on one Edge TPU', () => {
  it('one device-lost, one device-restored', async () => {
    standin.set('devices=usb:1');
    const s = await load(await bundle(), { pool: 2, edgetpuRetryMs: 20 });
    const events = recordEvents(s);
    const x = pixels();
    await Promise.all([s.run([x]), s.run([x])]);
    const fallback = nextEvent(s, 'fallback');
    standin.set('devices=');
    await s.run([x]).catch(() => null);
    expect(await fallback).toBe(true);
    const back = nextEvent(s, 'device-restored');
    standin.set('devices=usb:1');
    expect(await back).toBe(true);
    await sleep(400);  // 20 probe rounds.
    expect(events).toEqual([`device-lost ${DEV} REEF_EDGETPU_DEVICE_LOST`, 'fallback cpu-int8', `device-restored ${DEV}`]);
    await s.dispose();
  });
});
