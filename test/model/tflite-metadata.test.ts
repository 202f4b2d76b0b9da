/**
 * TFLite metadata: read from the real models that carry it (Coral/TF hub classifiers and the
 * SSD detector), and from a model written here with metadata and a labels zip.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { load } from '../../src/index.js';
import { AssociatedFileType, ColorSpaceType } from '../../src/model/tflite/metadata_schema.generated.js';
import { encodeTfliteMetadata, readTfliteMetadata } from '../../src/model/tflite/metadata.js';
import { readTflite } from '../../src/model/tflite/reader.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { sharedBytes, sharedPath } from '../shared.js';

describe('readTfliteMetadata on shared models', () => {
  it('MobileNet v1 0.25 quant: 1001 ImageNet labels from the appended zip, mean/std 127.5, RGB', () => {
    const md = readTfliteMetadata(sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'));
    const expected = readFileSync(sharedPath('labels/imagenet_labels.txt'), 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');
    expect(md.labels).toEqual(expected);
    expect(md.labelsFile).toBe('imagenet_labels.txt');
    expect(md.mean).toEqual([127.5]);
    expect(md.std).toEqual([127.5]);
    expect(md.colorSpace).toBe('RGB');
    expect(md.name).toBe('ImageClassifier');
    expect(md.minRuntimeVersion).toBe('1.5.0');
    expect(md.minParserVersion).toBe('1.0.0');
    expect(md.entries).toEqual(['min_runtime_version', 'TFLITE_METADATA']);
    expect(md.inputs.map((t) => t.name)).toEqual(['image']);
    expect(md.outputs.map((t) => t.name)).toEqual(['probability']);
  });

  it('the compiled twin keeps the same metadata', () => {
    const a = readTfliteMetadata(sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite'));
    const b = readTfliteMetadata(sharedBytes('models/edgetpu/mobilenet_v1_0.25_128_quant_edgetpu.tflite'));
    expect(b.labels).toEqual(a.labels);
    expect([b.mean, b.std]).toEqual([a.mean, a.std]);
  });

  it('SSD MobileNet: 90 COCO labels (TENSOR_VALUE_LABELS on the classes output), 4 described outputs', () => {
    const md = readTfliteMetadata(sharedBytes('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite'));
    expect(md.labelsFile).toBe('labelmap.txt');
    expect(md.labels!.length).toBe(90);
    expect(md.labels!.slice(0, 3)).toEqual(['person', 'bicycle', 'car']);
    expect(md.outputs.map((t) => t.name)).toEqual(['locations', 'classes', 'scores', 'number of detections']);
    expect([md.mean, md.std, md.colorSpace]).toEqual([[127.5], [127.5], 'RGB']);
    expect(md.name).toBe('Coco SSD MobileNetV1');
  });

  it('models without metadata give an empty summary (hello_world has only min_runtime_version)', () => {
    const md = readTfliteMetadata(sharedBytes('models/tflite/hello_world_int8.tflite'));
    expect(md).toEqual({ entries: ['min_runtime_version', 'CONVERSION_METADATA'], minRuntimeVersion: '1.14.0', inputs: [], outputs: [], associatedFiles: [] });
    expect(readTfliteMetadata(sharedBytes('models/tflite/mobilenet_v1_0.25_128_float.tflite'))).toEqual({ entries: [], inputs: [], outputs: [], associatedFiles: [] });
  });
});

describe('metadata written by reef reads back (and the model still runs)', () => {
  it('hello_world_float + metadata flatbuffer + labels zip', async () => {
    const model = readTflite(sharedBytes('models/tflite/hello_world_float.tflite'));
    const md = encodeTfliteMetadata({
      name: 'sine',
      version: 'v2',
      subgraphMetadata: [{
        inputTensorMetadata: [{
          name: 'x',
          content: { contentProperties: { type: 'ImageProperties', value: { colorSpace: ColorSpaceType.GRAYSCALE, defaultSize: { width: 96, height: 96 } } } },
          processUnits: [{ options: { type: 'NormalizationOptions', value: { mean: [0.5], std: [0.25] } } }],
        }],
        outputTensorMetadata: [{ name: 'y', associatedFiles: [{ name: 'labels.txt', type: AssociatedFileType.TENSOR_AXIS_LABELS }] }],
      }],
      minParserVersion: '1.0.0',
    });
    expect(String.fromCharCode(...md.subarray(4, 8))).toBe('M001');
    model.buffers.push(md);
    model.metadata.push({ name: 'TFLITE_METADATA', buffer: model.buffers.length - 1 });
    model.associatedFiles = [{ name: 'labels.txt', data: new TextEncoder().encode('low\nmid\nhigh\n') }];
    const bytes = writeTflite(model);
    const out = readTfliteMetadata(bytes);
    const { raw, ...summary } = out;
    expect(raw?.name).toBe('sine');
    expect(summary).toEqual({
      entries: ['min_runtime_version', 'CONVERSION_METADATA', 'TFLITE_METADATA'],
      minRuntimeVersion: '1.5.0',
      name: 'sine',
      version: 'v2',
      minParserVersion: '1.0.0',
      inputs: [{ name: 'x', mean: [0.5], std: [0.25], colorSpace: 'GRAYSCALE', imageSize: { width: 96, height: 96 } }],
      outputs: [{ name: 'y' }],
      mean: [0.5],
      std: [0.25],
      colorSpace: 'GRAYSCALE',
      imageSize: { width: 96, height: 96 },
      labels: ['low', 'mid', 'high'],
      labelsFile: 'labels.txt',
      associatedFiles: ['labels.txt'],
    });
    // The zip's offsets count from the start of the file, as zip tools expect: the central
    // directory entry points at a local header ("PK\x03\x04").
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const eocd = bytes.length - 22;
    expect(view.getUint32(eocd, true)).toBe(0x06054b50);
    const cd = view.getUint32(eocd + 16, true);
    expect(view.getUint32(view.getUint32(cd + 42, true), true)).toBe(0x04034b50);
    const s = await load(bytes, { threads: 1 });
    const y = await s.run([new Float32Array([1.5])]);
    expect(Object.keys(y)).toEqual(['StatefulPartitionedCall:0']);
    await s.dispose();
  });

  it('EXPECTED FAILURE - a corrupt TFLITE_METADATA buffer is REEF_MODEL_INVALID naming it', () => {
    const model = readTflite(sharedBytes('models/tflite/hello_world_float.tflite'));
    model.buffers.push(new Uint8Array([12, 0, 0, 0, 0x4d, 0x30, 0x30, 0x31, 1, 2, 3, 4]));
    model.metadata.push({ name: 'TFLITE_METADATA', buffer: model.buffers.length - 1 });
    expect(() => readTfliteMetadata(writeTflite(model))).toThrow(expect.objectContaining({
      code: 'REEF_MODEL_INVALID',
      message: `Invalid TFLite metadata: TFLITE_METADATA (buffer ${model.buffers.length - 1}), ModelMetadata: offset 12 at byte 0 points outside the 12-byte file`,
    }));
  });
});
