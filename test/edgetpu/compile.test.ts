import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseCompilerLog, parseSize } from '../../src/edgetpu/compiler_log.js';
import { COMPILER_INSTALL, compileEdgetpu, findCompiler } from '../../src/edgetpu/compiler.js';
import { registerEdgetpu } from '../../src/cli/edgetpu.js';
import { REPO_ROOT, sharedPath } from '../shared.js';
import { runCli } from './cli.js';
import { ERROR_CODES } from '../../src/errors.js';

const logText = (f: string) => readFileSync(sharedPath(`edgetpu-compiler-logs/${f}`), 'utf8');
const STANDIN_DIR = join(REPO_ROOT, 'test/edgetpu/standin');

describe('compiler log parser on real output', () => {
  it('v16 console (yolov5s 224): header, memory, counts, table', () => {
    const l = parseCompilerLog(logText('v16_yolov5s_224_sa_console.txt'));
    expect(l).toMatchObject({
      version: '16.0.384591198', major: 16, timeoutSeconds: 180, compileMs: 3173,
      inputModel: 'yolov5s-int8-224.tflite', outputModel: 'yolov5s-int8-224_edgetpu.tflite',
      inputSizeBytes: parseSize('7.37MiB'), outputSizeBytes: parseSize('8.34MiB'),
      onChipUsedBytes: Math.round(6.08 * 1048576), onChipRemainingBytes: 0, offChipBytes: Math.round(1.70 * 1048576),
      edgetpuSubgraphs: 2, totalOperations: 294, operationLog: 'yolov5s-int8-224_edgetpu.log',
      tpuOperations: 289, cpuOperations: 5, succeeded: true, partial: true, errors: [],
    });
    expect(l.operators.length).toBe(17);
    expect(l.operators[0]).toEqual({ opcode: 'RESIZE_NEAREST_NEIGHBOR', count: 2, status: 'Mapped to Edge TPU' });
    expect(l.operators.reduce((a, r) => a + r.count, 0)).toBe(294);
    expect(l.operators.filter((r) => r.status !== 'Mapped to Edge TPU').reduce((a, r) => a + r.count, 0)).toBe(5);
  });
  it('v15 console (yolov3-tiny): 2 on the TPU, 34 on the CPU; LEAKY_RELU not supported', () => {
    const l = parseCompilerLog(logText('v15_yolov3_tiny_console.txt'));
    expect([l.major, l.tpuOperations, l.cpuOperations, l.onChipUsedBytes, l.offChipBytes]).toEqual([15, 2, 34, 3072, 0]);
    expect(l.operators).toContainEqual({ opcode: 'LEAKY_RELU', count: 11, status: 'Operation not supported' });
    expect(l.operators.reduce((a, r) => a + r.count, 0)).toBe(36);
  });
  it('v15 console (yolov5s): STRIDED_SLICE with non-unit strides, 1 op mapped', () => {
    const l = parseCompilerLog(logText('v15_yolov5s_console.txt'));
    expect(l.operators).toContainEqual({ opcode: 'STRIDED_SLICE', count: 4, status: 'Only Strided-Slice with unitary strides supported' });
    expect([l.tpuOperations, l.cpuOperations, l.totalOperations]).toEqual([1, 293, 294]);
  });
  it('v15 .log (mnist): input/output names and the table only', () => {
    const l = parseCompilerLog(logText('v15_mnist.log'));
    expect(l).toMatchObject({ version: '15.0.340273435', inputModel: 'mnist4.tflite', outputModel: 'mnist4_edgetpu.tflite', succeeded: true });
    expect(l.operators).toEqual([
      { opcode: 'RESHAPE', count: 1, status: 'Mapped to Edge TPU' },
      { opcode: 'CONV_2D', count: 2, status: 'Mapped to Edge TPU' },
      { opcode: 'SOFTMAX', count: 1, status: 'Mapped to Edge TPU' },
      { opcode: 'QUANTIZE', count: 1, status: 'Operation is otherwise supported, but not mapped due to some unspecified limitation' },
      { opcode: 'DEQUANTIZE', count: 1, status: 'Operation is working on an unsupported data type' },
      { opcode: 'MAX_POOL_2D', count: 2, status: 'Mapped to Edge TPU' },
      { opcode: 'FULLY_CONNECTED', count: 2, status: 'Mapped to Edge TPU' },
    ]);
  });
  it('v14.1 .log (tiny yolo)', () => {
    const l = parseCompilerLog(logText('v14.1_tiny_yolo.log'));
    expect([l.version, l.major, l.operators.length]).toEqual(['14.1.317412892', 14, 8]);
    expect(l.operators[2]).toEqual({ opcode: 'RESIZE_NEAREST_NEIGHBOR', count: 1, status: 'Operation version not supported' });
  });
  it('a failed compilation', () => {
    const l = parseCompilerLog('Edge TPU Compiler version 16.0.384591198\nStarted a compilation timeout timer of 180 seconds.\nERROR: Restored original execution plan after delegate application failure.\nCompilation failed: Compilation failed due to large activation tensors in model.\nCompilation child process completed within timeout period.\nCompilation failed! \n');
    expect(l.succeeded).toBe(false);
    expect(l.errors).toEqual(['ERROR: Restored original execution plan after delegate application failure.', 'Compilation failed: Compilation failed due to large activation tensors in model.', 'Compilation failed!']);
  });
});

describe('reef edgetpu check', () => {
  it('--json: the documented shape, deeplab split 64 / 8', async () => {
    const r = await runCli(registerEdgetpu, 'edgetpu', 'check', sharedPath('models/edgetpu/deeplabv3_mnv2_dm05_pascal_quant.tflite'), '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { operators: Array<{ index: number; opcode: string; mapped: boolean; reason: string }>; tpu_ops: number; cpu_ops: number };
    expect([doc.tpu_ops, doc.cpu_ops, doc.operators.length]).toEqual([64, 8, 72]);
    expect(doc.operators[64]).toMatchObject({ index: 64, opcode: 'RESIZE_BILINEAR', mapped: false, reason: 'Operation is otherwise supported, but not mapped due to some unspecified limitation' });
    expect(Object.keys(doc.operators[0]!)).toEqual(['index', 'opcode', 'mapped', 'reason']);
  });
  it('text: the compiler-style table', async () => {
    const r = await runCli(registerEdgetpu, 'edgetpu', 'check', sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('Number of operations that will run on Edge TPU: 31\nNumber of operations that will run on CPU: 0\n');
    expect(r.out).toContain(`${'CONV_2D'.padEnd(30)} ${'15'.padEnd(10)} Mapped to Edge TPU\n`);
  });
  it('BAD INPUT - a compiled model is refused with REEF_INVALID_ARGUMENT', async () => {
    const r = await runCli(registerEdgetpu, 'edgetpu', 'check', sharedPath('models/edgetpu/split_concat_edgetpu.tflite'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('reef: REEF_INVALID_ARGUMENT: Expected a model that is not yet compiled for the Edge TPU but received one with edgetpu-custom-op');
  });
  it('BAD INPUT - a missing model', async () => {
    const r = await runCli(registerEdgetpu, 'edgetpu', 'check', '/nonexistent/m.tflite');
    expect([r.code, r.err.split('\n')[0]]).toEqual([1, 'reef: REEF_MODEL_NOT_FOUND: cannot read model /nonexistent/m.tflite: no such file']);
  });
});

describe('reef edgetpu compile', () => {
  const saved = { ...process.env };
  let dir = '';
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'reef-compile-')); });
  afterEach(() => { process.env = { ...saved }; rmSync(dir, { recursive: true, force: true }); });

  it('not installed: prints the check, then exactly how to get the compiler (exit 1)', async () => {
    process.env.PATH = '/nonexistent-bin';
    expect(findCompiler()).toBeUndefined();
    const r = await runCli(registerEdgetpu, 'edgetpu', 'compile', sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('Number of operations that will run on Edge TPU: 31');
    expect(r.err).toBe(`reef: REEF_COMPILER_NOT_FOUND: edgetpu_compiler was not found on PATH (the prediction is printed above).\n${COMPILER_INSTALL}\n  fix: ${ERROR_CODES.REEF_COMPILER_NOT_FOUND.fix}\n`);
    expect(COMPILER_INSTALL.split('\n')[0]).toBe('edgetpu_compiler runs on x86-64 Debian or Ubuntu only. Install it from Coral\'s apt repository:');
  });

  it('STAND-IN compiler: runs it with the flags, parses console + .log, reads the real split from the compiled model', async () => {
    process.env.PATH = `${STANDIN_DIR}${delimiter}${saved.PATH ?? ''}`;
    process.env.REEF_STANDIN_CONSOLE = sharedPath('edgetpu-compiler-logs/v16_yolov5s_224_sa_console.txt');
    process.env.REEF_STANDIN_LOG = sharedPath('edgetpu-compiler-logs/v15_mnist.log');
    process.env.REEF_STANDIN_COMPILED = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
    process.env.REEF_STANDIN_ARGS = join(dir, 'args.txt');
    const model = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
    const r = await runCli(registerEdgetpu, 'edgetpu', 'compile', model, '-o', dir, '-m', '13', '--timeout', '60', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // The compiler writes into a private folder inside -o; its files move to -o when it succeeded.
    const args = readFileSync(join(dir, 'args.txt'), 'utf8').trim().split('\n');
    expect(args[2]).toMatch(new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\.reef-compile-\\w+$`));
    expect([...args.slice(0, 2), ...args.slice(3)]).toEqual([
      '--show_operations', '--out_dir', '--timeout_sec', '60', '--min_runtime_version', '13', model,
    ]);
    const doc = JSON.parse(r.out) as { check: { tpu_ops: number }; compile: Record<string, unknown> };
    expect(doc.check.tpu_ops).toBe(31);
    expect(doc.compile).toMatchObject({
      version: '16.0.384591198', output_models: [join(dir, 'mobilenet_v1_0.25_128_quant_edgetpu.tflite')],
      log_file: join(dir, 'mobilenet_v1_0.25_128_quant_edgetpu.log'), tpu_ops: 289, cpu_ops: 5, edgetpu_subgraphs: 2,
      // the compiled model is the real mobilenet one: its split equals the prediction op for op
      operator_differences: [],
      // the replayed console/log belong to other models, so the counts differ
      agrees: false,
    });
    expect((doc.compile.operators as unknown[]).length).toBe(7); // from the .log (v15_mnist.log)
    expect(existsSync(join(dir, 'mobilenet_v1_0.25_128_quant_edgetpu.tflite'))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.startsWith('.reef-compile-'))).toEqual([]); // the private folder is gone
  });

  it('EXPECTED FAILURE - a compiler that fails leaves no file in -o', async () => {
    process.env.PATH = `${STANDIN_DIR}${delimiter}${saved.PATH ?? ''}`;
    process.env.REEF_STANDIN_CONSOLE = sharedPath('edgetpu-compiler-logs/v16_yolov5s_224_sa_console.txt');
    process.env.REEF_STANDIN_COMPILED = '/nonexistent/compiled.tflite'; // the stand-in's cp fails: exit 1 after writing the log
    process.env.REEF_STANDIN_LOG = sharedPath('edgetpu-compiler-logs/v15_mnist.log');
    const model = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
    const r = await runCli(registerEdgetpu, 'edgetpu', 'compile', model, '-o', dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^reef: REEF_COMPILER_FAILED: edgetpu_compiler failed on /);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('reef edgetpu compile --min-runtime N (-m N): the oldest Edge TPU runtime the model must load on', () => {
  const saved = { ...process.env };
  let dir = '';
  const model = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'reef-minrt-'));
    process.env.PATH = `${STANDIN_DIR}${delimiter}${saved.PATH ?? ''}`;
    process.env.REEF_STANDIN_CONSOLE = sharedPath('edgetpu-compiler-logs/v16_yolov5s_224_sa_console.txt');
    process.env.REEF_STANDIN_COMPILED = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite');
    process.env.REEF_STANDIN_ARGS = join(dir, 'args.txt');
  });
  afterEach(() => { process.env = { ...saved }; rmSync(dir, { recursive: true, force: true }); });

  it('--min-runtime 10 reaches the compiler as --min_runtime_version 10 (the long form of its -m)', async () => {
    const r = await runCli(registerEdgetpu, 'edgetpu', 'compile', model, '-o', dir, '--min-runtime', '10', '--json');
    expect([r.code, r.err]).toEqual([0, '']);
    const args = readFileSync(join(dir, 'args.txt'), 'utf8').trim().split('\n');
    const i = args.indexOf('--min_runtime_version');
    expect(args.slice(i, i + 2)).toEqual(['--min_runtime_version', '10']);
    expect(args.at(-1)).toBe(model);
  });

  it('without -m no runtime version is passed (the compiler uses its own default)', async () => {
    const r = await runCli(registerEdgetpu, 'edgetpu', 'compile', model, '-o', dir, '--json');
    expect(r.code).toBe(0);
    const args = readFileSync(join(dir, 'args.txt'), 'utf8').trim().split('\n');
    expect(args.filter((a) => a === '-m' || a === '--min_runtime_version')).toEqual([]);
  });

  for (const bad of ['abc', '0', '-3', '13.5', '']) {
    it(`EXPECTED FAILURE - -m "${bad}": REEF_INVALID_ARGUMENT before the compiler runs`, async () => {
      const r = await runCli(registerEdgetpu, 'edgetpu', 'compile', model, '-o', dir, '-m', bad);
      expect(r.code).toBe(2); // a usage error
      expect(r.err).toBe(`reef: REEF_INVALID_ARGUMENT: Expected a positive integer for --min-runtime but received "${bad}"\n  fix: ${ERROR_CODES.REEF_INVALID_ARGUMENT.fix}\n`);
      expect(existsSync(join(dir, 'args.txt'))).toBe(false); // the compiler was never started
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('EXPECTED FAILURE - a bad -m is reported even where the compiler is not installed', async () => {
    process.env.PATH = '/nonexistent-bin';
    const r = await runCli(registerEdgetpu, 'edgetpu', 'compile', model, '-m', 'x');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^reef: REEF_INVALID_ARGUMENT: Expected a positive integer for --min-runtime but received "x"\n/);
    expect(r.out).toBe('');
  });

  it('EXPECTED FAILURE - the API refuses a minRuntimeVersion that is not a positive integer', async () => {
    await expect(compileEdgetpu(model, { minRuntimeVersion: 13.5, outDir: dir })).rejects.toMatchObject({
      code: 'REEF_INVALID_ARGUMENT', message: 'Expected a positive integer for minRuntimeVersion but received 13.5',
    });
    expect(readdirSync(dir)).toEqual([]);
  });
});
