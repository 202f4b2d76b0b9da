/**
 * Under load, bounded in count and time: every request gets exactly one answer (200 with its own
 * result, or 503/429 when the queue is full, or 504 when its deadline passed in the queue), the work
 * of a 504 is never run, and the counters in /metrics equal what the client saw. Real servers on
 * loopback; goldens from the runtime's Session.run on the same inputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load } from '../../src/runtime/session.js';
import type { ReefServer } from '../../src/serve/server.js';
import { sharedPath } from '../shared.js';
import { MODELS, http, seeded, start } from './helpers.js';

const SLOW = 'models/edgetpu/tf2_mobilenet_v2_1.0_224_ptq.tflite';

/** One binary KServe request (tritonclient's layout), binary output. */
async function infer(url: string, model: string, input: string, datatype: string, shape: number[], bytes: Uint8Array, headers: Record<string, string> = {}) {
  const head = Buffer.from(JSON.stringify({
    inputs: [{ name: input, shape, datatype, parameters: { binary_data_size: bytes.byteLength } }],
    parameters: { binary_data_output: true },
  }));
  const r = await fetch(`${url}/v2/models/${model}/infer`, {
    method: 'POST', body: Buffer.concat([head, bytes]) as unknown as BodyInit,
    headers: { 'inference-header-content-length': String(head.length), ...headers },
  });
  const body = Buffer.from(await r.arrayBuffer());
  const n = Number(r.headers.get('inference-header-content-length') ?? 0);
  return { status: r.status, retryAfter: r.headers.get('retry-after'), head: n ? JSON.parse(body.subarray(0, n).toString()) : JSON.parse(body.toString()), data: body.subarray(n) };
}

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('overload: a bounded burst', () => {
  let server: ReefServer;
  const K = 6;
  const inputs: Float32Array[] = [];
  const goldens: Buffer[] = [];
  beforeAll(async () => {
    const s = await load(sharedPath(MODELS.mobilenet));
    for (let k = 0; k < K; k++) {
      inputs.push(Float32Array.from(seeded(128 * 128 * 3, 100 + k)));
      const out = await s.run([inputs[k]]);
      const d = out[s.outputs[0].name].data as Float32Array;
      goldens.push(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    }
    await s.dispose();
    server = await start({ model: sharedPath(MODELS.mobilenet), interpreters: 2, maxQueue: 4 });
  });
  afterAll(async () => server?.close());

  it('200 requests, 32 at a time: each answered once, with its own result or 503 + Retry-After; /metrics agrees', async () => {
    const N = 200;
    const seen = new Map<number, number>();
    let next = 0;
    const statuses: number[] = new Array(N).fill(0);
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= N) return;
        const k = i % K;
        const r = await infer(server.url, 'mobilenet_v1_0.25_128_float', 'input', 'FP32', [1, 128, 128, 3], new Uint8Array(inputs[k].buffer));
        statuses[i] = r.status;
        seen.set(i, (seen.get(i) ?? 0) + 1);
        if (r.status === 200) {
          expect(Buffer.compare(r.data, goldens[k])).toBe(0);
        } else {
          expect({ status: r.status, retry: r.retryAfter, code: (r.head.error as string).includes('the queue is full') }).toEqual({ status: 503, retry: '1', code: true });
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    expect(seen.size).toBe(N);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const ok = statuses.filter((s) => s === 200).length;
    const busy = statuses.filter((s) => s === 503).length;
    expect(ok + busy).toBe(N);
    expect(ok).toBeGreaterThan(0);
    const text = (await http(`${server.url}/metrics`)).text;
    const lbl = (st: number) => `model="mobilenet_v1_0.25_128_float",version="1",protocol="v2",status="${st}"`;
    expect({ ok: metric(text, 'reef_serve_requests_total', lbl(200)), busy: metric(text, 'reef_serve_requests_total', lbl(503)) }).toEqual({ ok, busy });
    expect(metric(text, 'reef_serve_invoke_seconds_count', 'model="mobilenet_v1_0.25_128_float",version="1"')).toBe(ok);
  });
});

describe('deadlines and 429', () => {
  // TF2 MobileNet v2 int8 on TFLite's built-in kernels: tens of ms per invoke, so the queue is observable.
  const img = Uint8Array.from(seeded(224 * 224 * 3, 1), (v) => Math.floor((v + 1) * 127.9));
  const M = 'model="tf2_mobilenet_v2_1.0_224_ptq",version="1"';
  type St = { models: Array<{ versions: Array<{ inFlight: number; queued: number }> }> };
  /** A server with one interpreter holding 2 runs (one invoking, one next) and 2 more waiting in its queue. */
  async function busy(opts: { maxQueue: number; overloadStatus?: 429 }) {
    const server = await start({ model: sharedPath(SLOW), interpreters: 1, xnnpack: false, ...opts });
    const send = (headers: Record<string, string> = {}) => infer(server.url, 'tf2_mobilenet_v2_1.0_224_ptq', 'input', 'UINT8', [1, 224, 224, 3], img, headers);
    const until = async (ok: (v: { inFlight: number; queued: number }) => boolean) => {
      for (let i = 0; i < 2000; i++) if (ok(((await http(`${server.url}/status.json`)).json as St).models[0].versions[0])) return;
      throw new Error('timed out');
    };
    const running = [send(), send()];
    await until((v) => v.inFlight === 2);
    const queued = [send(), send()];
    await until((v) => v.queued === 2);
    return { server, send, work: [...running, ...queued] };
  }

  it('a full queue answers 429 with --overload-status 429 and Retry-After, before any work', async () => {
    const { server, send, work } = await busy({ maxQueue: 2, overloadStatus: 429 });
    try {
      const refused = await send();
      expect({ status: refused.status, retry: refused.retryAfter }).toEqual({ status: 429, retry: '1' });
      expect(refused.head.error).toMatch(/the queue is full \(2 of 2 waiting, 2 running\); retry later$/);
      for (const r of await Promise.all(work)) expect(r.status).toBe(200);
      const text = (await http(`${server.url}/metrics`)).text;
      expect(metric(text, 'reef_serve_invoke_seconds_count', M)).toBe(4);
      expect(metric(text, 'reef_serve_requests_total', `${M},protocol="v2",status="200"`)).toBe(4);
      expect(metric(text, 'reef_serve_requests_total', `${M},protocol="v2",status="429"`)).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('a run whose deadline passes in the queue is dropped unrun: 504', async () => {
    const { server, send, work } = await busy({ maxQueue: 8 });
    try {
      // 10 ms behind two queued runs: it can leave the queue only after the run invoking now and the
      // next one (a whole invoke, tens of ms) are done, so its deadline passes first.
      const late = await send({ 'request-timeout-ms': '10' });
      expect(late.status).toBe(504);
      expect(late.head.error).toMatch(/^the request's deadline passed after \d+ ms in the queue; its work was dropped, not run$/);
      for (const r of await Promise.all(work)) expect(r.status).toBe(200);
      const text = (await http(`${server.url}/metrics`)).text;
      expect(metric(text, 'reef_serve_deadline_expired_total', M)).toBe(1);
      expect(metric(text, 'reef_serve_invoke_seconds_count', M)).toBe(4);
      expect(metric(text, 'reef_serve_requests_total', `${M},protocol="v2",status="200"`)).toBe(4);
      expect(metric(text, 'reef_serve_requests_total', `${M},protocol="v2",status="504"`)).toBe(1);
    } finally {
      await server.close();
    }
  });
});
