/**
 * The load generator of `npm run bench:serve`, run as its own process so that the clients never
 * share an event loop (or a core's time slices, as far as the OS allows) with the server.
 * Keep-alive HTTP/1.1 connections on raw sockets (see Connection); KServe v2 requests, binary
 * (tritonclient's layout) or JSON.
 *
 *   node --import tsx bench/serve-load.ts '{"url":..., "mode":"closed", "clients":4, ...}'
 *
 * Prints one JSON line: counts by status, answers whose output bytes differ from `expect`, and
 * the latency of every answered request of the measured phase (ms). A warm-up phase runs first on
 * the same connections and is not counted.
 */
import { connect, type Socket } from 'node:net';
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
  /** CPU time this process used during the measured phase (ms, user + system, every thread). */
  cpuMs: number;
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

/**
 * One keep-alive HTTP/1.1 connection speaking just enough of the protocol for the bench (the way wrk
 * and h2load do): the request bytes are built once, the answer is read by its Content-Length. A load
 * generator on node:http spent ~2 ms of CPU per request here, on the same 2 cores as the server.
 */
class Connection {
  #socket: Socket | null = null;
  #chunks: Buffer[] = [];
  #have = 0;
  #waiting: ((r: { status: number; headers: string; body: Buffer } | Error) => void) | null = null;
  constructor(private readonly host: string, private readonly port: number) {}

  #open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true }, () => resolve(socket));
      socket.on('error', (e) => { this.#fail(e); reject(e); });
      socket.on('close', () => { this.#socket = null; this.#fail(new Error('connection closed')); });
      socket.on('data', (d: Buffer) => { this.#chunks.push(d); this.#have += d.length; this.#parse(); });
      this.#socket = socket;
    });
  }

  #fail(e: Error): void {
    const w = this.#waiting;
    this.#waiting = null;
    this.#chunks = [];
    this.#have = 0;
    w?.(e);
  }

  #parse(): void {
    if (!this.#waiting) return;
    const buf = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#have);
    this.#chunks = [buf];
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const headers = buf.toString('latin1', 0, end);
    const m = /\r\ncontent-length: *(\d+)/i.exec(headers);
    if (!m) { this.#socket?.destroy(); this.#fail(new Error('answer without Content-Length')); return; }
    const total = end + 4 + Number(m[1]);
    if (buf.length < total) return;
    const w = this.#waiting;
    this.#waiting = null;
    const rest = buf.subarray(total);
    this.#chunks = rest.length ? [rest] : [];
    this.#have = rest.length;
    w({ status: Number(headers.slice(9, 12)), headers, body: buf.subarray(end + 4, total) });
  }

  async send(head: Buffer, body: Buffer): Promise<{ status: number; headers: string; body: Buffer }> {
    const socket = this.#socket ?? (await this.#open());
    return new Promise((resolve, reject) => {
      this.#waiting = (r) => (r instanceof Error ? reject(r) : resolve(r));
      socket.cork();
      socket.write(head);
      socket.write(body);
      socket.uncork();
    });
  }

  close(): void {
    this.#socket?.destroy();
  }
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const u = new URL(`${plan.url}/v2/models/${plan.model}/infer`);
  const req = inferRequest(plan.body);
  const head = Buffer.from(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: keep-alive\r\n` +
    Object.entries(req.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n', 'latin1');
  const expect = plan.expect ? Buffer.from(plan.expect, 'base64') : null;
  const res: LoadResult = { mode: plan.mode, seconds: plan.seconds, sent: 0, ok: 0, wrong: 0, statuses: {}, latenciesMs: [], cpuMs: 0 };
  let counting = false;
  // Closed loop: one connection per client. Open loop: a pool, a connection per request in flight.
  const idle: Connection[] = [];
  const all: Connection[] = [];
  const port = Number(u.port);

  const send = async (): Promise<void> => {
    const t0 = performance.now();
    const counted = counting;
    if (counted) res.sent++;
    let conn = idle.pop();
    if (!conn) all.push((conn = new Connection(u.hostname, port)));
    try {
      const answer = await conn.send(head, req.body);
      idle.push(conn);
      if (!counted) return;
      res.statuses[answer.status] = (res.statuses[answer.status] ?? 0) + 1;
      if (answer.status !== 200) return;
      res.ok++;
      res.latenciesMs.push(performance.now() - t0);
      if (expect) {
        const n = Number(/\r\ninference-header-content-length: *(\d+)/i.exec(answer.headers)?.[1] ?? 0);
        if (Buffer.compare(answer.body.subarray(n), expect) !== 0) res.wrong++;
      }
    } catch {
      conn.close();
      if (counted) res.statuses.error = (res.statuses.error ?? 0) + 1;
    }
  };

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
  const cpu0 = process.cpuUsage();
  await phase(plan.seconds);
  res.seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  res.cpuMs = (cpu.user + cpu.system) / 1000;
  for (const c of all) c.close();
  return res;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
  const r = await runLoad(plan);
  process.stdout.write(JSON.stringify(r) + '\n');
}
