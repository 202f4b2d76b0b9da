/**
 * What is being deployed: size, sha256 and, for a .reef bundle, its manifest's name and origin.
 * A bundle that does not parse is refused here, before any board is touched.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ReefError } from '../errors.js';
import { readTar } from '../bundle/tar.js';
import { MANIFEST_NAME, parseManifest } from '../bundle/manifest.js';

export interface BundleInfo {
  path: string;
  /** File name kept on the board. */
  file: string;
  bytes: number;
  sha256: string;
  /** From manifest.json for a .reef bundle; null for a bare model. */
  manifest: { name: string; created: string; producer: string } | null;
}

/** One release on the board: what deploy writes to releases/ID/release.json. */
export interface ReleaseInfo {
  id: string;
  file: string;
  bytes: number;
  sha256: string;
  deployedAt: string;
  manifest: BundleInfo['manifest'];
}

export async function describeBundle(path: string): Promise<BundleInfo> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read the bundle ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const file = basename(path);
  if (!/^[A-Za-z0-9._+-]+$/.test(file) || file.startsWith('.')) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a bundle file name of letters, digits and ._+- for BUNDLE but received "${file}"; rename it`);
  }
  let manifest: BundleInfo['manifest'] = null;
  if (file.toLowerCase().endsWith('.reef')) {
    let text: string | undefined;
    try {
      const entryText = readTar(bytes).find((e) => e.name === MANIFEST_NAME);
      text = entryText === undefined ? undefined : Buffer.from(entryText.data).toString();
    } catch (e) {
      throw new ReefError('REEF_BUNDLE_INVALID', `Invalid .reef bundle ${path}: ${(e as Error).message}; it was not deployed`);
    }
    if (text === undefined) throw new ReefError('REEF_BUNDLE_INVALID', `Invalid .reef bundle ${path}: no ${MANIFEST_NAME}; it was not deployed`);
    const m = parseManifest(text);
    manifest = { name: m.name, created: m.created, producer: m.producer };
  }
  return { path, file, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), manifest };
}

/** A release id that sorts by time and names the content: 20260130T101500123Z-1a2b3c4d5e6f. */
export function releaseId(sha256: string, now = new Date()): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${sha256.slice(0, 12)}`;
}

export function releaseFor(info: BundleInfo, now = new Date()): ReleaseInfo {
  return { id: releaseId(info.sha256, now), file: info.file, bytes: info.bytes, sha256: info.sha256, deployedAt: now.toISOString(), manifest: info.manifest };
}
