/**
 * A serial-line fault injector for the deploy tests and bench (a test tool, not part of reef):
 * forwards bytes between two pseudo-terminals (the inner ends of two socat pty pairs) and, per
 * byte, drops or corrupts them, holds some writes back (delay), can pace them at a baud rate
 * (a pty itself has none) and can "pull the cable" (forward nothing). Seeded, so a run repeats.
 *
 *   node --import tsx test/deploy/fault-injector.ts A B [--baud N] [--seed N]
 * stdin commands, one a line: "drop P", "corrupt P", "delay P MAXMS", "long N", "cut", "restore", "stats".
 * "long N" (deterministic, no randomness) damages every byte past the Nth of a SLIP frame (counted
 * from the last END byte, 0xC0): frames up to N bytes always pass, longer ones never arrive intact,
 * as on a UART without flow control whose receive FIFO overruns on long bursts. "long 0" turns it off.
 * Prints "ready" when both ends are open; "stats" prints JSON counts.
 */
import { SerialPort } from 'serialport';
import { createInterface } from 'node:readline';
import { mulberry32 } from '../../src/bench/inputs.js';

const [a, b, ...rest] = process.argv.slice(2);
const flag = (name: string, def: number): number => {
  const i = rest.indexOf(name);
  return i >= 0 ? Number(rest[i + 1]) : def;
};
const baud = flag('--baud', 0);
const rand = mulberry32(flag('--seed', 1));
const cfg = { drop: 0, corrupt: 0, delayP: 0, delayMax: 0, long: 0, cut: false };
const stats = { forwarded: 0, dropped: 0, corrupted: 0, delayed: 0, cutBytes: 0, longDamaged: 0 };
const SLIP_END = 0xc0;

function openPort(path: string): Promise<SerialPort> {
  const p = new SerialPort({ path, baudRate: baud || 115200, autoOpen: false });
  return new Promise((res, rej) => p.open((e) => (e ? rej(e) : res(p))));
}

interface Pending { at: number; data: Buffer }

function pipe(from: SerialPort, to: SerialPort): void {
  const queue: Pending[] = [];
  let credit = 0;
  let last = Date.now();
  let inFrame = 0;
  from.on('data', (d: Buffer) => {
    if (cfg.cut) { stats.cutBytes += d.length; return; }
    const out: number[] = [];
    for (const byte of d) {
      inFrame = byte === SLIP_END ? 0 : inFrame + 1;
      // Flip the low bit (0xC1 would become END: that splits the frame, which fails its CRC all the same).
      if (cfg.long > 0 && inFrame > cfg.long) { stats.longDamaged++; out.push(byte ^ 1); continue; }
      if (rand() < cfg.drop) { stats.dropped++; continue; }
      if (rand() < cfg.corrupt) { stats.corrupted++; out.push(byte ^ (1 + Math.floor(rand() * 255))); continue; }
      out.push(byte);
    }
    let at = Date.now();
    if (cfg.delayP > 0 && rand() < cfg.delayP) { at += rand() * cfg.delayMax; stats.delayed++; }
    // Order is kept: a held write holds what follows it.
    if (queue.length) at = Math.max(at, queue[queue.length - 1].at);
    queue.push({ at, data: Buffer.from(out) });
  });
  setInterval(() => {
    const now = Date.now();
    // At most ~5 ms of line time may go at once, as a UART sends byte after byte.
    if (baud) credit = Math.min(credit + ((now - last) / 1000) * (baud / 10), Math.max(16, baud / 10 / 200));
    last = now;
    while (queue.length && queue[0].at <= now) {
      const head = queue[0];
      if (cfg.cut) { stats.cutBytes += head.data.length; queue.shift(); continue; }
      let n = head.data.length;
      if (baud) n = Math.min(n, Math.floor(credit));
      if (n <= 0) break;
      to.write(head.data.subarray(0, n));
      stats.forwarded += n;
      if (baud) credit -= n;
      if (n === head.data.length) queue.shift();
      else head.data = head.data.subarray(n);
    }
  }, 2).unref();
}

const [pa, pb] = await Promise.all([openPort(a), openPort(b)]);
pipe(pa, pb);
pipe(pb, pa);
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, x, y] = line.trim().split(/\s+/);
  if (cmd === 'drop') cfg.drop = Number(x);
  else if (cmd === 'corrupt') cfg.corrupt = Number(x);
  else if (cmd === 'delay') { cfg.delayP = Number(x); cfg.delayMax = Number(y); }
  else if (cmd === 'long') cfg.long = Number(x);
  else if (cmd === 'cut') cfg.cut = true;
  else if (cmd === 'restore') cfg.cut = false;
  else if (cmd === 'stats') process.stdout.write(JSON.stringify(stats) + '\n');
  if (cmd !== 'stats') process.stdout.write(`ok ${cmd}\n`);
}).on('close', () => process.exit(0));
