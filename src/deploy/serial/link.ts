/**
 * The host end of a serial link: requests resent until answered, a window of requests in flight,
 * and two ways to give up, each with its code: nothing heard from the board for linkTimeoutMs
 * (REEF_DEPLOY_LINK_LOST: cable pulled, agent stopped) or one request unanswered after maxTries
 * sends while the board still answers others (REEF_DEPLOY_LINK_UNRELIABLE).
 */
import { SerialPort } from 'serialport';
import { ReefError } from '../../errors.js';
import { encodeFrame, FRAME, FrameDecoder, type Frame } from './frame.js';
import { STATUS } from './protocol.js';

export interface LinkOptions {
  /** Give up when the board has said nothing for this long (ms, default 10000). */
  linkTimeoutMs?: number;
  /** Sends of one request before REEF_DEPLOY_LINK_UNRELIABLE (default 30). */
  maxTries?: number;
}

interface Pending {
  frame: Buffer;
  sentAt: number;
  tries: number;
  timeoutMs: number;
  timer: NodeJS.Timeout | null;
  resolve(b: Buffer): void;
  reject(e: Error): void;
}

export interface LinkStats {
  sent: number;
  resent: number;
  received: number;
  badFrames: number;
}

export class SerialLink {
  private nextId = (Math.random() * 0x7fffffff) >>> 0;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder: FrameDecoder;
  private lastHeard = Date.now();
  private closed = false;
  /** Smoothed round trip and its deviation (Jacobson), from answered first sends only (Karn), ms. */
  private srtt: number | null = null;
  private rttvar = 0;
  readonly stats: LinkStats = { sent: 0, resent: 0, received: 0, badFrames: 0 };

  private constructor(private readonly port: SerialPort, readonly device: string, readonly baud: number, private readonly opts: LinkOptions) {
    this.decoder = new FrameDecoder((f) => this.onFrame(f));
    port.on('data', (d: Buffer) => this.decoder.push(d));
    port.on('close', () => this.fail(new ReefError('REEF_DEPLOY_LINK_LOST', `${device} closed (adapter unplugged?)`)));
    port.on('error', () => undefined);
  }

  static async open(device: string, baud: number, opts: LinkOptions = {}): Promise<SerialLink> {
    const port = new SerialPort({ path: device, baudRate: baud, autoOpen: false });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => err ? reject(new ReefError('REEF_DEPLOY_CONNECT_FAILED', `cannot open ${device}: ${err.message}`)) : resolve());
    });
    return new SerialLink(port, device, baud, opts);
  }

  /** Seconds one frame of n bytes spends on the wire at this baud (10 bits a byte). */
  wireMs(bytes: number): number {
    return (bytes * 10 * 1000) / this.baud;
  }

  private onFrame(f: Frame): void {
    this.lastHeard = Date.now();
    this.stats.received++;
    if (f.type !== FRAME.response) return;
    const p = this.pending.get(f.id);
    if (!p) return; // an answer to a resent request that was answered already
    const status = f.payload[0];
    if (status === STATUS.busy) return; // the board is still working on it: alive, keep waiting
    this.pending.delete(f.id);
    if (p.tries === 1) {
      const rtt = Date.now() - p.sentAt;
      if (this.srtt === null) { this.srtt = rtt; this.rttvar = rtt / 2; } else {
        this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
        this.srtt = 0.875 * this.srtt + 0.125 * rtt;
      }
    }
    if (p.timer) clearTimeout(p.timer);
    const body = f.payload.subarray(1);
    if (status === STATUS.ok) p.resolve(body);
    else {
      let err: { code?: string; message?: string } = {};
      try { err = JSON.parse(body.toString()) as typeof err; } catch { /* keep empty */ }
      p.reject(new ReefError(err.code ?? 'REEF_DEPLOY_REMOTE_FAILED', `the board (reef agent) answered: ${err.message ?? body.toString()}`));
    }
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  private send(id: number, p: Pending): void {
    this.port.write(p.frame);
    p.sentAt = Date.now();
    p.tries++;
    if (p.tries > 1) this.stats.resent++;
    else this.stats.sent++;
    p.timer = setTimeout(() => {
      p.timer = null;
      if (!this.pending.has(id)) return;
      const silent = Date.now() - this.lastHeard;
      const linkTimeout = this.opts.linkTimeoutMs ?? 10_000;
      if (silent >= linkTimeout) {
        this.fail(new ReefError('REEF_DEPLOY_LINK_LOST', `nothing heard from the board on ${this.device} for ${(silent / 1000).toFixed(1)} s (cable pulled? is \`reef agent --serial\` running there at ${this.baud} baud?)`));
        return;
      }
      if (p.tries >= (this.opts.maxTries ?? 30)) {
        this.pending.delete(id);
        p.reject(new ReefError('REEF_DEPLOY_LINK_UNRELIABLE', `a request on ${this.device} went unanswered ${p.tries} times while the board still answered others (${this.decoder.bad} damaged frames so far)`));
        return;
      }
      this.send(id, p);
    }, this.timeout(p));
  }

  /**
   * When to resend: the measured round trip plus four deviations (the wire-time bound until there
   * is a measurement), doubled on every resend of the same request (TCP's backoff), so a line that
   * is slower than measured is not flooded with copies.
   */
  private timeout(p: Pending): number {
    // Never less than the line needs for every frame in flight (a paced UART queues them).
    let inFlight = 0;
    for (const q of this.pending.values()) inFlight += q.frame.length + 16;
    const floor = this.wireMs(inFlight) * 1.5 + 50;
    const rto = this.srtt === null ? p.timeoutMs : Math.min(p.timeoutMs, Math.max(100, floor, this.srtt + 4 * this.rttvar));
    return Math.min(rto * 2 ** (p.tries - 1), p.timeoutMs * 4);
  }

  /** Sends a request and resolves with the answer's body; resends on silence. */
  request(payload: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new ReefError('REEF_DEPLOY_LINK_LOST', `the link on ${this.device} is closed`));
    const id = this.nextId = (this.nextId + 1) >>> 0;
    const frame = encodeFrame({ type: FRAME.request, id, payload });
    this.stats.badFrames = this.decoder.bad;
    return new Promise<Buffer>((resolve, reject) => {
      const p: Pending = { frame, sentAt: 0, tries: 0, timeoutMs, timer: null, resolve, reject };
      this.pending.set(id, p);
      this.send(id, p);
    });
  }

  /** Frames that arrived damaged. */
  get badFrames(): number {
    return this.decoder.bad;
  }

  async close(): Promise<void> {
    this.fail(new ReefError('REEF_DEPLOY_LINK_LOST', 'link closed'));
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }
}
