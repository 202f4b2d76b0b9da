// Review (issue 11, fault paths): a .reef bundle whose CPU variant has other inputs than the edgetpu
// variant (the usual edgetpu + cpu-float bundle: uint8 vs float32 input) promises a fallback that
// never comes.
//
// Issue 11: the CPU variant is loaded "when its inputs/outputs match". Here they do not, yet every
// REEF_EDGETPU_DEVICE_LOST says "runs go to the bundle's cpu-float variant until it is back"
// (src/runtime/session.ts #deviceLostError looks only at whether tpu.fallback is set). #startFallback
// then loads the variant, finds the signatures differ, throws REEF_VARIANT_UNAVAILABLE and swallows
// it: no event, no warning, runs keep failing -- the user is told one thing while another happens,
// and the variant is loaded again (and dropped) at every loss.
//
// Correct: the CPU variant's signature is checked once (at load: the bundle is there); when it
// differs, no fallback is promised: the error says runs fail until the device is back (as for a
// plain compiled model) and `session.warnings` says why the cpu-float variant cannot stand in.
import { describe, it, expect, afterAll } from 'vitest';
import { load, type ReefError } from '../../src/index.js';
import { bundle, pixels, recordEvents, sleep, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

describe('a bundle whose CPU variant cannot stand in', () => {
  it('does not promise the cpu-float variant when its inputs differ, and says so', async () => {
    standin.set('devices=usb:1');
    const s = await load(await bundle({ name: 'cpu-float', file: 'models/tflite/mobilenet_v1_0.25_128_float.tflite' }), { edgetpuRetryMs: 20 });
    const events = recordEvents(s);
    const x = pixels();
    await s.run([x]);
    standin.set('devices=');  // Unplugged.
    const lost = await s.run([x]).then(() => null, (e: ReefError) => e);
    await sleep(300);
    const later = await s.run([x]).then(() => null, (e: ReefError) => e);
    standin.set('devices=usb:1');
    expect([lost?.code, later?.code]).toEqual(['REEF_EDGETPU_DEVICE_LOST', 'REEF_EDGETPU_DEVICE_LOST']);
    expect(events.slice(0, 1)).toEqual(['device-lost usb /sys/bus/usb/devices/2-1 REEF_EDGETPU_DEVICE_LOST']);
    // What the user is told must be what happens: no CPU variant runs.
    for (const e of [lost, later]) {
      expect(e?.message).not.toContain('cpu-float variant until it is back');
      expect(e?.message).toContain('runs fail until it is back');
    }
    expect(s.warnings.some((w) => w.includes('cpu-float') && w.includes('input'))).toBe(true);
    await s.dispose();
  });
});
