// A load / run / dispose loop for the leak check (test/leak/leak.sh runs it under valgrind).
// Uses the compiled package (dist/), so run `npm run build` first.
import { load } from '../../dist/index.js';
import { readFileSync } from 'node:fs';

const model = process.argv[2];
const rounds = Number(process.argv[3] ?? 5);
const bytes = readFileSync(model);
for (let r = 0; r < rounds; r++) {
  const s = await load(bytes, { pool: 2 });
  const feeds = s.inputs.map((t) => new Int8Array(t.byteLength));
  await Promise.all(Array.from({ length: 4 }, () => s.run(feeds)));
  // Dispose with four runs handed to the two interpreters and one queued: both paths must free everything.
  const settled = Promise.allSettled([s.run(feeds), s.run(feeds), s.run(feeds), s.run(feeds), s.run(feeds)]);
  await s.dispose();
  const states = (await settled).map((x) => x.status).join(',');
  if (states !== 'fulfilled,fulfilled,fulfilled,fulfilled,rejected') throw new Error(`unexpected run states after dispose: ${states}`);
}
// A session that fails to load must free what it made too.
try { await load(readFileSync(process.argv[4])); } catch { /* expected: unresolved custom op */ }
console.log(`leak loop: ${rounds} rounds done`);
