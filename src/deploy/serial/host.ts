/**
 * `reef deploy` over a serial link to `reef agent --serial` on the board: the file in CRC-checked
 * chunks (a window of them in flight, each resent until acknowledged), resumed from what the board
 * already holds, its sha256 checked on the board before it is switched into place; and rollback,
 * status, `reef bench` / `reef run` on the board over the same link.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { ReefError } from '../../errors.js';
import { releaseFor, type BundleInfo, type ReleaseInfo } from '../bundle-info.js';
import type { DeployOptions, DeployResult, RollbackResult, StatusResult } from '../ssh-deploy.js';
import type { SerialTarget } from '../target.js';
import { SerialLink, type LinkOptions } from './link.js';
import { bitmapHas, CHUNK_BYTES, chunkCount, OP, READ_BYTES, type BeginAnswer, type BeginRequest, type JobOutput } from './protocol.js';

export type SerialDeployResult = Required<DeployResult>;

const WINDOW = 8;

function op(code: number, body: Buffer | string | object = Buffer.alloc(0)): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return Buffer.concat([Buffer.from([code]), b]);
}

/** A request's timeout: the window's frames on the wire both ways, plus the board's turnaround. */
function timeoutFor(link: SerialLink, bytes: number): number {
  return Math.max(400, Math.ceil(link.wireMs((bytes + 32) * WINDOW) * 2) + 300);
}

export async function json<T>(link: SerialLink, code: number, body: object = {}, timeoutMs?: number): Promise<T> {
  const r = await link.request(op(code, body), timeoutMs ?? timeoutFor(link, 1024));
  return JSON.parse(r.toString()) as T;
}

async function withLink<T>(t: SerialTarget, opts: LinkOptions, job: (l: SerialLink) => Promise<T>): Promise<T> {
  const link = await SerialLink.open(t.device, t.baud, opts);
  try {
    await json(link, OP.hello);
    return await job(link);
  } finally {
    await link.close();
  }
}

/** Sends a file in chunks (only those the board lacks); returns the bytes it already had. Exported for the tests. */
export async function sendFile(link: SerialLink, kind: BeginRequest['kind'], file: string, bytes: Buffer, sha256: string, onProgress?: (sent: number, total: number) => void): Promise<{ handle: number; resumed: number }> {
  const begin = await json<BeginAnswer & { handle: number }>(link, OP.begin, { kind, file, bytes: bytes.length, sha256, chunk: CHUNK_BYTES } satisfies BeginRequest);
  const have = Buffer.from(begin.have, 'base64');
  const n = chunkCount(bytes.length, CHUNK_BYTES);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!bitmapHas(have, i)) missing.push(i);
  const resumed = Math.min(bytes.length, (n - missing.length) * CHUNK_BYTES);
  let done = resumed;
  onProgress?.(done, bytes.length);
  let next = 0;
  const timeout = timeoutFor(link, CHUNK_BYTES + 16);
  const worker = async (): Promise<void> => {
    while (next < missing.length) {
      const i = missing[next++];
      const data = bytes.subarray(i * CHUNK_BYTES, Math.min(bytes.length, (i + 1) * CHUNK_BYTES));
      const head = Buffer.alloc(8);
      head.writeUInt32LE(begin.handle, 0);
      head.writeUInt32LE(i, 4);
      await link.request(op(OP.chunk, Buffer.concat([head, data])), timeout);
      done += data.length;
      onProgress?.(done, bytes.length);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  return { handle: begin.handle, resumed };
}

export async function deployOverSerial(t: SerialTarget, info: BundleInfo, opts: DeployOptions & LinkOptions = {}): Promise<SerialDeployResult> {
  const t0 = performance.now();
  const bytes = await readFile(info.path);
  const release = releaseFor(info);
  return withLink(t, opts, async (link) => {
    const tc = performance.now();
    const { handle, resumed } = await sendFile(link, 'release', info.file, bytes, info.sha256, (sent, total) => opts.onProgress?.({ phase: 'copy', sent, total }));
    const copySeconds = (performance.now() - tc) / 1000;
    opts.onProgress?.({ phase: 'install', sent: info.bytes, total: info.bytes });
    // The board hashes the whole file before the rename; resends meanwhile are answered "busy".
    const answer = await json<{ sha256: string; previous: string | null }>(link, OP.commit, { handle, sha256: info.sha256, release });
    return {
      target: t.text, release, previous: answer.previous, boardSha256: answer.sha256,
      seconds: (performance.now() - t0) / 1000, copySeconds, throughput: (info.bytes - resumed) / Math.max(copySeconds, 1e-6),
      service: null, resumedBytes: resumed,
      link: { baud: t.baud, framesSent: link.stats.sent, framesResent: link.stats.resent, badFramesReceived: link.badFrames },
    };
  });
}

export async function rollbackOverSerial(t: SerialTarget, opts: LinkOptions = {}): Promise<RollbackResult> {
  return withLink(t, opts, async (link) => {
    const r = await json<{ current: ReleaseInfo; previous: string }>(link, OP.rollback);
    return { target: t.text, current: r.current, previous: r.previous, service: null };
  });
}

/** Starts a reef command on the board and waits for it; its output comes back in READ pieces. */
async function job(link: SerialLink, args: string[], waitMs = 600_000): Promise<JobOutput> {
  const { job: id } = await json<{ job: number }>(link, OP.run, { args });
  const end = Date.now() + waitMs;
  let state: { state: string; bytes?: number } = { state: 'running' };
  while (state.state === 'running') {
    if (Date.now() > end) throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', `reef ${args[0]} on the board did not finish within ${waitMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
    state = await json(link, OP.job, { job: id });
  }
  const total = state.bytes ?? 0;
  const parts: Buffer[] = [];
  for (let off = 0; off < total; off += READ_BYTES) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(id, 0);
    head.writeUInt32LE(off, 4);
    parts.push(await link.request(op(OP.read, head), timeoutFor(link, READ_BYTES)));
  }
  return JSON.parse(Buffer.concat(parts).toString()) as JobOutput;
}

export async function statusOverSerial(t: SerialTarget, opts: LinkOptions = {}): Promise<StatusResult> {
  return withLink(t, opts, async (link) => {
    const s = await json<Omit<StatusResult, 'target' | 'doctor' | 'service'>>(link, OP.status);
    const d = await job(link, ['doctor', '--json'], 60_000);
    let doctor: StatusResult['doctor'];
    try { doctor = JSON.parse(d.stdout) as StatusResult['doctor']; } catch { doctor = { error: `reef doctor on the board did not answer with JSON (exit ${d.code}): ${(d.stderr || d.stdout).slice(0, 300)}` }; }
    return { target: t.text, ...s, service: null, doctor };
  });
}

function parseJob(what: string, r: JobOutput): unknown {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', `${what} on the board failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  }
}

export async function benchOverSerial(t: SerialTarget, args: string[], opts: LinkOptions = {}): Promise<unknown> {
  return withLink(t, opts, async (link) => parseJob('reef bench', await job(link, ['bench', '@current', '--json', ...args])));
}

/**
 * `reef run` on the board on the current release: the input file goes over the link first (into
 * DIR/inputs), then `reef run @current INPUT --json ARGS` runs there; resolves with its JSON.
 */
export async function runOverSerial(t: SerialTarget, input: string, args: string[], opts: LinkOptions = {}): Promise<unknown> {
  const bytes = await readFile(input).catch(() => { throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read the input ${input}`); });
  const file = basename(input);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return withLink(t, opts, async (link) => {
    const { handle } = await sendFile(link, 'input', file, bytes, sha256);
    await json(link, OP.commit, { handle, sha256 });
    return parseJob('reef run', await job(link, ['run', '@current', `@input:${file}`, '--json', ...args]));
  });
}
