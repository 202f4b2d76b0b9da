/**
 * The host half of `reef deploy --install`: reef's packed tarball (`npm pack`), installed on THIS
 * machine into a staging folder for the board's cpu/os (`npm install --cpu=arm64 --os=linux`, no
 * install scripts: the board needs no compiler, and nothing is built here for the wrong CPU), then
 * tarred for the copy. Staged tarballs are cached by (reef tarball sha256, board platform), so a
 * fleet or a rerun stages once.
 *
 * Offline: `npm ci` caches tarballs but no registry metadata, so an install without the network
 * needs a package-lock.json that pins every package by integrity. In a reef checkout, reef's own
 * lockfile is that pin ({@link appLock}); an installed reef has none and lets npm use its cache
 * first (`--prefer-offline`).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { ReefError } from '../errors.js';

/** reef's package folder (a checkout, or node_modules/reef). */
export const REEF_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where staged installs are cached: $REEF_INSTALL_CACHE, else ~/.cache/reef/install. */
export function defaultCacheDir(): string {
  return process.env.REEF_INSTALL_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'reef', 'install');
}

export type BoardArch = 'x64' | 'arm64';

export interface Packed {
  file: string;
  bytes: number;
  sha256: string;
  version: string;
  /** The tarball's own package.json. */
  pkg: PackageJson;
}

interface PackageJson {
  name?: string;
  version?: string;
  license?: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  bin?: unknown;
  engines?: Record<string, string>;
}

export interface Staged {
  file: string;
  bytes: number;
  sha256: string;
  /** Bytes once unpacked (for the board's free-space check). */
  unpackedBytes: number;
  /** True when it came from the cache (no npm install this time). */
  cached: boolean;
  /** How npm was run: with reef's lockfile offline, or from its cache first. */
  mode: 'offline-lock' | 'prefer-offline';
}

/** The environment without what an enclosing `npm run` put there (npm_config_cpu would leak into npm). */
export function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return env;
}

function run(cmd: string, args: string[], cwd: string, what: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(cmd, args, { cwd, env: npmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', (e) => reject(new ReefError('REEF_DEPLOY_INSTALL_FAILED', `${what}: cannot run ${cmd}: ${e.message}`)));
    p.on('close', (code) => {
      if (code === 0) return resolvePromise(out);
      const tail = `${err}\n${out}`.trim().split('\n').filter((l) => /ERR|error|Error/.test(l)).slice(-6).join(' / ') || err.trim().split('\n').slice(-4).join(' / ');
      reject(new ReefError('REEF_DEPLOY_INSTALL_FAILED', `${what} failed (exit ${code}): ${tail || 'no message'}`));
    });
  });
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** package/package.json from an npm tarball. */
async function tarballPackageJson(file: string): Promise<PackageJson> {
  const text = await run('tar', ['-xzOf', file, 'package/package.json'], REEF_ROOT, `reading package.json from ${file}`);
  try {
    return JSON.parse(text) as PackageJson;
  } catch {
    throw new ReefError('REEF_DEPLOY_INSTALL_FAILED', `${file} is not an npm tarball of reef (no readable package/package.json)`);
  }
}

/**
 * reef's packed tarball: `tarball` when given (checked to be reef's), else `npm pack` of this reef
 * into `dir` (in a checkout its prepack fills prebuilds/; an installed reef has them and is packed as it is).
 */
export async function packReef(dir: string, tarball?: string): Promise<Packed> {
  let file: string;
  if (tarball !== undefined) {
    file = resolve(tarball);
    if (!existsSync(file)) throw new ReefError('REEF_DEPLOY_INSTALL_FAILED', `--install ${tarball}: no such file; give reef's packed tarball (npm pack in a reef checkout), or --install alone to pack this reef`);
  } else {
    await mkdir(dir, { recursive: true });
    const checkout = existsSync(join(REEF_ROOT, 'src', 'native.ts'));
    const out = await run('npm', ['pack', '--json', '--pack-destination', dir, ...(checkout ? [] : ['--ignore-scripts'])], REEF_ROOT, `npm pack in ${REEF_ROOT}`);
    const doc = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string }>;
    file = join(dir, doc[0]!.filename);
  }
  const pkg = await tarballPackageJson(file);
  if (pkg.name !== 'reef') throw new ReefError('REEF_DEPLOY_INSTALL_FAILED', `${file} is the npm package "${pkg.name}", not reef`);
  return { file, bytes: (await stat(file)).size, sha256: await sha256File(file), version: pkg.version ?? '0.0.0', pkg };
}

interface LockEntry extends Record<string, unknown> {
  dev?: boolean;
  devOptional?: boolean;
}

/**
 * The package.json and package-lock.json of an app whose one dependency is reef (`spec`, a file:
 * tarball): reef's runtime dependencies pinned to the versions reef's own lockfile resolved (dev
 * packages left out), so `npm install --offline` takes every tarball from the cache by integrity.
 */
export function appLock(pkg: PackageJson, tarballBytes: Buffer, spec: string, reefLock: { packages: Record<string, LockEntry> }): { packageJson: object; lock: object } {
  const packages: Record<string, unknown> = {
    '': { name: 'app', version: '1.0.0', dependencies: { reef: spec } },
    'node_modules/reef': {
      version: pkg.version, resolved: spec, hasInstallScript: true, license: pkg.license,
      integrity: `sha512-${createHash('sha512').update(tarballBytes).digest('base64')}`,
      dependencies: pkg.dependencies, peerDependencies: pkg.peerDependencies, peerDependenciesMeta: pkg.peerDependenciesMeta,
      bin: pkg.bin, engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(reefLock.packages)) {
    if (!path || entry.dev) continue;
    const { devOptional, ...rest } = entry;
    packages[path] = devOptional ? { ...rest, optional: true } : rest;
  }
  return {
    packageJson: { name: 'app', version: '1.0.0', private: true, dependencies: { reef: spec } },
    lock: { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages },
  };
}

/** reef's lockfile, when it pins exactly the dependencies the tarball declares (a checkout of that version). */
function matchingLock(pkg: PackageJson): { packages: Record<string, LockEntry> } | null {
  const lockFile = join(REEF_ROOT, 'package-lock.json');
  const pkgFile = join(REEF_ROOT, 'package.json');
  if (!existsSync(lockFile) || !existsSync(pkgFile)) return null;
  const own = JSON.parse(readFileSync(pkgFile, 'utf8')) as PackageJson;
  if (JSON.stringify(own.dependencies ?? {}) !== JSON.stringify(pkg.dependencies ?? {})) return null;
  return JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, LockEntry> };
}

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

/** Source maps are for debugging reef's dependencies, not for running them: about a quarter of the bytes. */
async function dropSourceMaps(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.js.map')) await unlink(join(e.parentPath, e.name));
  }
}

/**
 * node_modules for a linux-<arch> board with reef and its runtime dependencies, made here and
 * packed as a .tgz (gzip -1: the copy, not the CPU, is the slow part). Cached under `cacheDir`.
 */
export async function stageInstall(packed: Packed, arch: BoardArch, cacheDir: string, log: (line: string) => void = () => undefined): Promise<Staged> {
  await mkdir(cacheDir, { recursive: true });
  const key = `reef-${packed.version}-${packed.sha256.slice(0, 16)}-linux-${arch}`;
  const out = join(cacheDir, `${key}.tgz`);
  const meta = join(cacheDir, `${key}.json`);
  if (existsSync(out) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as Omit<Staged, 'file' | 'cached'>;
    return { ...m, file: out, cached: true };
  }
  const stage = join(cacheDir, `.stage-${key}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(stage, { recursive: true });
    const tgz = join(stage, 'reef.tgz');
    await writeFile(tgz, readFileSync(packed.file));
    const lock = matchingLock(packed.pkg);
    let mode: Staged['mode'] = 'prefer-offline';
    if (lock) {
      const app = appLock(packed.pkg, readFileSync(tgz), 'file:reef.tgz', lock);
      await writeFile(join(stage, 'package.json'), JSON.stringify(app.packageJson, null, 2));
      await writeFile(join(stage, 'package-lock.json'), JSON.stringify(app.lock, null, 2));
      mode = 'offline-lock';
    } else {
      await writeFile(join(stage, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: { reef: 'file:reef.tgz' } }, null, 2));
    }
    log(`npm install for linux-${arch} (${mode === 'offline-lock' ? 'offline, pinned by reef\'s lockfile' : 'from the npm cache first'})`);
    // --ignore-scripts: no compiler and nothing built here for another CPU; reef's addon and sharp's
    // libvips come prebuilt, ssh2's optional crypto binding falls back to JavaScript.
    await run('npm', ['install', mode === 'offline-lock' ? '--offline' : '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts',
      '--omit=dev', '--cpu', arch, '--os', 'linux', '--libc', 'glibc'], stage, `npm install of reef for linux-${arch}`);
    if (!existsSync(join(stage, 'node_modules', 'reef', 'prebuilds', `linux-${arch}`, 'reef.node'))) {
      throw new ReefError('REEF_DEPLOY_INSTALL_FAILED', `${packed.file} has no prebuilt addon for linux-${arch} (prebuilds/linux-${arch}/reef.node): pack reef with its prebuilds (npm pack in a checkout runs scripts/prebuild.mjs)`);
    }
    await rm(tgz);
    await dropSourceMaps(join(stage, 'node_modules'));
    await writeFile(join(stage, 'reef-install.json'), JSON.stringify({ reef: packed.version, tarballSha256: packed.sha256, platform: `linux-${arch}`, stagedAt: new Date().toISOString() }) + '\n');
    const unpackedBytes = await duBytes(stage);
    const tmp = `${out}.${randomBytes(4).toString('hex')}.part`;
    log(`packing the install (${(unpackedBytes / 1e6).toFixed(0)} MB)`);
    const tar = spawn('tar', ['-C', stage, '-cf', '-', 'node_modules', 'package.json', 'reef-install.json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.on('data', (d: Buffer) => { tarErr += d.toString(); });
    const exited = new Promise<number | null>((r) => tar.on('close', r));
    await pipeline(tar.stdout, createGzip({ level: 1 }), createWriteStream(tmp));
    const code = await exited;
    if (code !== 0) throw new ReefError('REEF_DEPLOY_INSTALL_FAILED', `tar of the staged install failed (exit ${code}): ${tarErr.trim()}`);
    const staged = { bytes: (await stat(tmp)).size, sha256: await sha256File(tmp), unpackedBytes, mode };
    await rename(tmp, out);
    await writeFile(meta, JSON.stringify(staged) + '\n');
    return { ...staged, file: out, cached: false };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
