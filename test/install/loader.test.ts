// Where src/native.ts looks for the addon, and what it says when none is there: an installed package
// (dist/ only) tries prebuilds/<platform>-<arch>/ first and never tells the user to `npm run build`.
import { describe, it, expect, afterEach } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonCandidates, addonFix, isSourceCheckout } from '../../src/native.js';
import { REPO_ROOT } from '../shared.js';

const made: string[] = [];
function installedRoot(withPrebuild: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'reef-loader-'));
  made.push(root);
  mkdirSync(join(root, 'dist'));
  if (withPrebuild) {
    mkdirSync(join(root, 'prebuilds', 'linux-arm64'), { recursive: true });
    writeFileSync(join(root, 'prebuilds', 'linux-arm64', 'reef.node'), '');
  }
  return root;
}
afterEach(() => { for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('the addon loader', () => {
  it('an installed package: the prebuilt addon for the platform first, then a local build', () => {
    const saved = process.env.REEF_ADDON;
    delete process.env.REEF_ADDON;
    try {
      const root = installedRoot(true);
      expect(isSourceCheckout(root)).toBe(false);
      expect(addonCandidates(root, 'linux', 'arm64')).toEqual([
        { path: join(root, 'prebuilds', 'linux-arm64', 'reef.node'), source: 'prebuilt', exists: true },
        { path: join(root, 'build', 'Release', 'reef.node'), source: 'local', exists: false },
      ]);
      // A source checkout prefers the developer's own build over a copy made at `npm pack`.
      expect(addonCandidates(REPO_ROOT, 'linux', 'x64').map((c) => c.source)).toEqual(['local', 'prebuilt']);
    } finally {
      if (saved !== undefined) process.env.REEF_ADDON = saved;
    }
  });

  it('the fix fits where reef is: never `npm run build` in an installed package', () => {
    const root = installedRoot(false);
    expect(addonFix(root, 'linux', 'arm64')).toBe('reef ships a prebuilt addon for linux-arm64: reinstall reef (its prebuilds/ folder is incomplete), or build one from source with `npm rebuild reef` (python3, make, a C++17 compiler)');
    expect(addonFix(root, 'darwin', 'arm64')).toBe('reef ships prebuilt addons for linux-x64 and linux-arm64 only, not darwin-arm64: build one from source with `npm rebuild reef` (python3, make, a C++17 compiler)');
    expect(addonFix(REPO_ROOT, 'linux', 'x64')).toBe('in this source checkout run `npm run build` (cmake, a C++17 compiler)');
  });

  it('REEF_ADDON naming a missing file: REEF_ADDON_NOT_BUILT naming it, nothing else tried', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e',
      "import('./src/native.ts').then((m) => m.native()).catch((e) => { console.log(JSON.stringify({ code: e.code, message: e.message })); })"],
    { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, REEF_ADDON: '/nonexistent/reef.node' } });
    expect(JSON.parse(r.stdout)).toEqual({ code: 'REEF_ADDON_NOT_BUILT',
      message: `the native addon for ${process.platform}-${process.arch} is not built; tried: /nonexistent/reef.node (env): no such file. Fix: in this source checkout run \`npm run build\` (cmake, a C++17 compiler)` });
  });
});

describe('the reef command on a Node older than 20', () => {
  it('EXPECTED FAILURE - says REEF_NODE_TOO_OLD with the fix before loading anything else, exit 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"18.19.0"})',
      join(REPO_ROOT, 'bin', 'reef.js'), 'doctor'], { encoding: 'utf8' });
    expect({ status: r.status, out: r.stdout, err: r.stderr }).toEqual({ status: 1, out: '',
      err: 'reef: REEF_NODE_TOO_OLD: Node 18.19.0 is too old: reef needs Node 20 or newer\n'
        + '  fix: Install Node 20 or newer: the official build for this platform (linux-x64, linux-arm64 for a 64-bit Raspberry Pi OS) from https://nodejs.org/en/download, NodeSource\'s apt repository, or nvm.\n' });
  });
});
