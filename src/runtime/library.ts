/**
 * Finding and loading the TensorFlow Lite C library. Order: the `library`
 * option, $REEF_TFLITE_LIBRARY, the device profile's path, then the build
 * reef's package carries in prebuilds/<platform>-<arch>/ (copied from
 * tfjs-tflite-node at pack time), then tfjs-tflite-node's own cc_deps/ when
 * that package is installed (a reef checkout, or other platforms).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ReefError } from '../errors.js';
import { isSourceCheckout, native, type LibraryInfo } from '../native.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { DeviceProfile } from '../devices.js';

const PLATFORM_DIRS: Record<string, { dir: string; file: string }> = {
  'linux-x64': { dir: 'linux_amd64', file: 'libtensorflowlite_c.so' },
  'linux-arm64': { dir: 'linux_arm64', file: 'libtensorflowlite_c.so' },
  'darwin-arm64': { dir: 'darwin_arm64', file: 'libtensorflowlite_c.dylib' },
  'win32-x64': { dir: 'windows_amd64', file: 'tensorflowlite_c.dll' },
};

/**
 * Path of the library shipped for this platform, or null: in an installed reef its own prebuilds/
 * copy, else (a source checkout, or a platform reef ships none for) tfjs-tflite-node's cc_deps/.
 */
export function bundledLibraryPath(platform: string = process.platform, arch: string = process.arch): string | null {
  const entry = PLATFORM_DIRS[`${platform}-${arch}`];
  if (!entry) return null;
  const packaged = join(PACKAGE_ROOT, 'prebuilds', `${platform}-${arch}`, entry.file);
  if (!isSourceCheckout() && existsSync(packaged)) return packaged;
  try {
    const pkg = createRequire(import.meta.url).resolve('tfjs-tflite-node/package.json');
    return join(dirname(pkg), 'cc_deps', entry.dir, entry.file);
  } catch {
    return null;
  }
}

export interface LibraryChoice {
  path: string;
  source: 'option' | 'env' | 'device' | 'bundled';
}

/** The candidates, in the order they are tried. */
export function libraryCandidates(option?: string, profile?: DeviceProfile | null): LibraryChoice[] {
  const out: LibraryChoice[] = [];
  if (option) out.push({ path: option, source: 'option' });
  const env = process.env.REEF_TFLITE_LIBRARY;
  if (env) out.push({ path: env, source: 'env' });
  if (profile?.tfliteLibrary) out.push({ path: profile.tfliteLibrary, source: 'device' });
  const bundled = bundledLibraryPath();
  if (bundled) out.push({ path: bundled, source: 'bundled' });
  return out;
}

/**
 * Loads the library once per process. An explicit choice (option or env) that
 * fails is an error, never silently replaced by another build.
 */
export function ensureLibrary(option?: string, profile?: DeviceProfile | null): LibraryInfo {
  const addon = native();
  const loaded = addon.libraryInfo();
  const candidates = libraryCandidates(option, profile);
  if (loaded && (!option || option === loaded.path)) return loaded;
  const tried: string[] = [];
  for (const c of candidates) {
    if (!existsSync(c.path)) {
      tried.push(`${c.path} (${c.source}): no such file`);
      if (c.source === 'option' || c.source === 'env') break;
      continue;
    }
    try {
      return addon.loadLibrary(c.path);
    } catch (e) {
      tried.push(`${c.path} (${c.source}): ${(e as Error).message}`);
      if (c.source === 'option' || c.source === 'env') break;
    }
  }
  if (tried.length === 0) tried.push(`no TensorFlow Lite build shipped for ${process.platform}-${process.arch}`);
  throw new ReefError(
    'REEF_LIBRARY_NOT_FOUND',
    `could not load the TensorFlow Lite C library; tried: ${tried.join('; ')}. ` +
      'Set REEF_TFLITE_LIBRARY or the `library` option to a libtensorflowlite_c build for this platform.',
  );
}

/**
 * The lines TensorFlow Lite logged ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.") while
 * reef created interpreters. reef keeps them instead of letting them reach stderr; `reef -v` shows
 * them. Each call returns the lines logged since the last one.
 */
export function takeTfliteLog(): string[] {
  return native().takeTfliteLog();
}
