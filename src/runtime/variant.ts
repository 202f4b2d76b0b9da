/**
 * Which variant of a bundle to run on this host: a pure function of the manifest and the host's
 * capabilities, so the choice and its reason can be tested with fixture facts.
 *
 * Order: edgetpu (when Edge TPU execution is not turned off and a runtime and device are present),
 * then cpu-int8, then cpu-float, then onnx. `force` picks one by name.
 */
import { ReefError } from '../errors.js';
import { EDGETPU_LIBRARY_PATHS, EDGETPU_USB_IDS, type EdgetpuPresence } from './edgetpu-host.js';
import { VARIANT_NAMES, type Manifest, type VariantName } from '../bundle/manifest.js';

export interface HostCapabilities {
  edgetpu: EdgetpuPresence;
  /** False when the user turned Edge TPU execution off (--edgetpu off). Default true. */
  edgetpuEnabled?: boolean;
}

export interface VariantChoice {
  variant: VariantName;
  /** Why this one, in one sentence. */
  reason: string;
  /** Variants passed over, with why. */
  skipped: Array<{ variant: VariantName; reason: string }>;
}

const CPU_REASON: Record<Exclude<VariantName, 'edgetpu'>, string> = {
  'cpu-int8': 'full-integer model on the CPU (the fastest CPU variant)',
  'cpu-float': 'float model on the CPU',
  onnx: 'ONNX model on the CPU (no TFLite CPU variant in the bundle)',
};

function edgetpuMissing(e: EdgetpuPresence): string | undefined {
  if (!e.runtime) return `the Edge TPU runtime (libedgetpu.so.1) is not installed (looked in ${EDGETPU_LIBRARY_PATHS.slice(0, 2).join(', ')}, ...)`;
  if (!e.device) return `no Coral device is attached (USB ${EDGETPU_USB_IDS.join(' / ')} or PCIe /dev/apex_0)`;
  return undefined;
}

/**
 * Choose the variant to run.
 *
 * @example
 * chooseVariant(manifest, { edgetpu: { runtime: null, device: null } })
 * // { variant: 'cpu-int8', reason: 'full-integer model on the CPU ...', skipped: [{ variant: 'edgetpu', ... }] }
 * @throws ReefError REEF_VARIANT_UNAVAILABLE for a `force` the bundle does not have;
 * REEF_CUSTOM_OP_UNRESOLVED when `force` is 'edgetpu' and the Edge TPU runtime or device is missing.
 */
export function chooseVariant(manifest: Manifest, host: HostCapabilities, force?: string): VariantChoice {
  const have = manifest.variants.map((v) => v.name);
  if (force !== undefined) {
    if (!have.includes(force as VariantName)) {
      throw new ReefError('REEF_VARIANT_UNAVAILABLE', `Expected one of ${have.join(', ')} (the bundle's variants) for --variant but received "${force}"`);
    }
    if (force === 'edgetpu') {
      const missing = edgetpuMissing(host.edgetpu);
      if (missing) {
        throw new ReefError('REEF_CUSTOM_OP_UNRESOLVED', `The edgetpu variant needs the Edge TPU runtime and a Coral device: ${missing}. Install libedgetpu1-std from Coral's apt repository and attach the device, or run --variant ${have.includes('cpu-int8') ? 'cpu-int8' : have.find((v) => v !== 'edgetpu') ?? 'cpu-int8'}`);
      }
    }
    return { variant: force as VariantName, reason: `forced with --variant ${force}`, skipped: [] };
  }
  const skipped: VariantChoice['skipped'] = [];
  for (const name of VARIANT_NAMES) {
    if (!have.includes(name)) continue;
    if (name === 'edgetpu') {
      const missing = edgetpuMissing(host.edgetpu);
      if (missing) skipped.push({ variant: name, reason: missing });
      else if (host.edgetpuEnabled === false) skipped.push({ variant: name, reason: `an Edge TPU is present (${host.edgetpu.device!.interface} ${host.edgetpu.device!.id}) but Edge TPU execution is turned off (--edgetpu off)` });
      else return { variant: name, reason: `Edge TPU runtime ${host.edgetpu.runtime} and ${host.edgetpu.device!.interface} device ${host.edgetpu.device!.id} present`, skipped };
      continue;
    }
    return { variant: name, reason: CPU_REASON[name], skipped };
  }
  throw new ReefError('REEF_VARIANT_UNAVAILABLE', `Invalid .reef bundle: no variant this host can run (the bundle has ${have.join(', ')})`);
}
