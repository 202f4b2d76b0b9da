// reef's npm "install" step (node-gyp-build style). An installed reef normally has nothing to do: the
// prebuilt addon for this platform (prebuilds/<platform>-<arch>/reef.node) is loaded at run time. Only
// when no prebuild matches and no local build exists does it build the addon from binding.gyp with
// node-gyp, against the headers of the Node running it (no download). A reef source checkout skips
// this: developers build with cmake-js (`npm run build`).
'use strict';
const { existsSync } = require('node:fs');
const { spawnSync } = require('node:child_process');
const { dirname, join } = require('node:path');

const root = join(__dirname, '..');
// `npm install --cpu=arm64 --os=linux` prepares node_modules for another machine: honour its target.
const platform = process.env.npm_config_os || process.platform;
const arch = process.env.npm_config_cpu || process.arch;
const target = `${platform}-${arch}`;

if (existsSync(join(root, 'src', 'native.ts'))) process.exit(0);
const prebuilt = join(root, 'prebuilds', target, 'reef.node');
if (existsSync(prebuilt)) {
  console.log(`reef: using the prebuilt addon ${join('prebuilds', target, 'reef.node')}: nothing to build`);
  process.exit(0);
}
if (existsSync(join(root, 'build', 'Release', 'reef.node'))) process.exit(0);
if (target !== `${process.platform}-${process.arch}`) {
  console.error(`reef: no prebuilt addon for ${target}, and this ${process.platform}-${process.arch} machine cannot build one for it; install reef on the ${target} machine itself`);
  process.exit(1);
}
console.log(`reef: no prebuilt addon for ${target}: building it from binding.gyp (needs python3, make and a C++17 compiler)`);
const args = ['rebuild'];
// Node's own headers, when this Node ships them, spare node-gyp a download.
const nodeDir = dirname(dirname(process.execPath));
if (existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);
const gyp = process.env.npm_config_node_gyp;
const r = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.error(`reef: building the addon failed (${r.error ? r.error.message : `exit ${r.status}`}); reef ships prebuilt addons for linux-x64 and linux-arm64 only. Install python3, make and a C++17 compiler, then run \`npm rebuild reef\`.`);
  process.exit(1);
}
