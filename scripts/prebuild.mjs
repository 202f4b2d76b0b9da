#!/usr/bin/env node
// Fills prebuilds/ before `npm pack` (the "prepack" script): for linux-x64 and linux-arm64 the addon
// (reef.node) and the TensorFlow Lite C library it opens at run time (libtensorflowlite_c.so, copied
// from tfjs-tflite-node's cc_deps/), plus TFLite's C headers (prebuilds/include) for the binding.gyp
// source fallback. The host's addon is the local cmake-js build (build/Release/reef.node); the other
// one is cross-compiled with Debian's g++-<triple> against node-addon-api and Node's N-API headers.
// Objects are kept in build/prebuild-<target>/ and recompiled only when a native/ file changed.
//
//   node scripts/prebuild.mjs [--json]
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const json = process.argv.includes('--json');
const log = (m) => { if (!json) process.stderr.write(`prebuild: ${m}\n`); };

const TARGETS = {
  'linux-x64': { triple: 'x86_64-linux-gnu', tflite: 'linux_amd64' },
  'linux-arm64': { triple: 'aarch64-linux-gnu', tflite: 'linux_arm64' },
};
const host = `${process.platform}-${process.arch}`;

const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8')).targets[0];
const sources = gyp.sources;
const defines = gyp.defines;
const flags = ['-std=c++17', '-O2', '-fPIC', '-Wall', '-Wextra', '-Wno-unused-parameter', '-fvisibility=hidden'];
const tfliteDeps = join(dirname(require.resolve('tfjs-tflite-node/package.json')), 'cc_deps');
const includes = [
  join(root, require('node-addon-api').include_dir),
  nodeHeaders(),
  join(tfliteDeps, 'include'),
];

/** Node's N-API headers (the same on every architecture): beside this node, or node-gyp's cache. */
function nodeHeaders() {
  const dirs = [join(dirname(dirname(process.execPath)), 'include', 'node')];
  const cache = join(process.env.HOME ?? '', '.cache', 'node-gyp', process.versions.node, 'include', 'node');
  dirs.push(cache);
  const found = dirs.find((d) => existsSync(join(d, 'node_api.h')));
  if (!found) throw new Error(`no Node headers (node_api.h) in ${dirs.join(' or ')}`);
  return found;
}

const mtime = (p) => statSync(p).mtimeMs;
const newestSource = Math.max(...readdirSync(join(root, 'native')).map((f) => mtime(join(root, 'native', f))));
const newestNative = Math.max(newestSource, mtime(join(root, 'binding.gyp')));

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

async function crossCompile(target, out) {
  const cxx = `${TARGETS[target].triple}-g++`;
  if (spawnSync(cxx, ['--version']).status !== 0) {
    throw new Error(`${cxx} is missing: install Debian's g++-${TARGETS[target].triple} (scripts/setup.sh does)`);
  }
  const objDir = join(root, 'build', `prebuild-${target}`);
  mkdirSync(objDir, { recursive: true });
  const common = [...flags, ...defines.map((d) => `-D${d}`), ...includes.map((i) => `-I${i}`)];
  const objects = sources.map((s) => join(objDir, basename(s).replace(/\.cc$/, '.o')));
  const stale = sources.map((s, i) => [s, objects[i]]).filter(([, o]) => !existsSync(o) || mtime(o) < newestNative);
  const lanes = Math.max(1, availableParallelism());
  for (let i = 0; i < stale.length; i += lanes) {
    await Promise.all(stale.slice(i, i + lanes).map(([s, o]) => { log(`${target}: ${cxx} ${s}`); return run(cxx, [...common, '-c', s, '-o', o]); }));
  }
  await run(cxx, ['-shared', '-fPIC', '-pthread', '-s', ...objects, '-o', out, '-ldl']);
}

const made = [];
for (const [target, t] of Object.entries(TARGETS)) {
  const dir = join(root, 'prebuilds', target);
  mkdirSync(dir, { recursive: true });
  const addon = join(dir, 'reef.node');
  const start = Date.now();
  if (target === host) {
    const local = join(root, 'build', 'Release', 'reef.node');
    if (!existsSync(local)) throw new Error(`${local} is missing: run \`npm run build\` first`);
    if (mtime(local) < newestSource) throw new Error(`${local} is older than native/: run \`npm run build\` first`);
    copyFileSync(local, addon);
  } else if (!existsSync(addon) || mtime(addon) < newestNative) {
    await crossCompile(target, addon);
  }
  const lib = join(tfliteDeps, t.tflite, 'libtensorflowlite_c.so');
  copyFileSync(lib, join(dir, 'libtensorflowlite_c.so'));
  for (const f of ['reef.node', 'libtensorflowlite_c.so']) {
    const p = join(dir, f);
    made.push({ target, file: `prebuilds/${target}/${f}`, bytes: statSync(p).size, sha256: createHash('sha256').update(readFileSync(p)).digest('hex') });
  }
  log(`${target}: ready (${((Date.now() - start) / 1000).toFixed(1)} s)`);
}
cpSync(join(tfliteDeps, 'include'), join(root, 'prebuilds', 'include'), { recursive: true });
writeFileSync(join(root, 'prebuilds', 'README.md'), [
  '# prebuilds (made by scripts/prebuild.mjs at `npm pack`; not in git)',
  '',
  '`<platform>-<arch>/reef.node`: reef\'s native addon (N-API 8), loaded by dist/native.js before any local build.',
  '`<platform>-<arch>/libtensorflowlite_c.so`: the TensorFlow Lite C library (Apache-2.0) as tfjs-tflite-node',
  `${require('tfjs-tflite-node/package.json').version} ships it in cc_deps/; \`include/\`: its C API headers, for the binding.gyp fallback.`,
  '',
  '| file | bytes | sha256 |',
  '|---|---|---|',
  ...made.map((m) => `| ${m.file} | ${m.bytes} | ${m.sha256} |`),
  '',
].join('\n'));
if (json) process.stdout.write(JSON.stringify({ files: made }) + '\n');
