// Review (issue 11, fault paths): any invoke failure of a model on an Edge TPU is taken for a lost
// device -- also a CPU op that refuses the run's own input. One bad run then takes the device out of
// the pool: it gets REEF_EDGETPU_DEVICE_LOST, the good runs queued behind it are rejected with the
// same error (its message included), `device-lost` and `device-restored` are emitted; a bundle would
// switch to its CPU variant and back. Through `reef serve`, one malformed request turns into 503s for
// every request waiting with it.
//
// src/runtime/session.ts #dispatch: `if (lane.device && e.code === 'REEF_INVOKE_FAILED')` -> lost;
// it does not look at what failed. Compiled models keep ops the Edge TPU cannot run on the CPU (here
// a RESHAPE whose shape comes from an input, after the compiled mobilenet op: TFLite's own
// "num_input_elements != num_output_elements ... Node number 1 (RESHAPE) failed to prepare").
//
// Correct: a failure reported by a CPU node is the run's own: that run rejects with REEF_INVOKE_FAILED
// (TFLite's words); the other runs resolve; no device event. Only a failure of the Edge TPU node (or
// a device that is no longer listed) means the device is lost.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, type ReefError } from '../../src/index.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { TPU, pixels, recordEvents, sleep, useStandin } from './edgetpu-standin.js';

const standin = useStandin('devices=usb:1');
afterAll(() => standin.restore());

/** The compiled mobilenet followed by a CPU RESHAPE of its scores to a shape given as a second input. */
function withCpuReshape(): string {
  const m = readTflite(readFileSync(TPU));
  const g = m.subgraphs[0]!;
  const scores = g.tensors[g.outputs[0]!]!;
  g.tensors.push({ name: 'shape', dtype: 'int32', shape: [2], buffer: 0, isVariable: false, hasRank: true });
  g.tensors.push({
    name: 'reshaped', dtype: 'uint8', shape: [1, 1001], shapeSignature: [-1, -1], buffer: 0, isVariable: false, hasRank: true,
    ...(scores.quantization ? { quantization: scores.quantization } : {}),
  });
  g.operators.push({ opcode: 'RESHAPE', version: 1, inputs: [g.outputs[0]!, g.tensors.length - 2], outputs: [g.tensors.length - 1], customOptionsFormat: 0 });
  g.inputs = [g.inputs[0]!, g.tensors.length - 2];
  g.outputs = [g.tensors.length - 1];
  const path = join(mkdtempSync(join(tmpdir(), 'reef-review-reshape-')), 'mobilenet_reshape_edgetpu.tflite');
  writeFileSync(path, writeTflite(m));
  return path;
}

describe('a compiled model whose CPU op refuses a run\'s input', () => {
  it('the bad run gets REEF_INVOKE_FAILED; the device is not lost; the good runs behind it resolve', async () => {
    standin.set('devices=usb:1');
    const s = await load(withCpuReshape(), { edgetpuRetryMs: 20 });
    expect(s.delegate.name).toBe('edgetpu');
    const events = recordEvents(s);
    const x = pixels();
    expect((await s.run([x, new Int32Array([1, 1001])])).reshaped!.shape).toEqual([1, 1001]);
    const [bad, good1, good2] = await Promise.all([
      s.run([x, new Int32Array([2, 2])]), s.run([x, new Int32Array([1, 1001])]), s.run([x, new Int32Array([7, 143])]),
    ].map((p) => p.then((o) => `ok ${o.reshaped!.shape.join('x')}`, (e: ReefError) => `${e.code}: ${e.message}`)));
    await sleep(200);
    expect(bad).toMatch(/^REEF_INVOKE_FAILED: .*num_input_elements != num_output_elements \(1001 != 4\)/s);
    expect([good1, good2, events]).toEqual(['ok 1x1001', 'ok 7x143', []]);
    await s.dispose();
  });
});
