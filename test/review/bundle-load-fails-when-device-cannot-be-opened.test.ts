// Review (issue 11, fault paths): loading a .reef bundle failed outright when the Edge TPU that was
// listed when the variant was chosen could not be used a moment later, although the bundle carries a
// cpu-int8 variant for exactly that: held by another process (a running `reef serve` while the user
// tries `reef run bundle.reef`), or gone between listing and opening, gave REEF_INTERPRETER_FAILED /
// REEF_EDGETPU_NO_DEVICE. (The reviewer's reproduction made a flapping device with a FIFO; it is made
// deterministic here with the stand-in's "busy" word: listed, but it cannot be opened.)
//
// Correct: the bundle loads its cpu-int8 variant; session.variant says why; a plain compiled model
// (nothing to fall back on) still fails with the runtime's reason.
import { describe, it, expect, afterAll } from 'vitest';
import { load, type ReefError } from '../../src/index.js';
import { TPU, TWIN, OUT, bundle, pixels, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

describe('a .reef bundle whose Edge TPU is listed but cannot be opened', () => {
  it('loads its cpu-int8 variant, says why, and answers as the CPU twin does', async () => {
    standin.set('devices=usb:1 busy');
    const s = await load(await bundle());
    expect([s.variant?.variant, s.delegate.name]).toEqual(['cpu-int8', 'xnnpack']);
    expect(s.variant?.reason).toMatch(/^the Edge TPU could not be used \(REEF_INTERPRETER_FAILED: .*\); cpu-int8: /);
    expect(s.variant?.skipped[0]?.variant).toBe('edgetpu');
    const twin = await load(TWIN);
    const x = pixels();
    expect(Array.from((await s.run([x]))[OUT]!.data as Uint8Array)).toEqual(Array.from((await twin.run([x]))[OUT]!.data as Uint8Array));
    await Promise.all([s.dispose(), twin.dispose()]);
  });

  it('EXPECTED FAILURE - a plain compiled model has nothing to fall back on: the load fails with the reason', async () => {
    standin.set('devices=usb:1 busy');
    const e = await load(TPU).then(() => null, (err: ReefError) => err);
    expect(e?.code).toBe('REEF_INTERPRETER_FAILED');
    standin.set('devices=usb:1');
  });
});
