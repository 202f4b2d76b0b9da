/**
 * Defect: a JSON body well inside the default body limit (--max-body-mb 64) makes the server build
 * every value of it as a JS object before any check against the model: `{"instances":[[],[],...]}`
 * (3 bytes per value) expands ~25x in memory and blocks the event loop while it is parsed and
 * walked. Observed with the hello_world_float model (input [1,1]): one 60 MB body -> peak RSS
 * 1.7 GB and the answer (a 400 shape error) after 92 s, during which no other request (health
 * checks included) was answered; three such bodies -> 2.26 GB. On the boards reef serve is for
 * (Raspberry Pi 4: 1-4 GB) that is the OOM killer.
 *
 * Correct behaviour: issue 10, "Under load": "element counts checked against the model before
 * anything is allocated"; docs/serve.md: "Sizes and element counts are checked against the model
 * before any tensor is allocated". A body with more JSON values than the model can ever take
 * (hello_world_float: 1 value per row, at most --max-queue + pool rows at once) is refused with
 * REEF_SERVE_BAD_REQUEST (400) without materialising it.
 * Root cause: src/serve/json.ts parseJson() already scans every character (depth check) but does not
 * count values; it then calls JSON.parse on the whole text; src/serve/tfserving.ts fromInstances()
 * walks every element (denseShape/shapeText per row) before model.rowsFor() refuses the shape.
 * Suggested fix: count values/arrays in the same pre-scan and refuse above the model's bound.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { sharedPath } from '../shared.js';
import { MODELS, post, spawnServe } from '../serve/helpers.js';

function hwmKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]);
}

it('a 30 MB body of empty rows is refused without taking hundreds of MB', async () => {
  const { child, url: started } = spawnServe([sharedPath(MODELS.hello), '--interpreters', '1']);
  try {
    const url = await started;
    const before = hwmKb(child.pid as number);
    const n = 10 * 1024 * 1024;
    const body = `{"instances":[${'[],'.repeat(n - 1)}[]]}`;
    expect(body.length).toBeGreaterThan(30 * 1024 * 1024);
    const r = await post(`${url}/v1/models/hello_world_float:predict`, body);
    expect(r.status).toBe(400);
    const grewMb = (hwmKb(child.pid as number) - before) / 1024;
    // The body itself is 30 MB (plus its string); a server that does not materialise 10M arrays stays well under 256 MB more.
    expect(grewMb).toBeLessThan(256);
  } finally {
    child.kill('SIGKILL');
  }
}, 180000);
