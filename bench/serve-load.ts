/**
 * The load generator of `npm run bench:serve`, run as its own process so that the clients never
 * share an event loop (or a core's time slices, as far as the OS allows) with the server.
 * node:http with keep-alive connections; KServe v2 requests, binary (tritonclient's layout) or JSON.
 *
 *   node --import tsx bench/serve-load.ts '{"url":..., "mode":"closed", "clients":4, ...}'
 *
 * Prints one JSON line: counts by status, answers whose output bytes differ from `expect`, and
 * the latency of every answered request of the measured phase (ms). A warm-up phase runs first on
 * the same connections and is not counted.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadPlan {
  url: string;
  model: string;
  /** closed: `clients` loops back to back; open: `rate` requests/s at fixed intervals. */
  mode: 'closed' | 'open';
  clients?: number;
  rate?: number;
  seconds: number;
  warmupSeconds: number;
  body: 'binary' | 'json';
  /** base64 of the output bytes every 200 answer must carry (binary mode). */
  expect?: string;
}

export interface LoadResult {
  mode: string;
  seconds: number;
  sent: number;
  ok: number;
  wrong: number;
  statuses: Record<string, number>;
  latenciesMs: number[];
}

/** The 224x224x3 uint8 input every bench request carries. */
export const INPUT = Uint8Array.from({ length: 224 * 224 * 3 }, (_, i) => (i * 2654435761) >>> 24);

/** A KServe v2 infer request for INPUT: binary tensor extension (input and output) or JSON. */
export function inferRequest(kind: 'binary' | 'json'): { body: Buffer; headers: Record<string, string> } {
  if (kind === 'json') {
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 224, 224, 3], datatype: 'UINT8', data: Array.from(INPUT) }] }));
    return { body, headers: { 'content-type': 'application/json', 'content-length': String(body.length) } };
  }
  const head = Buffer.from(JSON.stringify({
    inputs: [{ name: 'input', shape: [1, 224, 224, 3], datatype: 'UINT8', parameters: { binary_data_size: INPUT.length } }],
    parameters: { binary_data_output: true },
  }));
  const body = Buffer.concat([head, INPUT]);
  return {
    body,
    headers: {
      'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length),
      'content-length': String(body.length),
    },
  };
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const u = new URL(`${plan.url}/v2/models/${plan.model}/infer`);
  const agent = new Agent({ keepAlive: true, maxSockets: plan.mode === 'closed' ? plan.clients ?? 1 : 256 });
  const req = inferRequest(plan.body);
  const expect = plan.expect ? Buffer.from(plan.expect, 'base64') : null;
  const res: LoadResult = { mode: plan.mode, seconds: plan.seconds, sent: 0, ok: 0, wrong: 0, statuses: {}, latenciesMs: [] };
  let counting = false;

  const send = (): Promise<void> => new Promise((resolve) => {
    const t0 = performance.now();
    const counted = counting;
    if (counted) res.sent++;
    const r = request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        if (counted) {
          const status = answer.statusCode ?? 0;
          res.statuses[status] = (res.statuses[status] ?? 0) + 1;
          if (status === 200) {
            res.ok++;
            res.latenciesMs.push(performance.now() - t0);
            if (expect) {
              const body = Buffer.concat(chunks);
              const n = Number(answer.headers['inference-header-content-length'] ?? 0);
              if (Buffer.compare(body.subarray(n), expect) !== 0) res.wrong++;
            }
          }
        }
        resolve();
      });
    });
    r.on('error', () => {
      if (counted) res.statuses.error = (res.statuses.error ?? 0) + 1;
      resolve();
    });
    r.end(req.body);
  });

  const phase = async (seconds: number): Promise<void> => {
    const end = performance.now() + seconds * 1000;
    if (plan.mode === 'closed') {
      await Promise.all(Array.from({ length: plan.clients ?? 1 }, async () => {
        while (performance.now() < end) await send();
      }));
      return;
    }
    const rate = plan.rate ?? 1;
    const n = Math.max(1, Math.floor(rate * seconds));
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(send());
    }
    await Promise.all(pending);
  };

  await phase(plan.warmupSeconds);
  counting = true;
  const t0 = performance.now();
  await phase(plan.seconds);
  res.seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return res;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
  const r = await runLoad(plan);
  process.stdout.write(JSON.stringify(r) + '\n');
}
