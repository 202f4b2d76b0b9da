// Review (issue 11, CLI/serve surfaces): `--watchdog MS` is checked only for "a positive integer";
// its upper limit is left to load(), so a too-large value is refused later, per model, in the API's
// words ("... for watchdogMs but received number 99999999999") instead of the flag's; and the
// flag's own message says "a positive integer" although 0 (off) is accepted.
//
// src/cli/serve.ts serveOptions and src/cli/options.ts loadOptions: `o.watchdog === '0' ? 0 :
// parsePositiveInt('--watchdog', o.watchdog)`; src/runtime/session.ts Session.open checks 0..86400000.
// `reef serve DIR --watchdog 99999999999` starts, then logs a load failure for each model version.
//
// Correct: the flag is checked whole where it is parsed (before any model loads): the message names
// --watchdog and the range it takes, 0 (off) to 86400000.
import { describe, it, expect } from 'vitest';
import { serveOptions } from '../../src/cli/serve.js';
import { loadOptions } from '../../src/cli/options.js';
import type { ReefError } from '../../src/index.js';

const io = { out: () => {}, err: () => {} } as unknown as Parameters<typeof loadOptions>[1];

describe('--watchdog MS', () => {
  it('reef serve refuses a value past the limit before loading anything, naming the flag', async () => {
    const e = await serveOptions('m.tflite', { watchdog: '99999999999' }).then(() => null, (err: ReefError) => err);
    expect([e?.code, e?.message]).toEqual(['REEF_INVALID_ARGUMENT',
      'Expected an integer number of milliseconds from 0 (off) to 86400000 for --watchdog but received "99999999999"']);
  });

  it('reef run/bench options refuse it the same way, and -5 gets the same words (0 is allowed)', () => {
    for (const bad of ['99999999999', '-5']) {
      let e: ReefError | null = null;
      try { loadOptions({ xnnpack: true, watchdog: bad }, io); } catch (err) { e = err as ReefError; }
      expect([e?.code, e?.message]).toEqual(['REEF_INVALID_ARGUMENT',
        `Expected an integer number of milliseconds from 0 (off) to 86400000 for --watchdog but received "${bad}"`]);
    }
    expect(loadOptions({ xnnpack: true, watchdog: '0' }, io).watchdogMs).toBe(0);
  });
});
