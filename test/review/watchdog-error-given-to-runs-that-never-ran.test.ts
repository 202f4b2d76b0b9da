// Review (issue 11, fault paths): after the watchdog abandons a stuck invoke of a plain compiled model,
// every other run -- the ones queued behind it and every run made while the device is gone -- is
// rejected with the stuck run's REEF_INVOKE_TIMEOUT ("the invoke ... made no progress for N ms and
// was abandoned"), the very same error object each time.
//
// Those runs never invoked. src/runtime/session.ts #onHang passes its timeout error to #loseLane,
// which stores it as #lostError; #loseLane rejects the queued runs with it and runTimed() rejects
// every later run with it (`return Promise.reject(this.#lostError)`). `reef serve` maps
// REEF_INVOKE_TIMEOUT to 504, so while the device is away every request gets "504 Gateway Timeout"
// at once instead of 503 "the device is gone".
//
// Correct: only the stuck run gets REEF_INVOKE_TIMEOUT; the runs that never ran get
// REEF_EDGETPU_DEVICE_LOST (the device is treated as lost; runs fail until it is back), each its own
// error object.
import { describe, it, expect, afterAll } from 'vitest';
import { load, type ReefError } from '../../src/index.js';
import { TPU, pixels, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

describe('a plain compiled model after the watchdog fired', () => {
  it('only the stuck run times out; the others (never run) get REEF_EDGETPU_DEVICE_LOST', async () => {
    standin.set('devices=usb:1');
    const s = await load(TPU, { watchdogMs: 300, edgetpuRetryMs: 20 });
    const x = pixels();
    await s.run([x]);
    standin.set('devices= hang');  // Stops answering, then drops off the bus.
    const [stuck, behind, queued] = await Promise.allSettled([s.run([x]), s.run([x]), s.run([x])]);
    const later = await s.run([x]).then(() => null, (e: ReefError) => e);
    standin.set('devices=usb:1');  // Lets the stuck call return.
    const reason = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as ReefError) : null);
    expect(reason(stuck)?.code).toBe('REEF_INVOKE_TIMEOUT');
    expect([reason(behind)?.code, reason(queued)?.code, later?.code])
      .toEqual(['REEF_EDGETPU_DEVICE_LOST', 'REEF_EDGETPU_DEVICE_LOST', 'REEF_EDGETPU_DEVICE_LOST']);
    expect(later?.message).not.toContain('made no progress');
    expect(later).not.toBe(reason(stuck));
    await s.dispose();
  });
});
