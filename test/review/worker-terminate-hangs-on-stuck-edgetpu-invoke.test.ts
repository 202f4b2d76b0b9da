// Review (issue 11, fault paths): a worker thread whose Edge TPU stopped answering cannot be terminated.
//
// worker.terminate() tears the worker's environment down; the env cleanup hook of every interpreter
// (native/interpreter.cc Interpreter::EnvCleanup -> FreeNative) joins the runner thread unless the
// interpreter was abandon()ed first. A runner stuck in TfLiteInterpreterInvoke (a hung USB transfer,
// here the stand-in's `hang`) is never joined: terminate() never settles and the whole process
// hangs. It happens with the watchdog on too, whenever the worker is stopped before the watchdog
// fires (default 10 s on an Edge TPU). "No hang, ever" (the team's standards).
//
// Correct: terminate() settles (exit code 1) and the process ends on its own.
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.js';
import { TPU, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

// The worker (fixtures/stuck-worker.mjs, on the built dist/) loads the compiled model, runs once, then the device hangs and a
// second run sticks; the main thread then terminates it.
function terminateStuckWorker(watchdogMs: number): ReturnType<typeof spawnSync> {
  const main = `
    import { Worker } from 'node:worker_threads';
    const w = new Worker(${JSON.stringify(join(REPO_ROOT, 'test', 'review', 'fixtures', 'stuck-worker.mjs'))}, {
      execArgv: [], workerData: ${JSON.stringify({ model: TPU, state: standin.state, watchdogMs })},
    });
    w.on('error', (e) => { console.log('worker error ' + e.message); process.exit(2); });
    w.on('message', async () => {
      const code = await w.terminate();
      console.log('terminated ' + code);
    });`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', main], {
    env: { ...process.env, ...standin.env }, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', cwd: REPO_ROOT,
  });
}

describe('worker.terminate() while an Edge TPU invoke is stuck', () => {
  it('watchdog off: terminate() settles and the process exits by itself', () => {
    standin.set('devices=usb:1');
    const r = terminateStuckWorker(0);
    standin.set('devices=usb:1');  // Lets a leftover stuck call return.
    expect([r.signal, r.status, String(r.stdout).trim()]).toEqual([null, 0, 'terminated 1']);
  });

  it('watchdog on (not fired yet): terminate() settles and the process exits by itself', () => {
    standin.set('devices=usb:1');
    const r = terminateStuckWorker(60_000);
    standin.set('devices=usb:1');
    expect([r.signal, r.status, String(r.stdout).trim()]).toEqual([null, 0, 'terminated 1']);
  });
});
