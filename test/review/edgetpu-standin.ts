/**
 * Shared set-up of the review tests of the Edge TPU fault paths: the STAND-IN libedgetpu
 * (test/edgetpu/standin/: no Coral device is attached here), a state file to unplug / re-plug / hang
 * the device while a session runs, and the mobilenet bundle (edgetpu + a CPU variant).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledLibraryPath } from '../../src/runtime/library.js';
import { buildBundle } from '../../src/package/writer.js';
import type { Session } from '../../src/runtime/session.js';
import { sharedBytes, sharedPath } from '../shared.js';
import { buildStandin } from '../edgetpu/standin/build.js';

export const TPU = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
export const TWIN = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
export const OUT = 'MobilenetV1/Predictions/Reshape_1';

const ENV = ['REEF_EDGETPU_LIBRARY', 'REEF_STANDIN_DEVICES', 'REEF_STANDIN_TWIN', 'REEF_STANDIN_TFLITE', 'REEF_STANDIN_RUNTIME',
  'REEF_STANDIN_FAIL_AFTER', 'REEF_STANDIN_STATE', 'REEF_STANDIN_VERSION', 'REEF_STANDIN_USB2'];

let built = '';

/** Sets the stand-in's environment (built once per file); returns the state file and a restore function. */
export function useStandin(initial: string): { state: string; set: (words: string) => void; env: Record<string, string>; restore: () => void } {
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
  if (!built) built = buildStandin();
  const state = join(mkdtempSync(join(tmpdir(), 'reef-review-state-')), 'state');
  writeFileSync(state, initial);
  const env = { REEF_EDGETPU_LIBRARY: built, REEF_STANDIN_TWIN: TWIN, REEF_STANDIN_TFLITE: bundledLibraryPath()!, REEF_STANDIN_STATE: state };
  for (const k of ENV) delete process.env[k];
  Object.assign(process.env, env);
  return {
    state, env,
    set: (words) => writeFileSync(state, words),
    restore: () => {
      for (const k of ENV) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    },
  };
}

export function pixels(): Uint8Array {
  return new Uint8Array(128 * 128 * 3).map((_, i) => (i * 37) % 256);
}

/** A .reef bundle: the compiled mobilenet and the given CPU variant. */
export async function bundle(cpu: { name: 'cpu-int8' | 'cpu-float'; file: string } = { name: 'cpu-int8', file: 'models/edgetpu/mobilenet_v1_0.25_128_quant.tflite' }): Promise<Uint8Array> {
  return (await buildBundle({
    name: 'mobilenet', created: '2024-01-01T00:00:00.000Z',
    variants: [
      { name: 'edgetpu', data: sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite'), source: 'tpu' },
      { name: cpu.name, data: sharedBytes(cpu.file), source: 'cpu' },
    ],
  })).bytes;
}

/** Records a session's device events, in order. */
export function recordEvents(s: Session): string[] {
  const seen: string[] = [];
  s.on('device-lost', (e) => seen.push(`device-lost ${e.device} ${e.error.code}`));
  s.on('fallback', (e) => seen.push(`fallback ${e.variant}`));
  s.on('device-restored', (e) => seen.push(`device-restored ${e.device}`));
  s.on('watchdog', (e) => seen.push(`watchdog ${e.ms} ${e.device}`));
  return seen;
}

/** Resolves on the session's next `name` event, or with false after ms (bounded: never hangs). */
export function nextEvent(s: Session, name: 'device-restored' | 'fallback' | 'device-lost', ms = 5_000): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => { clearTimeout(timer); s.off(name, on); resolve(ok); };
    const on = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    s.on(name, on);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
