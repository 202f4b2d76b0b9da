/**
 * EXPECTED FAILURE cases built from real models by editing the IR and writing it with reef's
 * writer (which writes what it is given): each must be refused with the exact message.
 */
import { describe, expect, it } from 'vitest';
import { readTflite, validateTflite } from '../../src/model/tflite/reader.js';
import type { TfliteModel } from '../../src/model/tflite/ir.js';
import { writeTflite } from '../../src/model/tflite/writer.js';
import { sharedBytes } from '../shared.js';

const hello = (): TfliteModel => readTflite(sharedBytes('models/tflite/hello_world_int8.tflite'));
const refused = (m: TfliteModel, message: string): void => {
  const bytes = writeTflite(m);
  expect(() => readTflite(bytes)).toThrow(expect.objectContaining({ code: 'REEF_MODEL_INVALID', message }));
};

describe('semantic validation of TFLite models', () => {
  it('EXPECTED FAILURE - out-of-range buffer index', () => {
    const m = hello();
    m.subgraphs[0]!.tensors[4]!.buffer = 99;
    refused(m, "Invalid TFLite model: subgraph 0, tensor 4 ('sequential/dense_1/MatMul'): buffer 99 is out of range (the model has 13 buffers)");
  });

  it('EXPECTED FAILURE - out-of-range tensor index in an operator and in the subgraph outputs', () => {
    const m = hello();
    m.subgraphs[0]!.operators[1]!.inputs[1] = 10;
    refused(m, 'Invalid TFLite model: subgraph 0, operator 1 (FULLY_CONNECTED), input 1: tensor index 10 is out of range (the subgraph has 10 tensors)');
    const m2 = hello();
    m2.subgraphs[0]!.outputs = [-1];
    refused(m2, 'Invalid TFLite model: subgraph 0, output 0: tensor index -1 is out of range (the subgraph has 10 tensors)');
  });

  it('EXPECTED FAILURE - a constant whose bytes do not match its shape', () => {
    const m = hello();
    m.subgraphs[0]!.tensors[4]!.shape = [16, 17];
    refused(m, "Invalid TFLite model: subgraph 0, tensor 4 ('sequential/dense_1/MatMul'): buffer 5 holds 256 bytes but shape [16,17] of int8 needs 272");
  });

  it('EXPECTED FAILURE - a dimension that would allocate more than 2 GiB', () => {
    const m = hello();
    m.subgraphs[0]!.tensors[8]!.shape = [65536, 65536];
    refused(m, "Invalid TFLite model: subgraph 0, tensor 8 ('sequential/dense_1/MatMul;sequential/dense_1/Relu;sequential/dense_1/BiasAdd'): shape [65536,65536] of int8 needs 4294967296 bytes, over the 2147483647-byte limit");
  });

  it('EXPECTED FAILURE - per-axis quantization that does not fit the shape', () => {
    const m = hello();
    const q = m.subgraphs[0]!.tensors[4]!.quantization!;
    q.scale = [1, 2, 3];
    q.zeroPoint = [0, 0, 0];
    refused(m, "Invalid TFLite model: subgraph 0, tensor 4 ('sequential/dense_1/MatMul'): per-axis quantization has 3 scales but dimension 0 of shape [16,16] is 16");
  });

  it('EXPECTED FAILURE - operators out of execution order (a dataflow cycle)', () => {
    const m = hello();
    m.subgraphs[0]!.operators.reverse();
    refused(m, "Invalid TFLite model: subgraph 0, operator 0 (FULLY_CONNECTED): reads tensor 8 ('sequential/dense_1/MatMul;sequential/dense_1/Relu;sequential/dense_1/BiasAdd') before any operator writes it (operators must be in execution order: a cycle or a dangling tensor)");
  });

  it('EXPECTED FAILURE - a subgraph that calls itself (WHILE body = its own subgraph)', () => {
    const m = hello();
    const sg = m.subgraphs[0]!;
    sg.operators.push({ opcode: 'WHILE', version: 1, inputs: [9], outputs: [9], customOptionsFormat: 0, builtinOptions: { type: 'WhileOptions', value: { condSubgraphIndex: 0, bodySubgraphIndex: 0 } } });
    refused(m, 'Invalid TFLite model: subgraphs: subgraph call cycle: 0 -> 0');
    sg.operators[3]!.builtinOptions = { type: 'WhileOptions', value: { condSubgraphIndex: 0, bodySubgraphIndex: 7 } };
    refused(m, 'Invalid TFLite model: subgraph 0, operator 3 (WHILE): calls subgraph 7, out of range (the model has 1 subgraphs)');
  });

  it('EXPECTED FAILURE - an output nothing writes; a pass-through output (validateTflite only)', () => {
    const m = hello();
    m.subgraphs[0]!.operators.pop();
    refused(m, "Invalid TFLite model: subgraph 0, output 0: tensor 9 ('StatefulPartitionedCall:0') is never written by any operator");
    const m2 = hello();
    m2.subgraphs[0]!.outputs = [0];
    const bytes = writeTflite(m2);
    expect(() => readTflite(bytes)).not.toThrow();
    expect(() => validateTflite(bytes)).toThrow(expect.objectContaining({
      message: "Invalid TFLite model: subgraph 0, output 0: tensor 0 ('serving_default_dense_input:0') is also input 0: pass-through outputs crash TFLite 2.9 under XNNPACK",
    }));
  });

  it('EXPECTED FAILURE - TRANSPOSE_CONV output_shape that disagrees with its output tensor', () => {
    const m = readTflite(sharedBytes('models/tflite/ops/transposeconv-samepad-stride2.float32.tflite'));
    const sg = m.subgraphs[0]!;
    const op = sg.operators[0]!;
    const shapeT = sg.tensors[op.inputs[0]!]!;
    const data = new Uint8Array(m.buffers[shapeT.buffer]!);
    new DataView(data.buffer).setInt32(4, 1 << 20, true);
    m.buffers[shapeT.buffer] = data;
    refused(m, `Invalid TFLite model: subgraph 0, operator 0 (TRANSPOSE_CONV): output_shape operand [1,1048576,14,4] does not match the output tensor's shape [1,14,14,4]`);
  });
});
