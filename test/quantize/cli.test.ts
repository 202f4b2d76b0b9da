/**
 * `reef quantize` from the command line: a full run on hello_world with .npy calibration data
 * (report JSON, SVG plot, atomic output) and every bad input failing with its code, its message
 * and no output file left behind.
 */
import { Command } from 'commander';
import { existsSync, mkdirSync, rmSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { reportError, type CliIO } from '../../src/cli/io.js';
import { registerQuantize } from '../../src/cli/quantize.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { load } from '../../src/runtime/session.js';
import { sharedPath } from '../shared.js';
import { npyBytes } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => { out += t; }, err: (t) => { err += t; } };
  const program = new Command().exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  registerQuantize(program, io);
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(['node', 'reef', 'quantize', ...args]);
    return { code: 0, out, err };
  } catch (e) {
    return { code: reportError(e, io, false), out, err };
  }
}


describe('reef quantize (CLI)', () => {
  it('quantizes hello_world from a .npy of 200 samples, prints the report, writes model, report JSON and SVG plot', async () => {
    const calib = join(dir, 'sine');
    mkdirSync(calib);
    writeFileSync(join(calib, 'x.npy'), npyBytes([250, 1, 1], Float32Array.from({ length: 250 }, (_, i) => (i / 250) * 2 * Math.PI)));
    const out = join(dir, 'hello_int8.tflite');
    const r = await cli([sharedPath('models/tflite/hello_world_float.tflite'), '--calib', calib, '-o', out, '--report', join(dir, 'r.json'), '--plot', join(dir, 'r.svg'), '--io', 'float']);
    expect(r.err).not.toContain('reef:');
    expect(r.code).toBe(0);
    expect(r.out).toContain('samples: 200 calibration, 50 held for the report');
    expect(r.out).toContain(`wrote ${out}`);
    const m = readTflite(readFileSync(out));
    expect(m.subgraphs[0]!.operators.map((o) => `${o.opcode}@v${o.version}`)).toEqual(
      ['QUANTIZE@v1', 'FULLY_CONNECTED@v4', 'FULLY_CONNECTED@v4', 'FULLY_CONNECTED@v4', 'DEQUANTIZE@v2']);
    const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { io: string; samples: unknown; outputs: Array<{ sqnrDb: number }>; layers: unknown[] };
    expect(report.io).toBe('float');
    expect(report.samples).toEqual({ calibration: 200, evaluation: 50 });
    expect(report.layers.length).toBe(3);
    expect(report.outputs[0]!.sqnrDb).toBeGreaterThan(25);
    expect(readFileSync(join(dir, 'r.svg'), 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
    const s = await load(out);
    try {
      const y = (await s.run([new Float32Array([Math.PI / 2])]))[s.outputs[0]!.name]!.data as Float32Array;
      expect(Math.abs(y[0]! - 1)).toBeLessThan(0.15);
    } finally {
      await s.dispose();
    }
  });

  const bad: Array<[string, () => string[], string, string]> = [
    ['a model that is already int8', () => [sharedPath('models/tflite/vww_96_int8.tflite'), '--calib', sharedPath('images/person96'), '-o', join(dir, 'bad1.tflite')],
      'REEF_MODEL_ALREADY_QUANTIZED', `${sharedPath('models/tflite/vww_96_int8.tflite')} is already quantized (int8 activations); reef quantize takes a float32 model (or a legacy uint8 one)`],
    ['a non-float model', () => [sharedPath('models/tflite/ops/mirror-pad.int32.tflite'), '--calib', sharedPath('images/person96'), '-o', join(dir, 'bad2.tflite')],
      'REEF_MODEL_NOT_FLOAT', `${sharedPath('models/tflite/ops/mirror-pad.int32.tflite')} is not a float model (its activations are int32); reef quantize takes a float32 model`],
    ['calibration data of the wrong shape', () => {
      const d = join(dir, 'wrongshape');
      if (!existsSync(d)) { mkdirSync(d); writeFileSync(join(d, 'x.npy'), npyBytes([3, 2], new Float32Array(6))); }
      return [sharedPath('models/tflite/hello_world_float.tflite'), '--calib', d, '-o', join(dir, 'bad3.tflite')];
    }, 'REEF_CALIBRATION_INVALID', `calibration file ${join(dir, 'wrongshape', 'x.npy')}: shape [3,2] does not fit input "serving_default_dense_input:0" of shape [1,1] (1 values per sample)`],
    ['an empty folder', () => { const d = join(dir, 'empty'); if (!existsSync(d)) mkdirSync(d); return [sharedPath('models/tflite/vww_96_float.tflite'), '--calib', d, '-o', join(dir, 'bad4.tflite')]; },
      'REEF_CALIBRATION_INVALID', `calibration data ${join(dir, 'empty')}: no calibration samples found (looked for .jpg .jpeg .png .webp .gif .avif .tif .tiff .npy .bin)`],
    ['an unreadable image', () => {
      const d = join(dir, 'broken');
      if (!existsSync(d)) { mkdirSync(d); writeFileSync(join(d, 'a.jpg'), 'not a jpeg'); }
      return [sharedPath('models/tflite/vww_96_float.tflite'), '--calib', d, '-o', join(dir, 'bad5.tflite')];
    }, 'REEF_IMAGE_INVALID', `cannot decode image ${join(dir, 'broken', 'a.jpg')}`],
    ['a folder that does not exist', () => [sharedPath('models/tflite/vww_96_float.tflite'), '--calib', join(dir, 'nope'), '-o', join(dir, 'bad6.tflite')],
      'REEF_FILE_NOT_FOUND', `calibration data ${join(dir, 'nope')}: no such file or folder`],
    ['an unknown method', () => [sharedPath('models/tflite/vww_96_float.tflite'), '--calib', sharedPath('images/person96'), '-o', join(dir, 'bad7.tflite'), '--method', 'kl'],
      'REEF_INVALID_ARGUMENT', 'Expected one of auto, minmax, percentile, mse for --method but received "kl"'],
    ['an op without an int8 kernel', () => [sharedPath('models/tflite/ops/abs-sqrt.float32.tflite'), '--calib', join(dir, 'bin'), '-o', join(dir, 'bad8.tflite')],
      'REEF_QUANTIZE_UNSUPPORTED_OP', 'operator 1 (SQRT): TFLite 2.9 has no int8 kernel for it'],
  ];
  it.each(bad)('BAD INPUT - %s: fails with its code and message, leaves no file', async (_, args, code, message) => {
    if (!existsSync(join(dir, 'bin'))) {
      mkdirSync(join(dir, 'bin'));
      writeFileSync(join(dir, 'bin', 'a.bin'), new Uint8Array(new Float32Array(32 * 64 * 128).fill(0.5).buffer));
    }
    const before = new Set(readdirSync(dir));
    const r = await cli(args());
    expect(r.code).toBe(code === 'REEF_INVALID_ARGUMENT' ? 2 : 1);
    expect(r.err).toContain(`reef: ${code}: `);
    expect(r.err).toContain(message);
    const after = readdirSync(dir).filter((f) => !before.has(f) && !['empty', 'broken', 'wrongshape', 'bin'].includes(f));
    expect(after).toEqual([]);
  });
});
