/**
 * Deploy targets: `ssh://user@host[:port][/dir]` and `serial:///dev/ttyUSB0?baud=115200`.
 * Parsing is pure; nothing here connects.
 */
import { ReefError } from '../errors.js';

export interface SshTarget {
  kind: 'ssh';
  user: string;
  host: string;
  port: number;
  /** Deploy folder on the board: absolute, or relative to the user's home (default "reef"). */
  dir: string;
  /** As the user wrote it, for messages and summaries. */
  text: string;
}

export interface SerialTarget {
  kind: 'serial';
  device: string;
  baud: number;
  text: string;
}

export type Target = SshTarget | SerialTarget;

/** The deploy folder when the target names none: ~/reef on the board. */
export const DEFAULT_DIR = 'reef';
/** Baud rates a UART on a Pi or a USB adapter offers. */
export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 921600, 1000000, 1500000, 2000000, 3000000] as const;

function bad(text: string, why: string): ReefError {
  return new ReefError('REEF_DEPLOY_TARGET_INVALID', `Expected ssh://user@host[:port][/dir] or serial:///dev/DEVICE?baud=N for TARGET but received "${text}" (${why})`);
}

/** Parses a TARGET; throws REEF_DEPLOY_TARGET_INVALID saying what is wrong. */
export function parseTarget(text: string): Target {
  if (text.startsWith('serial://')) return parseSerial(text);
  if (!text.startsWith('ssh://')) throw bad(text, 'it starts with neither ssh:// nor serial://');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad(text, 'it is not a URL');
  }
  const user = decodeURIComponent(url.username);
  if (!user) throw bad(text, 'no user: write ssh://USER@host');
  if (url.password) throw bad(text, 'passwords are not accepted in the target; use a key or ssh-agent');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw bad(text, 'no host');
  const port = url.port === '' ? 22 : Number(url.port);
  if (url.search || url.hash) throw bad(text, 'an ssh target takes no ?query or #fragment');
  const path = decodeURIComponent(url.pathname);
  const dir = path === '' || path === '/' ? DEFAULT_DIR : path.replace(/\/+$/, '');
  if (/[\0\n]/.test(dir)) throw bad(text, 'the folder contains a NUL or newline');
  return { kind: 'ssh', user, host, port, dir, text };
}

function parseSerial(text: string): SerialTarget {
  const rest = text.slice('serial://'.length);
  const q = rest.indexOf('?');
  const device = decodeURIComponent(q < 0 ? rest : rest.slice(0, q));
  if (!device.startsWith('/')) throw bad(text, 'the device must be an absolute path: serial:///dev/ttyUSB0');
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  for (const k of params.keys()) if (k !== 'baud') throw bad(text, `unknown parameter "${k}" (only baud)`);
  const b = params.get('baud') ?? '115200';
  const baud = Number(b);
  if (!(BAUD_RATES as readonly number[]).includes(baud)) throw bad(text, `baud must be one of ${BAUD_RATES.join(', ')}`);
  return { kind: 'serial', device, baud, text };
}

/** The host the way known_hosts names it: "host" on port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}
