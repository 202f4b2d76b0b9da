/**
 * The fuzzer's child process: loads and runs each model it is sent, and reports what happened.
 * It runs apart from the fuzzer so that a crash (a signal) or a hang is observed by the parent
 * instead of ending the fuzzing. One JSON request per stdin line, one JSON answer per stdout line:
 *   -> {"id":1,"model":"<base64>","xnnpack":true,"seed":7}
 *   <- {"id":1,"stage":"load"|"run"|"done","outcome":"ran"|"<REEF code>"|"internal","message":"..."}
 */
import { createInterface } from 'node:readline';
import { load } from '../src/index.js';
import { isReefError } from '../src/errors.js';
import { mulberry32, randomTensor } from '../src/bench/inputs.js';
import { elementCount } from '../src/types.js';

/** Inputs above this are not fed (the load outcome is what counts); it keeps cases fast. */
const MAX_FEED_BYTES = 64 << 20;

export interface ChildRequest {
  id: number;
  model: string;
  xnnpack: boolean;
  seed: number;
}

export interface ChildAnswer {
  id: number;
  stage: 'load' | 'run' | 'done';
  /** 'ran' when load and one run succeeded, the ReefError code that stopped it, or 'internal'. */
  outcome: string;
  message?: string;
}

async function handle(req: ChildRequest): Promise<ChildAnswer> {
  let stage: ChildAnswer['stage'] = 'load';
  try {
    const session = await load(new Uint8Array(Buffer.from(req.model, 'base64')), { threads: 1, xnnpack: req.xnnpack, spinMicros: 0 });
    try {
      stage = 'run';
      const bytes = session.inputs.reduce((a, t) => a + t.byteLength, 0);
      if (bytes > MAX_FEED_BYTES || session.inputs.some((t) => elementCount(t.shape) * 8 > MAX_FEED_BYTES)) {
        return { id: req.id, stage: 'done', outcome: 'loaded', message: `inputs of ${bytes} bytes not fed` };
      }
      const rng = mulberry32(req.seed);
      await session.run(session.inputs.map((t) => randomTensor(t, rng)));
    } finally {
      await session.dispose();
    }
    return { id: req.id, stage: 'done', outcome: 'ran' };
  } catch (e) {
    if (isReefError(e)) return { id: req.id, stage, outcome: e.code, message: e.message };
    return { id: req.id, stage, outcome: 'internal', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
}

const rl = createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    const answer = await handle(JSON.parse(line) as ChildRequest);
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
});
