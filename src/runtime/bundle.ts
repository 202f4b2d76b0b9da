/**
 * Reading a `.reef` bundle: every check before anything is handed out. The tar must be sound,
 * manifest.json valid and of a known version, every file listed in it present with the listed
 * size and sha256, and no file present that the manifest does not list. A bundle that fails any
 * check yields an error and nothing else.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ReefError } from '../errors.js';
import { parseLabels } from '../labels.js';
import { validateTflite } from '../model/tflite/reader.js';
import { chooseVariant, type HostCapabilities, type VariantChoice } from './variant.js';
import { edgetpuPresence, probeEdgetpuFacts } from './edgetpu-host.js';
import { listEdgetpuDevices, loadEdgetpuRuntime } from './edgetpu.js';
import { MANIFEST_NAME, parseManifest, type Manifest, type Variant } from '../bundle/manifest.js';
import { readTar, TarError } from '../bundle/tar.js';
import { readUserFile } from '../files.js';

export interface Bundle {
  manifest: Manifest;
  /** Verified file contents by name (views into the bundle bytes). */
  files: Map<string, Uint8Array>;
}

function invalid(what: string): ReefError {
  return new ReefError('REEF_BUNDLE_INVALID', `Invalid .reef bundle: ${what}`);
}

/** sha256 of bytes, hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Read and verify a bundle from its bytes.
 *
 * @example
 * const { manifest, files } = readBundle(new Uint8Array(await readFile('x.reef')));
 * @throws ReefError REEF_MODEL_INVALID naming what is wrong (corrupt tar, bad or unknown-version
 * manifest, missing file, sha256 mismatch, unlisted file).
 */
export function readBundle(bytes: Uint8Array): Bundle {
  let entries;
  try {
    entries = readTar(bytes);
  } catch (e) {
    if (e instanceof TarError) throw invalid(e.message);
    throw e;
  }
  const byName = new Map(entries.map((e) => [e.name, e.data]));
  const m = byName.get(MANIFEST_NAME);
  if (!m) throw invalid(`no ${MANIFEST_NAME} (is this a .reef bundle?)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(m);
  } catch {
    throw invalid(`${MANIFEST_NAME} is not UTF-8 text`);
  }
  const manifest = parseManifest(text);
  const files = new Map<string, Uint8Array>();
  for (const [name, f] of Object.entries(manifest.files)) {
    const data = byName.get(name);
    if (!data) throw invalid(`file "${name}" listed in the manifest is missing`);
    if (data.length !== f.bytes) throw invalid(`file "${name}" is ${data.length} bytes, the manifest says ${f.bytes} (tampered or corrupt)`);
    const h = sha256(data);
    if (h !== f.sha256) throw invalid(`sha256 of "${name}" is ${h}, the manifest says ${f.sha256} (tampered or corrupt)`);
    files.set(name, data);
  }
  for (const name of byName.keys()) {
    if (name !== MANIFEST_NAME && !Object.hasOwn(manifest.files, name)) throw invalid(`file "${name}" is not listed in the manifest (tampered?)`);
  }
  return { manifest, files };
}

/**
 * The host's capabilities as probed now, for {@link openBundle}: on the real host ('/') the Edge TPU
 * runtime is loaded and asked for its devices; under a fixture root (tests) files alone decide.
 */
export function probeHost(root = '/'): HostCapabilities {
  const files = edgetpuPresence(probeEdgetpuFacts(root));
  if (root !== '/') return { edgetpu: files, edgetpuEnabled: true };
  try {
    const runtime = loadEdgetpuRuntime();
    if (runtime) {
      const d = listEdgetpuDevices()[0];
      return { edgetpu: { runtime: runtime.path, device: d ? { interface: d.type === 'pci' ? 'pcie' : 'usb', id: d.path } : null }, edgetpuEnabled: true };
    }
  } catch { /* an explicit runtime that cannot load: the files below say what is there */ }
  return { edgetpu: files, edgetpuEnabled: true };
}

export interface OpenBundleOptions {
  /** Force a variant ('edgetpu', 'cpu-int8', 'cpu-float', 'onnx'). */
  variant?: string;
  /** Host capabilities (default: probed with {@link probeHost}). */
  host?: HostCapabilities;
}

export interface OpenedBundle {
  path: string;
  manifest: Manifest;
  variant: Variant;
  /** The chosen variant's model bytes (verified). */
  model: Uint8Array;
  choice: VariantChoice;
  /** Labels from the bundle, when it has them. */
  labels: string[] | null;
  files: Map<string, Uint8Array>;
}

/**
 * Open a `.reef` bundle for running: verify it, choose the variant for this host, return that
 * variant's model bytes with the manifest (pre-processing, task, labels) and the choice's reason.
 *
 * @example
 * const b = await openBundle('mobilenet.reef');
 * const session = await load(b.model);   // session.variant = b.choice
 * console.log(`${b.choice.variant}: ${b.choice.reason}`);
 * @throws ReefError REEF_MODEL_NOT_FOUND (no such file), REEF_MODEL_INVALID (see {@link readBundle};
 * also a chosen TFLite variant that is not a valid model), REEF_INVALID_ARGUMENT (unknown --variant),
 * REEF_CUSTOM_OP_UNRESOLVED (--variant edgetpu without the Edge TPU runtime or device).
 */
export async function openBundle(path: string, opts: OpenBundleOptions = {}): Promise<OpenedBundle> {
  return openBundleBytes(await readUserFile(path, 'bundle'), path, opts);
}

/** {@link openBundle} over bundle bytes already in memory; `path` only names it in the result. */
export function openBundleBytes(bytes: Uint8Array, path: string, opts: OpenBundleOptions = {}): OpenedBundle {
  const { manifest, files } = readBundle(bytes);
  const choice = chooseVariant(manifest, opts.host ?? probeHost(), opts.variant);
  const variant = manifest.variants.find((v) => v.name === choice.variant)!;
  const model = files.get(variant.file)!;
  if (variant.format === 'tflite') {
    try {
      validateTflite(model);
    } catch (e) {
      throw invalid(`variant ${variant.name} (${variant.file}): ${(e as Error).message}`);
    }
  }
  const labelBytes = manifest.labels ? files.get(manifest.labels) : undefined;
  return { path, manifest, variant, model, choice, labels: labelBytes ? parseLabels(new TextDecoder().decode(labelBytes)) : null, files };
}

/** True when `bytes` look like a tar whose first entry is manifest.json (a .reef bundle). */
export function isBundle(bytes: Uint8Array): boolean {
  if (bytes.length < 512) return false;
  const name = new TextDecoder().decode(bytes.subarray(0, MANIFEST_NAME.length));
  return name === MANIFEST_NAME && bytes[MANIFEST_NAME.length] === 0 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';
}
