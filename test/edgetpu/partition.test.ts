import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTflite } from '../../src/model/tflite/reader.js';
import { compiledSplit } from '../../src/edgetpu/compiled.js';
import { predictPartition } from '../../src/edgetpu/partition.js';
import { REASONS } from '../../src/edgetpu/rules.js';
import { estimateParameterMemory } from '../../src/edgetpu/memory.js';
import { edgetpuSegments } from '../../src/edgetpu/custom_op.js';
import { sharedBytes, sharedPath } from '../shared.js';

const PAIRS = ['mobilenet_v1_0.25_128_quant', 'mobilenet_v1_0.5_160_quant', 'deeplabv3_mnv2_dm05_pascal_quant', 'keras_lstm_mnist_ptq', 'split_concat'];
const model = (rel: string) => readTflite(sharedBytes(`models/${rel}.tflite`));

describe('predicted split == the real compiler\'s split, op for op, for every pair', () => {
  for (const name of PAIRS) {
    it(name, () => {
      const src = model(`edgetpu/${name}`);
      const real = compiledSplit(src, model(`edgetpu/${name}_edgetpu`));
      const p = predictPartition(src);
      expect(p.operators.map((o) => o.mapped)).toEqual(real.mapped);
      expect(p.segments).toBe(real.segments);
    });
  }
  it('the pair list covers every X / X_edgetpu pair in models/edgetpu', () => {
    const files = readdirSync(sharedPath('models/edgetpu'));
    const pairs = files.filter((f) => f.endsWith('_edgetpu.tflite') && files.includes(f.replace('_edgetpu', ''))).map((f) => f.replace('_edgetpu.tflite', ''));
    expect(pairs.sort()).toEqual([...PAIRS].sort());
  });
});

describe('reasons', () => {
  it('deeplabv3: the 1x1 -> 33x33 RESIZE_BILINEAR cuts the segment; the rest downstream follows', () => {
    const p = predictPartition(model('edgetpu/deeplabv3_mnv2_dm05_pascal_quant'));
    const cpu = p.operators.filter((o) => !o.mapped).map((o) => [o.index, o.opcode, o.reason, o.cutBy ?? null]);
    expect(cpu).toEqual([
      [64, 'RESIZE_BILINEAR', 'Operation is otherwise supported, but not mapped due to some unspecified limitation', null],
      [65, 'QUANTIZE', 'More than one subgraph is not supported', 64],
      [66, 'CONCATENATION', 'More than one subgraph is not supported', 64],
      [67, 'CONV_2D', 'More than one subgraph is not supported', 64],
      [68, 'CONV_2D', 'More than one subgraph is not supported', 64],
      [69, 'RESIZE_BILINEAR', 'More than one subgraph is not supported', 64],
      [70, 'RESIZE_BILINEAR', 'More than one subgraph is not supported', 64],
      [71, 'ARG_MAX', 'Operation not supported', null],
    ]);
    expect(p.operators[62]!.mapped).toBe(true); // beside the cut, not downstream of it
    expect(p.operators[71]!.hint).toBe('take the arg-max on the CPU after the model (post-processing)');
  });

  it('the status strings are the compiler\'s own words (each occurs in a real log)', () => {
    const dir = sharedPath('edgetpu-compiler-logs');
    const logs = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    for (const k of ['mapped', 'notSupported', 'dataType', 'version', 'subgraph', 'unspecified', 'stridedSlice'] as const) {
      expect(logs).toContain(REASONS[k]);
    }
  });

  it('a fused activation on a pool stops the segment there (mutated mobilenet)', () => {
    const m = model('edgetpu/mobilenet_v1_0.25_128_quant');
    const pool = m.subgraphs[0]!.operators[27]!;
    expect(pool.opcode).toBe('AVERAGE_POOL_2D');
    (pool.builtinOptions!.value as { fusedActivationFunction: number }).fusedActivationFunction = 1;
    const p = predictPartition(m);
    expect([p.tpuOps, p.cpuOps]).toEqual([27, 4]);
    expect(p.operators[27]!.detail).toBe('AVERAGE_POOL_2D needs no fused activation function');
    expect(p.operators.slice(28).map((o) => o.reason)).toEqual(Array(3).fill('More than one subgraph is not supported'));
  });

  it('LEAKY_RELU is not supported, with the RELU hint; an op version above the table is "version not supported"', () => {
    const m = model('edgetpu/mobilenet_v1_0.25_128_quant');
    const ops = m.subgraphs[0]!.operators;
    ops[10]!.version = 9;
    ops[20]!.opcode = 'LEAKY_RELU';
    ops[20]!.builtinOptions = undefined;
    const p = predictPartition(m);
    expect(p.operators[10]).toMatchObject({ mapped: false, reason: 'Operation version not supported', detail: 'CONV_2D version 9; compiler 16 takes up to version 3' });
    expect(p.operators[20]).toMatchObject({ mapped: false, reason: 'Operation not supported', hint: 'replace LEAKY_RELU with RELU (or PRELU with a 1-D alpha) and retrain/fine-tune', placement: 'cpu-after' });
    expect(p.tpuOps).toBe(10);
  });

  it('float input: the float CONV_2D chain stays on the CPU with the data-type status and the --io hint', () => {
    const p = predictPartition(model('tflite/vww_96_float'));
    expect(p.tpuOps).toBe(0);
    expect(p.operators[0]).toMatchObject({ reason: 'Operation is working on an unsupported data type', placement: 'cpu-before' });
    expect(p.operators[0]!.hint).toContain('reef quantize --io uint8');
  });

  it('a float -> int QUANTIZE at the input stays ahead of the segment, the rest maps (v15_mnist.log pattern)', () => {
    const m = model('edgetpu/keras_lstm_mnist_ptq');
    m.subgraphs[0]!.tensors[0]!.dtype = 'float32';
    const p = predictPartition(m);
    expect(p.operators[0]).toMatchObject({ opcode: 'QUANTIZE', mapped: false, placement: 'cpu-before',
      reason: 'Operation is otherwise supported, but not mapped due to some unspecified limitation' });
    expect(p.operators.slice(1).every((o) => o.mapped)).toBe(true);
  });

  it('compiler 15: TRANSPOSE not supported (v15_yolov5s_console.txt), compiler 16 maps it', () => {
    const m = model('edgetpu/mobilenet_v1_0.25_128_quant');
    const ops = m.subgraphs[0]!.operators;
    ops[29]!.opcode = 'TRANSPOSE';
    expect(predictPartition(m, { compilerVersion: 15 }).operators[29]!.reason).toBe('Operation not supported');
    expect(predictPartition(m, { compilerVersion: 16 }).operators[29]!.reason).toBe('Mapped to Edge TPU');
  });
});

describe('parameter memory estimate vs the parameter bytes inside the real compiled models', () => {
  // Real: PARAMETER_CACHING + EXECUTION_ONLY parameter bytes of each compiled model.
  const cases: Array<[string, number]> = [
    ['mobilenet_v1_0.25_128_quant', 566912],
    ['mobilenet_v1_0.5_160_quant', 1473280],
    ['deeplabv3_mnv2_dm05_pascal_quant', 766720],
  ];
  for (const [name, real] of cases) {
    it(`${name}: within 2% of ${real} bytes`, () => {
      const src = model(`edgetpu/${name}`);
      const info = edgetpuSegments(model(`edgetpu/${name}_edgetpu`))[0]!.info;
      expect(info.cachedParameterBytes + info.streamedParameterBytes).toBe(real);
      const est = estimateParameterMemory(src, predictPartition(src).operators.map((o) => o.mapped));
      expect(Math.abs(est.parameterBytes / real - 1)).toBeLessThan(0.02);
      expect(est.offChipBytes).toBe(0);
    });
  }
  it('over the 8 MiB budget, the rest streams off-chip', () => {
    const src = model('edgetpu/mobilenet_v1_0.5_160_quant');
    const e = estimateParameterMemory(src, undefined, 1_000_000);
    expect(e.onChipBytes).toBe(1_000_000);
    expect(e.offChipBytes).toBe(e.parameterBytes - 1_000_000);
  });
});
