// Review (issue 11, CLI surface): `reef bench --edgetpu` on a device that stops answering fails with
// REEF_INVOKE_TIMEOUT, whose message says "Raise watchdogMs (--watchdog) if the model is just this
// slow here" -- and `reef bench ... --watchdog MS` is refused: "unknown option '--watchdog'" (exit 2).
// Issue 11 chose to leave the flag off bench ("keeps the default"), but the advice it prints is then
// one the user cannot follow; run and serve take the flag.
//
// src/cli/bench.ts does not declare --watchdog (run/serve get it from src/cli/options.ts
// addRuntimeOptions / src/cli/serve.ts); src/runtime/session.ts #onHang's message names it.
//
// Correct: reef bench takes --watchdog MS like run and serve (and passes it to load()).
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.js';
import { TPU, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

describe('reef bench --edgetpu --watchdog', () => {
  it('accepts the flag its own timeout message advises', () => {
    standin.set('devices=usb:1');
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'reef.js'), 'bench', TPU, '--edgetpu', 'usb', '--runs', '3', '--warmup', '1', '--watchdog', '20000', '--json'], {
      env: { ...process.env, ...standin.env }, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL',
    });
    expect([r.status, r.stderr]).toEqual([0, '']);
    const doc = JSON.parse(r.stdout) as { delegate: string; runs: number };
    expect([doc.delegate, doc.runs]).toEqual(['edgetpu', 3]);
  });
});
