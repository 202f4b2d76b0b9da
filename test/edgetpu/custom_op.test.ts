import { describe, expect, it } from 'vitest';
import { readTflite } from '../../src/model/tflite/reader.js';
import { describeEdgetpuCustomOp, edgetpuSegments, readEdgetpuCustomOp } from '../../src/edgetpu/custom_op.js';
import { compiledSplit } from '../../src/edgetpu/compiled.js';
import { FlexbufferError, FlexType, readFlexbuffer } from '../../src/model/flexbuffer.js';
import { isReefError } from '../../src/errors.js';
import { sharedBytes } from '../shared.js';

const PAIRS = ['mobilenet_v1_0.25_128_quant', 'mobilenet_v1_0.5_160_quant', 'deeplabv3_mnv2_dm05_pascal_quant', 'keras_lstm_mnist_ptq', 'split_concat'];
const model = (name: string) => readTflite(sharedBytes(`models/edgetpu/${name}.tflite`));

/** Where the little-endian bytes of a hex token occur in `bytes`. */
function findLE(bytes: Uint8Array, hex: string): number {
  const needle = Buffer.from(hex, 'hex').reverse();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(needle);
}

describe('FlexBuffers reader', () => {
  it('reads an inline root int (bytes from the FlexBuffers spec layout)', () => {
    // value 7, packed type INT<<2 | width code 0, root width 1
    const r = readFlexbuffer(new Uint8Array([7, FlexType.INT << 2, 1]));
    expect(r.type).toBe(FlexType.INT);
    expect(r.asNumber()).toBe(7);
  });
  it('reads a map with a string (hand-assembled)', () => {
    // keys: "a\0" at 0; keys vector [size=1][off] ; value string "hi" ; map [keys off][keys width][size][value][packed]
    const b = [
      0x61, 0x00, // 0: key "a"
      0x01, 0x03, // 2: keys vector: size 1, element at 3 -> offset 3 back to byte 0
      0x02, 0x68, 0x69, 0x00, // 4: string size 2, "hi\0" at 5
      0x05, 0x01, 0x01, // 8: map prefix: keys offset (8-5=3 -> keys at 3), keys width 1, size 1
      0x06, // 11: value slot: offset 6 back -> 5 ("hi")
      (FlexType.STRING << 2) | 0, // 12: packed type of value 0
      0x02, (FlexType.MAP << 2) | 0, 0x01, // 13: root offset 2 back -> 11, MAP width 1, root width 1
    ];
    const m = readFlexbuffer(new Uint8Array(b)).asMap();
    expect([...m.keys()]).toEqual(['a']);
    expect(m.get('a')!.asString()).toBe('hi');
  });
  it('BAD INPUT - a too-short buffer fails naming the root', () => {
    expect(() => readFlexbuffer(new Uint8Array([1]))).toThrow(new FlexbufferError('root', 'buffer is 1 bytes, too short for a FlexBuffer (at least 3)'));
  });
  it('BAD INPUT - an offset past the start fails, no read out of bounds', () => {
    expect(() => readFlexbuffer(new Uint8Array([200, FlexType.STRING << 2, 1])).asBytes()).toThrow(FlexbufferError);
  });
});

describe('edgetpu-custom-op options of the real compiled models', () => {
  it('split_concat: compiler cl/343520747, min runtime 13, caching token in the file bytes', () => {
    const bytes = sharedBytes('models/edgetpu/split_concat_edgetpu.tflite');
    const m = readTflite(bytes);
    const [seg] = edgetpuSegments(m);
    expect(seg!.operator).toBe(0);
    const d = describeEdgetpuCustomOp(m.subgraphs[0]!.operators[0]!.customOptions!);
    // The compiler version string is visible with `strings` on the file.
    expect(d.compilerVersion).toBe('cl/343520747');
    expect(d.minRuntimeVersion).toBe(13);
    expect(d.parameterCachingToken).toBe('0f5daf073fcc3811');
    expect(findLE(bytes, d.parameterCachingToken!)).toBeGreaterThan(0);
    expect(d.executables.map((e) => e.type)).toEqual(['EXECUTION_ONLY', 'PARAMETER_CACHING']);
    // The executable's layers are the custom op's tensors, by name.
    const sg = m.subgraphs[0]!;
    expect(d.executables[0]!.inputs).toEqual(sg.operators[0]!.inputs.map((i) => sg.tensors[i]!.name));
    expect(d.executables[0]!.outputs).toEqual(sg.operators[0]!.outputs.map((i) => sg.tensors[i]!.name));
  });

  it('blazeface (older compiler cl/281101054) keeps the deprecated chip name "beagle"', () => {
    const m = readTflite(sharedBytes('models/edgetpu/blazeface_front_quant_edgetpu.tflite'));
    const info = readEdgetpuCustomOp(m.subgraphs[0]!.operators[0]!.customOptions!);
    expect(info.chipName).toBe('beagle');
    expect(info.packages[0]!.compilerVersion).toBe('cl/281101054');
    expect(info.packages[0]!.minRuntimeVersion).toBe(12);
  });

  for (const name of PAIRS) {
    it(`${name}: one segment; layer shapes and quantization equal the custom op's tensors`, () => {
      const m = model(`${name}_edgetpu`);
      const segs = edgetpuSegments(m);
      expect(segs.length).toBe(1);
      const sg = m.subgraphs[0]!;
      const op = sg.operators[segs[0]!.operator]!;
      const exe = segs[0]!.info.packages[0]!.executables.find((e) => e.type !== 'PARAMETER_CACHING')!;
      expect(exe.inputs.map((l) => l.name)).toEqual(op.inputs.map((i) => sg.tensors[i]!.name));
      // Every tensor of the op is a layer of the executable (LSTM state outputs are extra layers).
      [...op.inputs, ...op.outputs].forEach((ti) => {
        const t = sg.tensors[ti]!;
        const l = exe.inputs.concat(exe.outputs).find((x) => x.name === t.name)!;
        expect(l.dims.reduce((a, b) => a * b, 1)).toBe(t.shape.reduce((a, b) => a * b, 1));
        expect(l.dequantizationFactor).toBeCloseTo(t.quantization!.scale[0]!, 7);
      });
      expect(segs[0]!.info.cachedParameterBytes).toBeGreaterThan(0);
    });
  }

  it('BAD INPUT - options that are not a FlexBuffer map fail with REEF_MODEL_INVALID', () => {
    try {
      readEdgetpuCustomOp(new Uint8Array([7, FlexType.INT << 2, 1]));
      expect.unreachable();
    } catch (e) {
      expect(isReefError(e, 'REEF_MODEL_INVALID')).toBe(true);
      expect((e as Error).message).toBe('Invalid edgetpu-custom-op options: root: expected a map but found INT');
    }
  });
});

describe('real split of each compiled pair', () => {
  // Golden: read off the compiled models (ops left outside edgetpu-custom-op), see docs/edgetpu.md.
  const expected: Record<string, { tpu: number; cpu: number; firstCpu: number | null }> = {
    'mobilenet_v1_0.25_128_quant': { tpu: 31, cpu: 0, firstCpu: null },
    'mobilenet_v1_0.5_160_quant': { tpu: 31, cpu: 0, firstCpu: null },
    deeplabv3_mnv2_dm05_pascal_quant: { tpu: 64, cpu: 8, firstCpu: 64 },
    keras_lstm_mnist_ptq: { tpu: 6, cpu: 0, firstCpu: null },
    split_concat: { tpu: 3, cpu: 0, firstCpu: null },
  };
  for (const name of PAIRS) {
    it(name, () => {
      const s = compiledSplit(model(name), model(`${name}_edgetpu`));
      const e = expected[name]!;
      expect(s.segments).toBe(1);
      expect(s.mapped.filter((x) => x).length).toBe(e.tpu);
      expect(s.mapped.filter((x) => !x).length).toBe(e.cpu);
      const first = s.mapped.indexOf(false);
      expect(first === -1 ? null : first).toBe(e.firstCpu);
    });
  }
  it('BAD CALL - models that are not a pair are refused', () => {
    expect(() => compiledSplit(model('split_concat'), model('deeplabv3_mnv2_dm05_pascal_quant_edgetpu'))).toThrow(
      /^The compiled model has CPU operators that the source model does not have \(RESIZE_BILINEAR -> /,
    );
  });
});
