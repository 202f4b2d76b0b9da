/**
 * Never silent: every output's SQNR against the float model is checked after quantizing.
 * A detector reef was never tuned on (blazeface) gets a warning naming its outputs and layers with
 * the default-of-old minmax ranges; calibration data unlike the real inputs gives a coded failure
 * (and no file) unless --accept-low-sqnr; the tuned models pass clean.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReefError } from '../../src/errors.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { quantizeTflite } from '../../src/quantize/pipeline.js';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';
import { imagenetSamples, modelBytes, npyBytes } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'reef-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** hello_world inputs: n points evenly over [0, top). */
const sine = (n: number, top: number): Float32Array[][] => Array.from({ length: n }, (_, i) => [new Float32Array([(i / n) * top])]);

describe('output SQNR check', () => {
  it('blazeface_front_float with minmax ranges: a warning naming both outputs, three layers on their path, and what to try', async () => {
    // minmax ranges widen with more calibration data: on 100 photos they cost blazeface its 20 dB.
    const photos = await imagenetSamples([1, 128, 128, 3], 127.5, 127.5, 0, 120);
    const r = await quantizeTflite(modelBytes('models/tflite/blazeface_front_float.tflite'), {
      calibration: photos.slice(0, 100).map((p) => p.sample),
      evaluation: photos.slice(100).map((p) => ({ inputs: p.sample })),
    }, { source: 'blazeface', method: 'minmax', biasCorrection: false });
    const c = r.report.sqnrCheck!;
    expect(c.status).toBe('warning');
    expect(c.held).toBe(true);
    expect(c.samples).toBe(20);
    expect(c.outputs.map((o) => o.name)).toContain('regressors');
    for (const o of c.outputs) expect(o.sqnrDb).toBeLessThan(20);
    expect(c.layers.length).toBe(3);
    const sg = readTflite(modelBytes('models/tflite/blazeface_front_float.tflite')).subgraphs[0]!;
    for (const l of c.layers) {
      expect(sg.operators[l.op]!.opcode).toBe(l.opcode);
      expect(l.dropDb).toBeGreaterThan(0);
    }
    expect(c.layers[0]!.dropDb).toBeGreaterThanOrEqual(c.layers[2]!.dropDb);
    expect(c.suggestion).toBe(`--keep-float ${c.layers.map((l) => l.op).join(',')} or --method auto|percentile|mse`);
    expect(c.message).toContain('blazeface: int8 output');
    expect(c.message).toContain('against the float model on 20 held samples, below 20 dB; most error enters at operator');
  }, 60_000);

  it('calibration data unlike the inputs (hello_world calibrated on [0, 0.5], run on [0, 2pi]): REEF_QUANTIZE_LOW_SQNR, unless accepted', async () => {
    const bytes = modelBytes('models/tflite/hello_world_float.tflite');
    const data = { calibration: sine(50, 0.5), evaluation: sine(40, 2 * Math.PI).map((inputs) => ({ inputs })) };
    let err: unknown;
    try { await quantizeTflite(bytes, data, { source: 'hello_world' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ReefError);
    expect((err as ReefError).code).toBe('REEF_QUANTIZE_LOW_SQNR');
    expect((err as ReefError).message).toMatch(/^hello_world: int8 output "StatefulPartitionedCall:0" -?\d+\.\d dB against the float model on 40 held samples, below 10 dB; most error enters at operator \d \(FULLY_CONNECTED, [^)]+\) -\d+\.\d dB/);
    expect((err as ReefError).message).toContain('or pass --accept-low-sqnr to write this model anyway. Nothing was written.');
    const r = await quantizeTflite(bytes, data, { source: 'hello_world', acceptLowSqnr: true });
    expect(r.report.sqnrCheck!.status).toBe('low');
    expect(r.report.sqnrCheck!.outputs[0]!.sqnrDb).toBeLessThan(10);
  });

  it('without held samples, the check runs on the last 20 calibration samples and says so', async () => {
    const r = await quantizeTflite(modelBytes('models/tflite/hello_world_float.tflite'), { calibration: sine(100, 2 * Math.PI) }, { source: 'hello_world' });
    expect(r.report.sqnrCheck).toMatchObject({ status: 'ok', samples: 20, held: false, outputs: [], layers: [], message: null });
    expect(r.report.samples.evaluation).toBe(0);
  });

  it('reef quantize: a low-SQNR model (ranges clipped to the 51st percentile) exits 1 with the code and writes nothing; --accept-low-sqnr writes it with a warning', async () => {
    const calib = join(dir, 'sine');
    mkdirSync(calib);
    const xs = Float32Array.from({ length: 100 }, (_, i) => (i / 100) * 2 * Math.PI);
    writeFileSync(join(calib, 'x.npy'), npyBytes([100, 1, 1], xs));
    const model = sharedPath('models/tflite/hello_world_float.tflite');
    const out = join(dir, 'low.tflite');
    const args = ['quantize', model, '--calib', calib, '-o', out, '--samples', '80', '--eval', '20', '--method', 'percentile', '--percentile', '51'];
    const bad = await cli(...args);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/(^|\n)reef: REEF_QUANTIZE_LOW_SQNR: .*hello_world_float\.tflite: int8 output "StatefulPartitionedCall:0" -?\d+\.\d dB against the float model on 20 held samples, below 10 dB/);
    expect(bad.err).toContain('Try --keep-float ');
    expect(bad.err).toContain(' or --method auto|minmax|mse; or pass --accept-low-sqnr to write this model anyway. Nothing was written.');
    expect(existsSync(out)).toBe(false);
    const ok = await cli(...args, '--accept-low-sqnr');
    expect(ok.code).toBe(0);
    expect(ok.err).toMatch(/reef: warning: .*hello_world_float\.tflite: int8 output "StatefulPartitionedCall:0" -?\d+\.\d dB against the float model on 20 held samples, below 10 dB/);
    expect(existsSync(out)).toBe(true);
  });
});

describe('--keep-float', () => {
  const bytes = modelBytes('models/tflite/hello_world_float.tflite');
  const data = { calibration: sine(40, 2 * Math.PI) };
  it('keeps the named operators (by index or by the tensor they write) in float between DEQUANTIZE/QUANTIZE', async () => {
    const sg = readTflite(bytes).subgraphs[0]!;
    const name = sg.tensors[sg.operators[2]!.outputs[0]!]!.name;
    const r = await quantizeTflite(bytes, data, { source: 'hello_world', keepFloat: [1, name], io: 'float' });
    expect(r.report.floatOps).toEqual([
      { index: 1, opcode: 'FULLY_CONNECTED', reason: 'kept in float as asked (--keep-float)' },
      { index: 2, opcode: 'FULLY_CONNECTED', reason: 'kept in float as asked (--keep-float)' },
    ]);
    expect(r.model.subgraphs[0]!.operators.map((o) => o.opcode)).toEqual(['QUANTIZE', 'FULLY_CONNECTED', 'DEQUANTIZE', 'FULLY_CONNECTED', 'FULLY_CONNECTED']);
    const ops = r.model.subgraphs[0]!.operators;
    expect(r.model.subgraphs[0]!.tensors[ops[3]!.inputs[1]!]!.dtype).toBe('float32');
    expect(r.report.sqnrCheck!.status).toBe('ok');
  });
  it('refuses an operator that does not exist, naming the range', async () => {
    await expect(quantizeTflite(bytes, data, { source: 'hello_world', keepFloat: ['dense_9'] })).rejects.toMatchObject({
      code: 'REEF_INVALID_ARGUMENT',
      message: 'Expected an operator index (0-2) or the name of a tensor an operator writes for --keep-float but received "dense_9" (hello_world; the quantize report lists both)',
    });
  });
});
