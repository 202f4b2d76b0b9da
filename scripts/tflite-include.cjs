// Prints the folder holding TensorFlow Lite's C API headers (tensorflow/lite/c/c_api.h) for binding.gyp:
// the copy an installed reef carries in prebuilds/include, else tfjs-tflite-node's cc_deps/include
// (a reef checkout). Headers only: the library itself is opened at run time (native/tflite_api.cc).
'use strict';
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

const root = join(__dirname, '..');
const header = join('tensorflow', 'lite', 'c', 'c_api.h');
const candidates = [join(root, 'prebuilds', 'include')];
try {
  candidates.push(join(dirname(require.resolve('tfjs-tflite-node/package.json', { paths: [root] })), 'cc_deps', 'include'));
} catch { /* not installed */ }
const found = candidates.find((dir) => existsSync(join(dir, header)));
if (!found) {
  process.stderr.write(`reef: no TensorFlow Lite headers (${header}) in ${candidates.join(' or ')}\n`);
  process.exit(1);
}
process.stdout.write(found);
