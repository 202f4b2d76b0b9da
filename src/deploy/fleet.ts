/**
 * Deploying to every board of an inventory, N at a time. Each board goes through the same
 * copy/verify/switch as a single deploy, so a board that fails keeps its installed release; the
 * result lists every board with what happened.
 */
import { ReefError, isReefError } from '../errors.js';
import { describeBundle } from './bundle-info.js';
import { deploy, type ConnectOptions, type DeployOptions, type DeployResult } from './deploy.js';
import type { InventoryHost } from './inventory.js';

export interface FleetEntry {
  host: string;
  target: string;
  ok: boolean;
  seconds: number;
  release?: string;
  sha256?: string;
  error?: { code: string; message: string };
}

export interface FleetResult {
  bundle: string;
  hosts: FleetEntry[];
  ok: number;
  failed: number;
  seconds: number;
}

export async function deployFleet(bundle: string, hosts: InventoryHost[], opts: DeployOptions & ConnectOptions & { parallel?: number; onHost?: (e: FleetEntry) => void } = {}): Promise<FleetResult> {
  const info = await describeBundle(bundle);
  const parallel = Math.max(1, Math.min(opts.parallel ?? 4, hosts.length));
  const t0 = performance.now();
  const out: FleetEntry[] = new Array(hosts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < hosts.length) {
      const i = next++;
      const h = hosts[i];
      const t = performance.now();
      let entry: FleetEntry;
      try {
        const r: DeployResult = await deploy(info, h.target, { ...opts, onProgress: undefined, ...(h.identity ? { identity: [h.identity] } : {}) });
        entry = { host: h.name, target: h.target.text, ok: true, seconds: (performance.now() - t) / 1000, release: r.release.id, sha256: r.boardSha256 };
      } catch (e) {
        const error = isReefError(e) ? { code: e.code, message: e.message } : { code: 'REEF_INTERNAL_ERROR', message: (e as Error).message };
        entry = { host: h.name, target: h.target.text, ok: false, seconds: (performance.now() - t) / 1000, error };
      }
      out[i] = entry;
      opts.onHost?.(entry);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const ok = out.filter((e) => e.ok).length;
  return { bundle: info.file, hosts: out, ok, failed: out.length - ok, seconds: (performance.now() - t0) / 1000 };
}

export function fleetError(r: FleetResult): ReefError {
  const failed = r.hosts.filter((h) => !h.ok);
  return new ReefError('REEF_DEPLOY_FLEET_FAILED', `${failed.length} of ${r.hosts.length} board(s) failed: ${failed.map((h) => `${h.host} (${h.error?.code})`).join(', ')}; the other ${r.ok} run ${r.bundle}`);
}

export function formatFleet(r: FleetResult): string {
  const w = Math.max(4, ...r.hosts.map((h) => h.host.length));
  const lines = [`${'host'.padEnd(w)}  result  time    detail`];
  for (const h of r.hosts) {
    lines.push(`${h.host.padEnd(w)}  ${h.ok ? 'ok    ' : 'FAILED'}  ${h.seconds.toFixed(1).padStart(5)} s  ${h.ok ? `${h.release} sha256 ${h.sha256?.slice(0, 12)}...` : `${h.error?.code}: ${h.error?.message}`}`);
  }
  lines.push('', `${r.bundle}: ${r.ok} ok, ${r.failed} failed, ${r.seconds.toFixed(1)} s`);
  return lines.join('\n') + '\n';
}
