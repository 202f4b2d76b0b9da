/**
 * `npm run bench:serve`: reef serve against its own baselines, measured side by side in one run
 * (../shared/docs/TARGETS.md, "Server"):
 *
 *   (1) saturation throughput of the server (KServe v2, binary tensors, many clients) against
 *       pool size x 1/invoke, the invoke measured by the plain native loop in the same run
 *       (target >= 90%), for 1 and 2 interpreters;
 *   (2) p99 latency at half of saturation (open loop, fixed arrival rate) against the invoke
 *       time (target <= invoke + 2 ms);
 *   (3) JSON vs the binary tensor extension for a 224x224x3 input, one request at a time;
 *   (4) hot reload under load: a new version folder appears while clients run; errors must be 0.
 *
 * Reports, never asserts (a missed target prints MISSED, exit code 0). Bounded in time: each
 * phase runs --seconds (default 4) and every server is stopped before the next.
 * Usage: npm run bench:serve [-- --json] [-- --seconds 4]
 */
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { load } from '../src/index.js';
import { createServer, type ReefServer } from '../src/serve/server.js';
import { median, percentile } from '../src/bench/stats.js';

const SHARED = process.env.REEF_SHARED ?? join(import.meta.dirname, '..', '..', 'shared');
const MODEL = join(SHARED, 'models/edgetpu/tf2_mobilenet_v2_1.0_224_ptq.tflite');
const NAME = 'mnv2';
const TARGET = { saturation: 0.9, p99OverInvokeMs: 2 };

const args = process.argv.slice(2);
const json = args.includes('--json');
const secIdx = args.indexOf('--seconds');
const SECONDS = secIdx >= 0 ? Number(args[secIdx + 1]) : 4;
const log = (s: string) => { if (!json) process.stdout.write(s + '\n'); };

const INPUT = Uint8Array.from({ length: 224 * 224 * 3 }, (_, i) => (i * 2654435761) >>> 24);

function binaryRequest(): { body: Buffer; headers: Record<string, string> } {
  const head = Buffer.from(JSON.stringify({
    inputs: [{ name: 'input', shape: [1, 224, 224, 3], datatype: 'UINT8', parameters: { binary_data_size: INPUT.length } }],
    parameters: { binary_data_output: true },
  }));
  return { body: Buffer.concat([head, INPUT]), headers: { 'inference-header-content-length': String(head.length) } };
}
function jsonRequest(): { body: Buffer; headers: Record<string, string> } {
  return {
    body: Buffer.from(JSON.stringify({ inputs: [{ name: 'input', shape: [1, 224, 224, 3], datatype: 'UINT8', data: Array.from(INPUT) }] })),
    headers: { 'content-type': 'application/json' },
  };
}

async function send(url: string, req: { body: Buffer; headers: Record<string, string> }): Promise<number> {
  const r = await fetch(`${url}/v2/models/${NAME}/infer`, { method: 'POST', body: req.body as unknown as BodyInit, headers: req.headers });
  await r.arrayBuffer();
  return r.status;
}

async function serve(model: string, interpreters: number, extra: Record<string, unknown> = {}): Promise<ReefServer> {
  return createServer({ model, modelName: NAME, port: 0, pollSeconds: 0, interpreters, threads: 1, maxQueue: 1024, ...extra });
}

/** Closed loop: `clients` clients back to back for `seconds`; requests/s. */
async function saturate(url: string, clients: number, seconds: number): Promise<{ rps: number; errors: number }> {
  const req = binaryRequest();
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      if ((await send(url, req)) === 200) done++;
      else errors++;
    }
  }));
  return { rps: done / seconds, errors };
}

/** Open loop at `rate` requests/s for `seconds`; latencies in ms. */
async function openLoop(url: string, rate: number, seconds: number): Promise<number[]> {
  const req = binaryRequest();
  const n = Math.max(1, Math.floor(rate * seconds));
  const t0 = performance.now();
  const lat: number[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const at = t0 + (i * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const s = performance.now();
    pending.push(send(url, req).then(() => { lat.push(performance.now() - s); }));
  }
  await Promise.all(pending);
  return lat;
}

async function main(): Promise<void> {
  const session = await load(MODEL, { threads: 1 });
  const invoke = median(Array.from(await session.invokeLoop(Math.max(20, Math.round(1000 / 8)))));
  await session.dispose();
  const load1 = loadavg()[0];
  log(`model ${MODEL.split('/').pop()}: invoke median ${invoke.toFixed(3)} ms (plain native loop, 1 thread); load average ${load1.toFixed(1)} on ${cpus().length} cores${load1 > cpus().length ? ' (busy machine: ratios below are pessimistic)' : ''}`);
  const result: Record<string, unknown> = { model: MODEL.split('/').pop(), invokeMs: invoke, seconds: SECONDS, loadAverage: load1, cores: cpus().length };

  const sat: Array<{ interpreters: number; rps: number; ideal: number; ratio: number; errors: number }> = [];
  for (const pool of [1, 2]) {
    const s = await serve(MODEL, pool);
    try {
      await saturate(s.url, pool * 2, 0.5);
      const r = await saturate(s.url, pool * 4, SECONDS);
      const ideal = (pool * 1000) / invoke;
      sat.push({ interpreters: pool, rps: r.rps, ideal, ratio: r.rps / ideal, errors: r.errors });
      log(`(1) saturation, ${pool} interpreter(s): ${r.rps.toFixed(1)} req/s = ${(100 * r.rps / ideal).toFixed(1)}% of ${pool}/invoke (${ideal.toFixed(1)}/s), target >= ${TARGET.saturation * 100}%: ${r.rps / ideal >= TARGET.saturation ? 'met' : 'MISSED'}`);
    } finally {
      await s.close();
    }
  }
  result.saturation = sat;

  const s1 = await serve(MODEL, 1);
  try {
    const rate = sat[0].rps / 2;
    await openLoop(s1.url, rate, 0.5);
    const lat = await openLoop(s1.url, rate, SECONDS);
    const p50 = median(lat);
    const p99 = percentile(lat, 0.99);
    result.halfLoad = { rate, p50Ms: p50, p99Ms: p99, invokeMs: invoke, p99MinusInvokeMs: p99 - invoke };
    log(`(2) half of saturation (${rate.toFixed(1)} req/s, 1 interpreter): p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms = invoke + ${(p99 - invoke).toFixed(2)} ms, target <= invoke + ${TARGET.p99OverInvokeMs} ms: ${p99 - invoke <= TARGET.p99OverInvokeMs ? 'met' : 'MISSED'}`);

    const one = async (req: { body: Buffer; headers: Record<string, string> }) => {
      const times: number[] = [];
      const end = performance.now() + (SECONDS * 1000) / 2;
      while (performance.now() < end || times.length < 5) {
        const t = performance.now();
        await send(s1.url, req);
        times.push(performance.now() - t);
      }
      return median(times);
    };
    const jreq = jsonRequest();
    const breq = binaryRequest();
    await one(breq);
    const bin = await one(breq);
    const js = await one(jreq);
    result.jsonVsBinary = { binaryMs: bin, jsonMs: js, jsonBytes: jreq.body.length, binaryBytes: breq.body.length, binaryOverInvokeMs: bin - invoke };
    log(`(3) 224x224x3 uint8, one request at a time: binary ${bin.toFixed(2)} ms (invoke + ${(bin - invoke).toFixed(2)} ms, ${breq.body.length} bytes), JSON ${js.toFixed(2)} ms (${jreq.body.length} bytes): JSON/binary = ${(js / bin).toFixed(2)}x`);
  } finally {
    await s1.close();
  }

  const dir = mkdtempSync(join(tmpdir(), 'reef-bench-serve-'));
  try {
    mkdirSync(join(dir, '1'));
    symlinkSync(MODEL, join(dir, '1', 'model.tflite'));
    const s = await serve(dir, 1, { pollSeconds: 0.2 });
    try {
      const run = saturate(s.url, 4, SECONDS);
      await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 3));
      mkdirSync(join(dir, '2'));
      symlinkSync(MODEL, join(dir, '2', 'model.tflite'));
      const r = await run;
      const versions = [...(s.repo.models.get(NAME)?.versions.keys() ?? [])];
      result.hotReload = { rps: r.rps, errors: r.errors, servingAfter: versions };
      log(`(4) hot reload under load (4 clients): ${r.rps.toFixed(1)} req/s, errors ${r.errors} (target 0: ${r.errors === 0 ? 'met' : 'MISSED'}), serving version ${versions.join(',')} after`);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

await main();
