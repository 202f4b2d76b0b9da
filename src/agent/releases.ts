/**
 * The deploy folder on the board, managed from Node (for `reef agent`); the same layout the SSH
 * deploy writes with shell steps (src/deploy/ssh-deploy.ts): releases/ID/FILE + release.json,
 * `current` and `previous` symlinks switched by rename, older releases removed.
 */
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ReefError } from '../errors.js';
import type { ReleaseInfo } from '../deploy/bundle-info.js';

async function link(dir: string, name: string, to: string): Promise<void> {
  const tmp = join(dir, `.${name}.new`);
  await rm(tmp, { force: true });
  await symlink(to, tmp);
  await rename(tmp, join(dir, name));
}

export async function readRelease(dir: string, which: 'current' | 'previous'): Promise<ReleaseInfo | null> {
  try {
    return JSON.parse(await readFile(join(dir, which, 'release.json'), 'utf8')) as ReleaseInfo;
  } catch {
    return null;
  }
}

/** Moves a verified file into a new release and switches `current` to it; returns the old current id. */
export async function installRelease(dir: string, file: string, release: ReleaseInfo): Promise<string | null> {
  const rel = `releases/${release.id}`;
  const fresh = join(dir, 'releases', `.new-${release.id}`);
  await rm(fresh, { recursive: true, force: true });
  await mkdir(fresh, { recursive: true });
  await rename(file, join(fresh, release.file));
  await writeFile(join(fresh, 'release.json'), JSON.stringify(release) + '\n');
  await rename(fresh, join(dir, rel));
  const old = await readlink(join(dir, 'current')).catch(() => null);
  await link(dir, 'current', rel);
  if (old && old !== rel) await link(dir, 'previous', old);
  const keep = await readlink(join(dir, 'previous')).catch(() => null);
  for (const d of await readdir(join(dir, 'releases'))) {
    if (d.startsWith('.')) continue;
    if (`releases/${d}` !== rel && `releases/${d}` !== keep) await rm(join(dir, 'releases', d), { recursive: true, force: true });
  }
  return old ? old.replace(/^releases\//, '') : null;
}

export async function rollbackRelease(dir: string): Promise<{ current: ReleaseInfo; previous: string }> {
  const p = await readlink(join(dir, 'previous')).catch(() => null);
  const prev = p ? await readRelease(dir, 'previous') : null;
  if (!p || !prev) throw new ReefError('REEF_DEPLOY_NOTHING_TO_ROLLBACK', `${dir} keeps no previous release (deploy there twice before rolling back)`);
  const c = await readlink(join(dir, 'current'));
  await link(dir, 'current', p);
  await link(dir, 'previous', c);
  return { current: prev, previous: c.replace(/^releases\//, '') };
}
