// Review (issue 11, fault paths): the watchdog abandons runs that finished in time when the JS thread
// was busy, and declares a healthy Edge TPU lost.
//
// The watchdog is a JS timer (src/runtime/session.ts #dispatch arms it, #onHang fires) that measures
// wall time on the JS thread, not the invoke: when the JS thread is busy for longer than watchdogMs
// (a large request body parsed by `reef serve`, a synchronous image decode, a long GC pause), libuv
// runs the expired timer before it delivers the runner's completion (the thread-safe function's
// async handle is polled after the timers). #onHang then rejects a run whose invoke took a few ms
// with REEF_INVOKE_TIMEOUT, abandons the interpreter, emits watchdog + device-lost, and the device
// is "restored" a moment later. Nothing about the device was wrong.
//
// Correct: a run whose invoke finished before the limit resolves with its outputs; no watchdog or
// device event. (E.g. #onHang asks the native side whether the runner has finished the job -- its
// finished_ counter -- and re-arms instead of abandoning.)
import { describe, it, expect, afterAll } from 'vitest';
import { load } from '../../src/index.js';
import { TPU, OUT, pixels, recordEvents, sleep, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

/** Keeps the JS thread busy for ms (what a large synchronous parse or decode does). */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* the JS thread is busy */ }
}

describe('the watchdog and a busy JS thread', () => {
  it('a run that finished in a few ms is not abandoned because the JS thread was busy for longer than watchdogMs', async () => {
    const s = await load(TPU, { watchdogMs: 300, edgetpuRetryMs: 20 });
    const events = recordEvents(s);
    const x = pixels();
    const want = Array.from((await s.run([x]))[OUT]!.data as Uint8Array);
    // From the check phase (setImmediate): the next loop turn runs timers before it polls for the
    // runner's completion.
    const result = await new Promise<string>((resolve) => setImmediate(() => {
      const run = s.runTimed([x]);
      busy(1_000);
      run.then((r) => resolve(`ok ${r.invokeMs < 300} ${Array.from(r.outputs[OUT]!.data as Uint8Array).join() === want.join()}`),
        (e: { code: string }) => resolve(e.code));
    }));
    await sleep(200);
    expect([result, events]).toEqual(['ok true true', []]);
    expect(s.delegate.name).toBe('edgetpu');
    await s.dispose();
  });
});
