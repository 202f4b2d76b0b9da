import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';


describe('reef bench on a .reef bundle', () => {
  it('--variant sweeps the bundle\'s variants in one table; an unknown one is refused', async () => {
    const bundle = join(mkdtempSync(join(tmpdir(), 'reef-bench-')), 'm.reef');
    const p = await cli('package', '-o', bundle,
      '--cpu-int8', sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'),
      '--cpu-float', sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite'));
    expect(p.code).toBe(0);

    const r = await cli('bench', bundle, '--runs', '5', '--warmup', '1', '--variant', 'cpu-int8,cpu-float', '--json');
    expect(r.code).toBe(0);
    const docs = JSON.parse(r.out) as Array<{ variant: string | null; latency_ms: { p50: number } }>;
    expect(docs.map((d) => d.variant)).toEqual(['cpu-int8', 'cpu-float']);
    for (const d of docs) expect(d.latency_ms.p50).toBeGreaterThan(0);

    const e = await cli('bench', bundle, '--runs', '5', '--variant', 'gpu');
    expect(e.code).toBe(1);
    expect(e.err.split('\n')[0]).toBe('reef: REEF_VARIANT_UNAVAILABLE: Expected one of cpu-int8, cpu-float (the bundle\'s variants) for --variant but received "gpu"');
  });
});
