/**
 * reef optimize: every variant built and measured (hello_world, tiny and fast), the Pareto front
 * and the recommendation follow from the measured figures, and the CLI prints the table, writes
 * the plot and refuses bad input with its code.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTflite } from '../../src/model/tflite/reader.js';
import { optimizeTflite, recommend, type Variant } from '../../src/optimize/optimize.js';
import { readBundle } from '../../src/runtime/bundle.js';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';
import { modelBytes, npyBytes, sineInputs } from '../quantize/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-optimize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('optimizeTflite', () => {
  it('hello_world: float, int8 and pruned 50% (unstructured and structured, each float and int8), measured against the original', async () => {
    const r = await optimizeTflite(modelBytes('models/tflite/hello_world_float.tflite'), sineInputs(100, 0),
      sineInputs(40, 0.5).map((inputs) => ({ inputs })), { sparsities: [0.5], latencyRuns: 5 });
    expect(r.quality).toBe('sqnr');
    expect(r.variants.map((v) => v.name)).toEqual([
      'original, float', 'original, int8', 'pruned 50%, float', 'pruned 50%, int8', 'pruned 50% structured, float', 'pruned 50% structured, int8',
    ]);
    expect(r.variants[0]!.sqnrDb).toBe(999);
    expect(r.variants[1]!.sqnrDb).toBeGreaterThan(20);
    expect(r.variants[1]!.size).toBeLessThan(r.variants[0]!.size);
    for (const v of r.variants) {
      expect(v.gzipSize).toBeGreaterThan(0);
      expect(v.latencyMs).toBeGreaterThan(0);
      // Pareto: no other variant at least as good and as fast, and better in one.
      const dominated = r.variants.some((o) => o !== v && o.sqnrDb >= v.sqnrDb && o.latencyMs <= v.latencyMs && (o.sqnrDb > v.sqnrDb || o.latencyMs < v.latencyMs));
      expect(v.pareto).toBe(!dominated);
    }
    // hello_world's structured variant has no conv to prune: the same network as the original.
    expect(r.variants[4]!.sqnrDb).toBe(999);
    // The Edge TPU column: int8 variants as `reef edgetpu check` predicts them (three int8 FULLY_CONNECTED
    // layers, all mapped, one segment); float variants cannot run there.
    for (const v of r.variants) expect(v.edgetpu).toEqual(v.dtype === 'int8' ? { tpuOps: 3, cpuOps: 0, segments: 1 } : null);
  });
});

describe('recommend', () => {
  const v = (name: string, accuracy: number, latencyMs: number, gzipSize = 100): Variant => ({
    name, dtype: 'float', pruning: null, bytes: new Uint8Array(0), size: 0, gzipSize, latencyMs, accuracy, agreement: null, sqnrDb: 0, edgetpu: null, pareto: false,
  });
  const vs = [v('original', 0.42, 1.0), v('int8', 0.415, 0.5), v('pruned', 0.3, 0.2), v('int8 small', 0.415, 0.5, 50)];
  it('picks the fastest within the accuracy drop (ties by gzip size), honours --budget-ms, and says when nothing fits', () => {
    expect(recommend(vs, 'accuracy', {})).toEqual({ recommended: 'int8 small', why: 'the fastest variant with top-1 >= 41.0%' });
    expect(recommend(vs, 'accuracy', { maxDrop: 20 }).recommended).toBe('pruned');
    expect(recommend(vs, 'accuracy', { budgetMs: 0.1 })).toEqual({ recommended: null, why: 'no variant meets top-1 >= 41.0%, latency <= 0.1 ms' });
  });
});

describe('reef optimize (CLI)', () => {
  it('prints the table with the recommendation, writes the SVG plot; --json carries every variant without bytes', async () => {
    const calib = join(dir, 'sine');
    mkdirSync(calib);
    const xs = Float32Array.from({ length: 60 }, (_, i) => (i / 60) * 2 * Math.PI);
    writeFileSync(join(calib, 'x.npy'), npyBytes([60, 1, 1], xs));
    const model = sharedPath('models/tflite/hello_world_float.tflite');
    const plot = join(dir, 'o.svg');
    const r = await cli('optimize', model, '--calib', calib, '--samples', '40', '--eval', '20', '--sparsities', '0.5', '--runs', '5', '--plot', plot);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`reef optimize: ${model} (quality: worst output SQNR against the original)`);
    expect(r.out).toMatch(/\n {2}original, float +exact /);
    expect(r.out).toMatch(/\nrecommended: .+ \(the fastest variant with SQNR >= 20\.0 dB\)\n$/);
    expect(readFileSync(plot, 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<circle [\s\S]*<\/svg>\n$/);
    const j = await cli('optimize', model, '--calib', calib, '--samples', '40', '--eval', '20', '--sparsities', '0.5', '--runs', '5', '--json');
    const o = JSON.parse(j.out) as { variants: Array<Record<string, unknown>>; recommended: string };
    expect(o.variants.length).toBe(6);
    expect(o.variants.every((x) => !('bytes' in x))).toBe(true);
  });

  it('--package bundles the recommended variant as cpu-int8 and cpu-float, each byte for byte what the table measured', async () => {
    const calib = join(dir, 'sine-pkg');
    mkdirSync(calib);
    const xs = Float32Array.from({ length: 60 }, (_, i) => (i / 60) * 2 * Math.PI);
    writeFileSync(join(calib, 'x.npy'), npyBytes([60, 1, 1], xs));
    const pkg = join(dir, 'o.reef');
    const r = await cli('optimize', sharedPath('models/tflite/hello_world_float.tflite'), '--calib', calib, '--samples', '40', '--eval', '20', '--sparsities', '0.5', '--runs', '5', '--package', pkg, '--json');
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out) as { recommended: string; package: { file: string; from: string; variants: string[] } };
    const base = o.recommended.split(', ')[0]!;
    expect(o.package).toEqual({ file: pkg, from: base, variants: [`cpu-int8: ${base}, int8`, `cpu-float: ${base}, float`] });
    const b = readBundle(new Uint8Array(readFileSync(pkg)));
    expect(b.manifest.variants.map((v) => v.name)).toEqual(['cpu-int8', 'cpu-float']);
    const int8 = readTflite(b.files.get('models/cpu-int8.tflite')!).subgraphs[0]!;
    const float = readTflite(b.files.get('models/cpu-float.tflite')!).subgraphs[0]!;
    expect(int8.tensors[int8.inputs[0]!]!.dtype).toBe('int8');
    expect(float.tensors[float.inputs[0]!]!.dtype).toBe('float32');
  });

  it.each([
    ['no --calib', [], 'Expected calibration data for --calib (a folder or glob of images, .npy or .bin) but received nothing'],
    ['a sparsity of 1', ['--calib', '.', '--sparsities', '0.5,1'], 'Expected numbers in (0, 1), comma-separated for --sparsities but received "1"'],
    ['a negative budget', ['--calib', '.', '--budget-ms', '-2'], 'Expected a positive number of milliseconds for --budget-ms but received "-2"'],
  ])('BAD INPUT - %s: REEF_INVALID_ARGUMENT', async (_, args, message) => {
    const r = await cli('optimize', sharedPath('models/tflite/hello_world_float.tflite'), ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`reef: REEF_INVALID_ARGUMENT: ${message}`);
    expect(existsSync(join(dir, 'none.svg'))).toBe(false);
  });
});
