/**
 * The Edge TPU table after the audit against Coral's supported-operations table and the real
 * compiler logs: one small real model per changed rule (test/edgetpu/op-models.ts), its exact
 * predicted status for the compilers the sources speak of, and every rule's evidence checked
 * against the log lines it cites.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load } from '../../src/index.js';
import { checkEdgetpu } from '../../src/edgetpu/check.js';
import { predictPartition } from '../../src/edgetpu/partition.js';
import { CONSTRAINTS, NO_SOURCE, OP_RULES, REASONS } from '../../src/edgetpu/rules.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { sharedPath } from '../shared.js';
import { resizeModel, squeezeModel, stridedSliceModel, transposeConvModel } from './op-models.js';

const MAPPED = 'Mapped to Edge TPU';
const UNSPECIFIED = 'Operation is otherwise supported, but not mapped due to some unspecified limitation';

/** The one operator's prediction for compiler `v`: [status, detail]. */
function predict(bytes: Uint8Array, v: number): [string, string | undefined] {
  const o = predictPartition(readTflite(bytes), { compilerVersion: v }).operators[0]!;
  return [o.reason, o.detail];
}

/** TensorFlow Lite itself loads the built model and runs it once: the output shape it reports. */
async function tfliteOutputShape(bytes: Uint8Array): Promise<number[]> {
  const s = await load(bytes);
  try {
    const feeds = Object.fromEntries(s.inputs.map((t) => [t.name, new Int8Array(t.shape.reduce((a, b) => a * b, 1))]));
    const out = await s.run(feeds);
    return Object.values(out)[0]!.shape;
  } finally {
    await s.dispose();
  }
}

describe('STRIDED_SLICE: unit strides until compiler 16, no ellipsis/new-axis masks', () => {
  // v15_yolov5s_console.txt:32 refuses 4 stride-2 slices; the same graph under v16 maps all 13.
  it('stride 2: compiler 15 says "Only Strided-Slice with unitary strides supported", compiler 16 maps it', async () => {
    const m = stridedSliceModel([1, 2, 2, 1]);
    expect(await tfliteOutputShape(m)).toEqual([1, 4, 4, 4]);
    expect(predict(m, 15)).toEqual(['Only Strided-Slice with unitary strides supported', 'STRIDED_SLICE needs all strides equal to 1']);
    expect(predict(m, 16)).toEqual([MAPPED, undefined]);
  });
  it('unit strides map for every compiler, the early ones included (the 2019 table lists StridedSlice)', async () => {
    const m = stridedSliceModel([1, 1, 1, 1]);
    expect(await tfliteOutputShape(m)).toEqual([1, 8, 8, 4]);
    for (const v of [2, 14, 15, 16]) expect(predict(m, v)).toEqual([MAPPED, undefined]);
  });
  it('an ellipsis or new-axis mask stays on the CPU (coral.ai table: ellipsis-axis-mask == 0, new-axis-mask == 0)', () => {
    const detail = 'STRIDED_SLICE needs ellipsis_mask == 0 and new_axis_mask == 0';
    expect(predict(stridedSliceModel([1, 1, 1, 1], { ellipsisMask: 1 }), 16)).toEqual([UNSPECIFIED, detail]);
    expect(predict(stridedSliceModel([1, 1, 1, 1], { newAxisMask: 2 }, [1, 1, 8, 8, 4]), 16)).toEqual([UNSPECIFIED, detail]);
  });
});

describe('SQUEEZE: only leading 1s (coral.ai table: [1,5,10] is ok, [5,1,10] is not)', () => {
  it('[1,5,10] squeezed on axis 0 maps, from the early compilers on', async () => {
    const m = squeezeModel([1, 5, 10], [0]);
    expect(await tfliteOutputShape(m)).toEqual([5, 10]);
    for (const v of [2, 16]) expect(predict(m, v)).toEqual([MAPPED, undefined]);
  });
  it('[5,1,10] squeezed on axis 1 stays on the CPU', async () => {
    const m = squeezeModel([5, 1, 10], [1]);
    expect(await tfliteOutputShape(m)).toEqual([5, 10]);
    expect(predict(m, 16)).toEqual([UNSPECIFIED, 'SQUEEZE needs only leading size-1 dimensions squeezed (no relayout): [1,5,10] is fine, [5,1,10] is not']);
  });
  it('no squeeze_dims: every size-1 dimension is squeezed, so [1,1,10] maps and [1,5,1,10] does not', () => {
    expect(predict(squeezeModel([1, 1, 10], []), 16)[0]).toBe(MAPPED);
    const bytes = squeezeModel([1, 5, 1, 10], []);
    expect(predict(bytes, 16)[0]).toBe(UNSPECIFIED);
  });
});

describe('TRANSPOSE_CONV: version 3 (bias) maps in compiler 16, version 4 makes compiler 16 refuse the model', () => {
  it('version 3 with bias: mapped by compiler 16 (google-coral/edgetpu#686); compiler 2 does not have it', async () => {
    const m = transposeConvModel(3);
    expect(await tfliteOutputShape(m)).toEqual([1, 8, 8, 4]);
    expect(predict(m, 16)).toEqual([MAPPED, undefined]);
    expect(predict(m, 2)).toEqual(['Operation not supported', 'TRANSPOSE_CONV is mapped from compiler version 14 on (predicting for 2)']);
  });
  it('version 4: "Operation version not supported" and a note that compiler 16 refuses the whole model (google-coral/edgetpu#845)', () => {
    const m = transposeConvModel(4);
    expect(predict(m, 16)).toEqual(['Operation version not supported', 'TRANSPOSE_CONV version 4; compiler 16 cannot read versions above 3 and refuses the whole model']);
    const report = checkEdgetpu(m);
    expect(report.operators[0]!.refusal).toBe("ERROR: Didn't find op for builtin opcode 'TRANSPOSE_CONV' version '4'");
    expect(report.notes[0]).toBe(
      'edgetpu_compiler 16 will refuse the whole model ("ERROR: Didn\'t find op for builtin opcode \'TRANSPOSE_CONV\' version \'4\'", operator 0): nothing gets compiled. ' +
      'Fix: convert with an older TensorFlow (or converter.experimental_new_converter = False) so the operator gets an older version.');
  });
});

describe('RESIZE_*: version 3 needs compiler 16; compiler 2 cannot read RESIZE_BILINEAR version 3', () => {
  it('RESIZE_NEAREST_NEIGHBOR v3: "Operation version not supported" under 14 and 15 (v14.1_tiny_yolo.log:9, v15_yolov5s_console.txt:35), mapped under 16', async () => {
    const m = resizeModel('RESIZE_NEAREST_NEIGHBOR', 3);
    expect(await tfliteOutputShape(m)).toEqual([1, 8, 8, 8]);
    expect(predict(m, 14)).toEqual(['Operation version not supported', 'RESIZE_NEAREST_NEIGHBOR version 3; compiler 14 takes up to version 2']);
    expect(predict(m, 15)).toEqual(['Operation version not supported', 'RESIZE_NEAREST_NEIGHBOR version 3; compiler 15 takes up to version 2']);
    expect(predict(m, 16)).toEqual([MAPPED, undefined]);
  });
  it('RESIZE_BILINEAR v3 under compiler 2: refused at parse time (google-coral/edgetpu#45)', () => {
    const m = resizeModel('RESIZE_BILINEAR', 3);
    expect(predict(m, 2)).toEqual(['Operation version not supported', 'RESIZE_BILINEAR version 3; compiler 2 cannot read versions above 2 and refuses the whole model']);
    expect(predictPartition(readTflite(m), { compilerVersion: 15 }).operators[0]!.refusal).toBeUndefined();
  });
});

describe('every rule names its source, and every log line it cites says what it quotes', () => {
  const dir = sharedPath('edgetpu-compiler-logs');
  const logs = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8').split('\n')]));
  const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
  const entries: Array<[string, string]> = [
    ...Object.entries(OP_RULES).map(([k, r]): [string, string] => [k, r.evidence]),
    ...Object.entries(CONSTRAINTS).map(([k, c]): [string, string] => [k, c.evidence]),
  ];

  it('each evidence string cites a table copy, a log line, a compiled pair or an issue, or says no source was found', () => {
    const cites = /coral\.ai table|\.(log|txt):\d+|pair|google-coral\/edgetpu#\d+/;
    expect(entries.filter(([, e]) => !cites.test(e) && !e.includes(NO_SOURCE)).map(([k]) => k)).toEqual([]);
  });

  it('each `file:line "words"` citation is on that line of the real log', () => {
    let checked = 0;
    for (const [key, e] of entries) {
      for (const m of e.matchAll(/([\w.]+\.(?:log|txt)):(\d+) "([^"]+)"/g)) {
        const lines = logs.get(m[1]!);
        expect(lines, `${key}: ${m[1]} is not in ${dir}`).toBeDefined();
        expect(squash(lines![Number(m[2]) - 1] ?? ''), `${key}: ${m[0]}`).toBe(squash(m[3]!));
        checked++;
      }
    }
    expect(checked).toBe(22);
  });

  it('the statuses the new constraints report are the compiler\'s own words', () => {
    expect(REASONS[CONSTRAINTS['strided-slice-masks'].reason]).toBe(UNSPECIFIED);
    expect(REASONS[CONSTRAINTS['squeeze-leading-ones'].reason]).toBe(UNSPECIFIED);
    expect(REASONS[CONSTRAINTS['unit-strides'].reason]).toBe('Only Strided-Slice with unitary strides supported');
  });
});
