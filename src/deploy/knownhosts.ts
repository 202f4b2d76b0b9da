/**
 * OpenSSH known_hosts: reading (plain and hashed host names, [host]:port, wildcards, @revoked),
 * fingerprints in ssh-keygen's SHA256:... form, and recording a newly trusted key.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ReefError } from '../errors.js';

export interface KnownKey {
  type: string;
  /** The key blob, base64 as in the file. */
  key: string;
  revoked: boolean;
  line: number;
}

/** `SHA256:<base64 without padding>` of a key blob, as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let hit = false;
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) hit = true;
  }
  return hit;
}

/** The keys known_hosts text records for `name` ("host" or "[host]:port"). */
export function knownKeys(text: string, name: string): KnownKey[] {
  const out: KnownKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    let marker = '';
    if (parts[0].startsWith('@')) marker = parts.shift() ?? '';
    if (marker === '@cert-authority' || parts.length < 3) return;
    if (!hostFieldMatches(parts[0], name)) return;
    out.push({ type: parts[1], key: parts[2], revoked: marker === '@revoked', line: i + 1 });
  });
  return out;
}

export type HostCheck =
  | { status: 'known' }
  | { status: 'unknown'; fingerprint: string; type: string }
  | { status: 'changed'; fingerprint: string; type: string; line: number }
  | { status: 'revoked'; fingerprint: string; line: number };

/** Checks a host key blob against known_hosts text, the way ssh's StrictHostKeyChecking does. */
export function checkHostKey(text: string, name: string, blob: Buffer): HostCheck {
  const b64 = blob.toString('base64');
  const type = keyType(blob);
  const fp = fingerprint(blob);
  const keys = knownKeys(text, name);
  const revoked = keys.find((k) => k.revoked && k.key === b64);
  if (revoked) return { status: 'revoked', fingerprint: fp, line: revoked.line };
  if (keys.some((k) => !k.revoked && k.key === b64)) return { status: 'known' };
  const other = keys.find((k) => !k.revoked && k.type === type) ?? keys.find((k) => !k.revoked);
  if (other) return { status: 'changed', fingerprint: fp, type, line: other.line };
  return { status: 'unknown', fingerprint: fp, type };
}

/** Reads a known_hosts file; a missing file is an empty one. */
export async function readKnownHosts(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new ReefError('REEF_DEPLOY_HOST_UNKNOWN', `cannot read known_hosts file ${path}: ${(e as Error).message}`);
  }
}

/** Appends `name type key` to known_hosts (creating it and its folder), as ssh's accept-new does. */
export async function recordHostKey(path: string, name: string, blob: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const existing = await readKnownHosts(path);
  const sep = existing && !existing.endsWith('\n') ? '\n' : '';
  await appendFile(path, `${sep}${name} ${keyType(blob)} ${blob.toString('base64')}\n`, { mode: 0o600 });
}
