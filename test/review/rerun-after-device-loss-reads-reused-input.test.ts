// Review (issue 11, fault paths): a run moved to the CPU variant after a device loss computes on
// whatever its caller's input array holds NOW, not on what it held when run() handed it over --
// silently wrong results.
//
// README: "Inputs are copied when the run is handed to an interpreter, so you may reuse or transfer
// your arrays as soon as run() has handed them over." A run dispatched to an Edge TPU interpreter is
// copied into its slot natively; when the run ahead of it fails on the lost device,
// src/runtime/session.ts #retire(lane, true) puts the lane's other jobs back in the queue ("they
// never started: they run elsewhere") and #dispatch hands the SAME job.inputs -- the caller's arrays
// -- to the CPU variant's interpreter, which copies them again. A camera loop that refills one frame
// buffer per frame gets the next frame's result for this frame; a transferred array gets
// REEF_INPUT_SHAPE_MISMATCH ("input 0 must be a typed array of 49152 bytes") for a run that was
// accepted. The same holds for the runs re-queued by the watchdog (#onHang -> #loseLane -> #retire).
//
// Correct: the re-run computes on the input as it was handed over: B's result is the CPU twin's result
// for B's original pixels, whatever the caller did with its array afterwards.
import { describe, it, expect, afterAll } from 'vitest';
import { load } from '../../src/index.js';
import { TWIN, OUT, bundle, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

const image = (k: number) => new Uint8Array(128 * 128 * 3).map((_, i) => (i * k + 7) % 256);

describe('a run handed to the lost Edge TPU and moved to the CPU variant', () => {
  it('computes on the input as it was handed over, not on the reused array', async () => {
    standin.set('devices=usb:1');
    const twin = await load(TWIN, { xnnpack: false });
    const s = await load(await bundle(), { edgetpuRetryMs: 20 });
    const a = image(37);
    const b = image(11);
    const wantB = Array.from((await twin.run([b]))[OUT]!.data as Uint8Array);
    await s.run([a]);
    standin.set('devices=');  // Gone: run A fails on the device; run B, handed over behind it, moves to cpu-int8.
    const runA = s.run([a]).then(() => 'ok', (e: { code: string }) => e.code);
    const frame = b.slice();
    const runB = s.run([frame]);  // Handed to the Edge TPU interpreter (its second slot).
    frame.fill(0);  // The caller reuses its array, as the README allows.
    const [codeA, outB] = await Promise.all([runA, runB]);
    expect(codeA).toBe('REEF_EDGETPU_DEVICE_LOST');
    expect(Array.from(outB[OUT]!.data as Uint8Array)).toEqual(wantB);
    await Promise.all([s.dispose(), twin.dispose()]);
  });

  it('a transferred array: the run still answers from the input it was given', async () => {
    standin.set('devices=usb:1');
    const twin = await load(TWIN, { xnnpack: false });
    const s = await load(await bundle(), { edgetpuRetryMs: 20 });
    const a = image(37);
    const b = image(11);
    const wantB = Array.from((await twin.run([b]))[OUT]!.data as Uint8Array);
    await s.run([a]);
    standin.set('devices=');
    const runA = s.run([a]).then(() => 'ok', (e: { code: string }) => e.code);
    const frame = b.slice();
    const runB = s.run([frame]).then((o) => Array.from(o[OUT]!.data as Uint8Array), (e: { code: string }) => e.code);
    structuredClone(frame.buffer, { transfer: [frame.buffer] });  // Transferred (to a worker, say).
    expect(await runA).toBe('REEF_EDGETPU_DEVICE_LOST');
    expect(await runB).toEqual(wantB);
    await Promise.all([s.dispose(), twin.dispose()]);
  });
});
