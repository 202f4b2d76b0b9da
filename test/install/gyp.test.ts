// binding.gyp, the source fallback npm runs when no prebuilt addon matches, builds the same addon as
// CMakeLists.txt (the developers' cmake-js build): the same sources and defines, and a real node-gyp
// build of it passes the runtime tests when src/native.ts is pointed at it through REEF_ADDON.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../shared.js';

const gyp = JSON.parse(readFileSync(join(REPO_ROOT, 'binding.gyp'), 'utf8')) as {
  targets: Array<{ target_name: string; sources: string[]; defines: string[] }>;
};
const cmake = readFileSync(join(REPO_ROOT, 'CMakeLists.txt'), 'utf8');

/** The words of a CMake command's argument list, e.g. set(REEF_NATIVE_SOURCES a b) -> [a, b]. */
function cmakeList(command: RegExp): string[] {
  const m = command.exec(cmake);
  if (!m) throw new Error(`CMakeLists.txt has no ${command.source}`);
  return m[1]!.split(/\s+/).filter((w) => w && !w.startsWith('$'));
}

/** node-gyp as npm ships it (npm runs this one for an install script). */
function nodeGypScript(): string {
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
  const candidates = [join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`npm's node-gyp not found in ${candidates.join(' or ')}`);
  return found;
}

describe('binding.gyp and CMakeLists.txt', () => {
  it('list the same sources, every native/*.cc, and the same defines', () => {
    const target = gyp.targets[0]!;
    expect(gyp.targets.map((t) => t.target_name)).toEqual(['reef']);
    const cmakeSources = cmakeList(/set\(REEF_NATIVE_SOURCES([^)]*)\)/);
    expect(target.sources).toEqual(cmakeSources);
    const onDisk = readdirSync(join(REPO_ROOT, 'native')).filter((f) => f.endsWith('.cc')).map((f) => `native/${f}`).sort();
    expect([...target.sources].sort()).toEqual(onDisk);
    expect(target.defines).toEqual(cmakeList(/target_compile_definitions\(\$\{PROJECT_NAME\} PRIVATE([^)]*)\)/));
  });
});

describe('the node-gyp build of binding.gyp', () => {
  let dir = '';
  let addon = '';
  beforeAll(() => {
    // A copy of what the package ships for the fallback, so node-gyp's build/ never touches cmake-js's.
    dir = mkdtempSync(join(tmpdir(), 'reef-gyp-'));
    for (const p of ['binding.gyp', 'native', 'scripts/tflite-include.cjs']) cpSync(join(REPO_ROOT, p), join(dir, p), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    const nodeDir = dirname(dirname(process.execPath));
    const r = spawnSync(process.execPath, [nodeGypScript(), 'rebuild', `--nodedir=${nodeDir}`, '--jobs=2'],
      { cwd: dir, encoding: 'utf8', timeout: 150_000 });
    if (r.status !== 0) throw new Error(`node-gyp rebuild failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    addon = join(dir, 'build', 'Release', 'reef.node');
  }, 160_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('builds build/Release/reef.node, and src/native.ts loads it from REEF_ADDON', () => {
    expect(existsSync(addon)).toBe(true);
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e',
      "import('./src/native.ts').then((m) => { m.native(); console.log(m.loadedAddonPath()); })"],
    { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, REEF_ADDON: addon } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(addon);
  });

  it('passes the runtime session tests', () => {
    const out = join(dir, 'vitest.json');
    const r = spawnSync('npx', ['vitest', 'run', 'test/runtime/session.test.ts', '--reporter=json', `--outputFile=${out}`],
      { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, REEF_ADDON: addon }, timeout: 120_000 });
    const res = JSON.parse(readFileSync(out, 'utf8')) as { numPassedTests: number; numFailedTests: number; success: boolean };
    expect({ status: r.status, failed: res.numFailedTests, success: res.success }).toEqual({ status: 0, failed: 0, success: true });
    expect(res.numPassedTests).toBeGreaterThanOrEqual(28);
  }, 130_000);
});
