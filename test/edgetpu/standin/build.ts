/** Builds the STAND-IN libedgetpu (libedgetpu_standin.cc) with the machine's g++ against TFLite 2.9's headers. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../shared.js';

/** Returns the path of the built libedgetpu.so.1 (in a fresh temporary folder). */
export function buildStandin(): string {
  const dir = mkdtempSync(join(tmpdir(), 'reef-standin-'));
  const out = join(dir, 'libedgetpu.so.1');
  const include = join(REPO_ROOT, 'node_modules', 'tfjs-tflite-node', 'cc_deps', 'include');
  execFileSync('g++', ['-std=c++17', '-O1', '-shared', '-fPIC', '-fvisibility=hidden', '-Wl,--no-undefined', `-I${include}`,
    '-o', out, join(REPO_ROOT, 'test', 'edgetpu', 'standin', 'libedgetpu_standin.cc'), '-ldl']);
  return out;
}
