/**
 * `reef agent --serial DEV`: the board end of a serial deploy link. It answers the host's requests
 * (src/deploy/serial/protocol.ts): receives files chunk by chunk into DIR/releases/.incoming-SHA.part
 * (with a bitmap of the chunks it has, kept beside it so a pulled cable loses nothing), checks the
 * whole file's sha256 before it is moved into place, and runs reef run/bench/doctor for the host.
 */
import { SerialPort } from 'serialport';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, statfs, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ReefError, isReefError } from '../errors.js';
import type { ReleaseInfo } from '../deploy/bundle-info.js';
import { encodeFrame, FRAME, FrameDecoder, type Frame } from '../deploy/serial/frame.js';
import { bitmapHas, bitmapSet, chunkCount, OP, READ_BYTES, STATUS, type BeginRequest, type JobOutput } from '../deploy/serial/protocol.js';
import { installRelease, readRelease, rollbackRelease } from './releases.js';

export interface AgentOptions {
  device: string;
  baud: number;
  /** Deploy folder (default ~/reef). */
  dir: string;
  /** How to start reef here: [node, bin/reef.js] by default (the reef running the agent). */
  reef?: string[];
  log?: (line: string) => void;
}

interface Transfer {
  handle: number;
  req: BeginRequest;
  fd: FileHandle;
  map: Buffer;
  part: string;
  state: string;
  since: number;
}

interface Job {
  done: boolean;
  out: Buffer;
}

const RUNNABLE = new Set(['run', 'bench', 'doctor', 'inspect', 'info']);

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class Agent {
  private readonly transfers = new Map<number, Transfer>();
  private readonly jobs = new Map<number, Job>();
  private readonly answered = new Map<number, Buffer>();
  private readonly inflight = new Set<number>();
  private nextHandle = 1;
  private nextJob = 1;
  private readonly decoder = new FrameDecoder((f) => void this.onFrame(f));
  readonly dir: string;

  private constructor(private readonly port: SerialPort, private readonly opts: AgentOptions) {
    this.dir = resolve(opts.dir);
    port.on('data', (d: Buffer) => this.decoder.push(d));
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const port = new SerialPort({ path: opts.device, baudRate: opts.baud, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => e ? rej(new ReefError('REEF_DEPLOY_CONNECT_FAILED', `cannot open ${opts.device}: ${e.message}`)) : res()));
    await mkdir(join(resolve(opts.dir), 'releases'), { recursive: true });
    return new Agent(port, opts);
  }

  private log(s: string): void {
    this.opts.log?.(s);
  }

  private reply(id: number, body: Buffer): void {
    this.answered.set(id, body);
    if (this.answered.size > 512) this.answered.delete(this.answered.keys().next().value as number);
    this.port.write(encodeFrame({ type: FRAME.response, id, payload: body }));
  }

  private async onFrame(f: Frame): Promise<void> {
    if (f.type !== FRAME.request) return;
    const cached = this.answered.get(f.id);
    if (cached) { this.port.write(encodeFrame({ type: FRAME.response, id: f.id, payload: cached })); return; }
    if (this.inflight.has(f.id)) { this.port.write(encodeFrame({ type: FRAME.response, id: f.id, payload: Buffer.from([STATUS.busy]) })); return; }
    this.inflight.add(f.id);
    let body: Buffer;
    try {
      const out = await this.handle(f.payload[0], f.payload.subarray(1));
      body = Buffer.concat([Buffer.from([STATUS.ok]), out]);
    } catch (e) {
      const err = isReefError(e) ? { code: e.code, message: e.message } : { code: 'REEF_DEPLOY_REMOTE_FAILED', message: (e as Error).message };
      this.log(`error: ${err.code}: ${err.message}`);
      body = Buffer.concat([Buffer.from([STATUS.error]), Buffer.from(JSON.stringify(err))]);
    }
    this.inflight.delete(f.id);
    this.reply(f.id, body);
  }

  private async handle(op: number, body: Buffer): Promise<Buffer> {
    const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
    const args = (): Record<string, unknown> => (body.length ? JSON.parse(body.toString()) : {}) as Record<string, unknown>;
    switch (op) {
      case OP.hello: return json({ agent: 'reef', dir: this.dir });
      case OP.begin: return json(await this.begin(args() as unknown as BeginRequest));
      case OP.chunk: return this.chunk(body);
      case OP.commit: return json(await this.commit(args() as { handle: number; sha256: string; release?: ReleaseInfo }));
      case OP.rollback: return json(await rollbackRelease(this.dir));
      case OP.status: return json({ dir: this.dir, current: await this.current(), previous: await readRelease(this.dir, 'previous') });
      case OP.run: return json({ job: this.run(args().args as string[]) });
      case OP.job: {
        const j = this.jobs.get(args().job as number);
        if (!j) throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', 'no such job');
        return json(j.done ? { state: 'done', bytes: j.out.length } : { state: 'running' });
      }
      case OP.read: {
        const j = this.jobs.get(body.readUInt32LE(0));
        if (!j?.done) throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', 'no such finished job');
        const off = body.readUInt32LE(4);
        return j.out.subarray(off, off + READ_BYTES);
      }
      default: throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', `unknown request ${op}`);
    }
  }

  private async current(): Promise<(ReleaseInfo & { boardSha256: string; intact: boolean }) | null> {
    const cur = await readRelease(this.dir, 'current');
    if (!cur) return null;
    const boardSha256 = await sha256File(join(this.dir, 'current', cur.file)).catch(() => '');
    return { ...cur, boardSha256, intact: boardSha256 === cur.sha256 };
  }

  private folder(kind: BeginRequest['kind']): string {
    return join(this.dir, kind === 'release' ? 'releases' : 'inputs');
  }

  private async begin(req: BeginRequest): Promise<{ handle: number; have: string; count: number }> {
    if (!/^[0-9a-f]{64}$/.test(req.sha256) || !/^[A-Za-z0-9._+-]+$/.test(req.file) || req.file.startsWith('.') || !(req.bytes >= 0) || !(req.chunk > 0)) {
      throw new ReefError('REEF_INVALID_ARGUMENT', 'bad BEGIN request');
    }
    for (const t of this.transfers.values()) {
      if (t.req.sha256 === req.sha256 && t.req.kind === req.kind) return { handle: t.handle, have: t.map.toString('base64'), count: chunkCount(req.bytes, req.chunk) };
    }
    const dir = this.folder(req.kind);
    await mkdir(dir, { recursive: true });
    const part = join(dir, `.incoming-${req.sha256}.part`);
    const state = join(dir, `.incoming-${req.sha256}.state`);
    const n = chunkCount(req.bytes, req.chunk);
    let map = Buffer.alloc(Math.ceil(n / 8));
    try {
      const s = JSON.parse(await readFile(state, 'utf8')) as { bytes: number; chunk: number; have: string };
      if (s.bytes === req.bytes && s.chunk === req.chunk) map = Buffer.from(s.have, 'base64');
    } catch { /* a fresh transfer */ }
    const fs = await statfs(dir);
    if (fs.bavail * fs.bsize < req.bytes + 64 * 1024) {
      throw new ReefError('REEF_DEPLOY_NO_SPACE', `${dir} has ${Math.floor((fs.bavail * fs.bsize) / 1024)} KiB free and ${req.file} needs ${Math.ceil(req.bytes / 1024)} KiB (plus 64 KiB); the installed version is unchanged`);
    }
    const fd = await open(part, 'a+').then(async (h) => { await h.close(); return open(part, 'r+'); });
    await fd.truncate(req.bytes);
    const handle = this.nextHandle++;
    this.transfers.set(handle, { handle, req, fd, map, part, state, since: 0 });
    const have = map.toString('base64');
    this.log(`receiving ${req.file} (${req.bytes} bytes, ${n} chunks; ${[...Array(n).keys()].filter((i) => bitmapHas(map, i)).length} already here)`);
    return { handle, have, count: n };
  }

  private async saveState(t: Transfer): Promise<void> {
    await t.fd.datasync();
    await writeFile(t.state, JSON.stringify({ bytes: t.req.bytes, chunk: t.req.chunk, have: t.map.toString('base64') }));
    t.since = 0;
  }

  private async chunk(body: Buffer): Promise<Buffer> {
    const t = this.transfers.get(body.readUInt32LE(0));
    if (!t) throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', 'chunk for an unknown transfer (the agent restarted?): run the deploy again');
    const i = body.readUInt32LE(4);
    const data = body.subarray(8);
    const n = chunkCount(t.req.bytes, t.req.chunk);
    const expect = i === n - 1 ? t.req.bytes - i * t.req.chunk : t.req.chunk;
    if (i >= n || data.length !== expect) throw new ReefError('REEF_INVALID_ARGUMENT', `chunk ${i} has ${data.length} bytes, expected ${expect}`);
    await t.fd.write(data, 0, data.length, i * t.req.chunk);
    bitmapSet(t.map, i);
    // The bitmap on disk lags the data (saved every 32 chunks): a resume resends a few chunks, never skips one.
    if (++t.since >= 32) await this.saveState(t);
    return Buffer.alloc(0);
  }

  private async commit(a: { handle: number; sha256: string; release?: ReleaseInfo }): Promise<{ sha256: string; previous: string | null }> {
    const t = this.transfers.get(a.handle);
    if (!t) {
      // Answered before, and the answer was lost: say the same again.
      const cur = await readRelease(this.dir, 'current');
      if (cur && cur.sha256 === a.sha256) return { sha256: cur.sha256, previous: (await readRelease(this.dir, 'previous'))?.id ?? null };
      throw new ReefError('REEF_DEPLOY_REMOTE_FAILED', 'commit of an unknown transfer: run the deploy again');
    }
    const n = chunkCount(t.req.bytes, t.req.chunk);
    const missing = [...Array(n).keys()].filter((i) => !bitmapHas(t.map, i));
    if (missing.length) throw new ReefError('REEF_DEPLOY_LINK_UNRELIABLE', `${missing.length} chunk(s) never arrived (first: ${missing[0]})`);
    await t.fd.datasync();
    await t.fd.close();
    this.transfers.delete(a.handle);
    const sha256 = await sha256File(t.part);
    if (sha256 !== t.req.sha256) {
      await rm(t.part, { force: true });
      await rm(t.state, { force: true });
      throw new ReefError('REEF_DEPLOY_CHECKSUM_MISMATCH', `the received ${t.req.file} has sha256 ${sha256} but the host sent ${t.req.sha256}; it was removed, the installed version is unchanged`);
    }
    let previous: string | null = null;
    if (t.req.kind === 'release') {
      if (!a.release || a.release.sha256 !== sha256) throw new ReefError('REEF_INVALID_ARGUMENT', 'commit without a matching release');
      previous = await installRelease(this.dir, t.part, a.release);
    } else {
      await rename(t.part, join(this.folder('input'), t.req.file));
    }
    await rm(t.state, { force: true });
    this.log(`installed ${t.req.file} (sha256 ${sha256})`);
    return { sha256, previous };
  }

  private run(args: string[]): number {
    if (!Array.isArray(args) || !RUNNABLE.has(args[0])) throw new ReefError('REEF_INVALID_ARGUMENT', `the agent runs only reef ${[...RUNNABLE].join('/')}`);
    const id = this.nextJob++;
    const job: Job = { done: false, out: Buffer.alloc(0) };
    this.jobs.set(id, job);
    void (async () => {
      const cur = await readRelease(this.dir, 'current');
      const argv = args.map((a) => a === '@current' ? join(this.dir, 'current', cur?.file ?? 'missing') : a.startsWith('@input:') ? join(this.dir, 'inputs', a.slice(7).replace(/[/\\]/g, '')) : a);
      const [cmd, ...pre] = this.opts.reef ?? [process.execPath, process.argv[1]];
      const child = spawn(cmd, [...pre, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const code = await new Promise<number>((r) => { child.on('close', (c) => r(c ?? 1)); child.on('error', (e) => { stderr += e.message; r(127); }); });
      job.out = Buffer.from(JSON.stringify({ code, stdout, stderr } satisfies JobOutput));
      job.done = true;
      this.log(`reef ${args[0]} finished (exit ${code})`);
    })();
    return id;
  }

  async stop(): Promise<void> {
    for (const t of this.transfers.values()) await this.saveState(t).then(() => t.fd.close()).catch(() => undefined);
    this.transfers.clear();
    if (this.port.isOpen) await new Promise<void>((r) => this.port.close(() => r()));
  }
}
