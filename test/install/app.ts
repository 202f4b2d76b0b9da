/**
 * Helpers for the install tests: an empty app that depends on the packed reef tarball, installed with
 * every compiler replaced on PATH by a stand-in that records the call and fails.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.js';
import { appLock } from '../../src/deploy/stage.js';

/** What a native build would call: C/C++ compilers, make, cmake, node-gyp and its python. */
export const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'cmake', 'python', 'python3', 'node-gyp', 'ld'];

/** A folder of stand-ins for COMPILERS: each appends "name<TAB>cwd<TAB>args" to `log` and exits 1 (like `false`). */
export function noCompilers(dir: string, log: string): string {
  mkdirSync(dir, { recursive: true });
  for (const c of COMPILERS) {
    const p = join(dir, c);
    writeFileSync(p, `#!/bin/sh\nprintf '%s\\t%s\\t%s\\n' "$(basename "$0")" "$PWD" "$*" >> '${log}'\nexit 1\n`);
    chmodSync(p, 0o755);
  }
  writeFileSync(log, '');
  return dir;
}

/**
 * An empty app (package.json with the one dependency `reef: file:<tarball>`) and a package-lock.json
 * that pins reef's runtime dependencies to the versions reef's own lockfile resolved. With the lock,
 * `npm install --offline` takes every tarball from the npm cache by its integrity and needs no
 * registry metadata (which `npm ci` never caches): the install runs without the network.
 */
export function makeApp(dir: string, tarball: string): void {
  mkdirSync(dir, { recursive: true });
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Parameters<typeof appLock>[3];
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as Parameters<typeof appLock>[0];
  const app = appLock(pkg, readFileSync(join(dir, tarball)), `file:${tarball}`, lock);
  writeFileSync(join(dir, 'package.json'), JSON.stringify(app.packageJson, null, 2));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(app.lock, null, 2));
}

/**
 * Dependencies whose install scripts try a compiler and are built to fail harmlessly: ssh2 (reef
 * deploy) tries node-gyp for an optional crypto binding and falls back to JavaScript; its optional
 * dependency cpu-features is dropped by npm when its build fails. Neither is reef's build.
 */
export const TOLERATED_BUILD_ATTEMPTS = ['cpu-features', 'ssh2'];

/** The packages (by node_modules folder) from whose folders a compiler stand-in was called. */
export function compilerCallers(log: string): string[] {
  const out = new Set<string>();
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
    const cwd = line.split('\t')[1] ?? '';
    const i = cwd.lastIndexOf('node_modules/');
    const parts = cwd.slice(i + 'node_modules/'.length).split('/');
    out.add(i < 0 ? `(outside node_modules: ${cwd})` : parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return [...out].sort();
}
