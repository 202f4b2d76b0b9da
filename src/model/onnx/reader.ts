/**
 * Reading ONNX models (protobuf ModelProto) into reef's ONNX IR with a hand-written,
 * bounds-checked decoder over the field numbers of onnx/onnx.proto. Unknown fields are
 * skipped (forward compatible); anything malformed is a ReefError REEF_MODEL_INVALID
 * naming the field path, e.g. `ModelProto.graph.node[3].attribute[0].t.dims`.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { ReefError } from '../../errors.js';
import { readUserFileSync } from '../../files.js';
import { inferOnnxShapes } from './shapes.js';
import { ONNX_DTYPE, ONNX_DTYPE_NAME, type OnnxAttribute, type OnnxExternalData, type OnnxFunction, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './ir.js';
import { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT, WireError, WireReader } from './wire.js';

const MAX_DEPTH = 32;

function invalid(where: string, what: string): ReefError {
  return new ReefError('REEF_MODEL_INVALID', `Invalid ONNX model: ${where}: ${what}`);
}

/**
 * Heuristic: do these bytes start like an ONNX ModelProto? (field 1 ir_version varint, or
 * another ModelProto field with the right wire type, first).
 */
export function isOnnx(bytes: Uint8Array): boolean {
  if (bytes.length < 2) return false;
  const tag = bytes[0]!;
  const field = tag >> 3, wire = tag & 7;
  const expected: Record<number, number> = { 1: WIRE_VARINT, 2: WIRE_LEN, 3: WIRE_LEN, 4: WIRE_LEN, 5: WIRE_VARINT, 6: WIRE_LEN, 7: WIRE_LEN, 8: WIRE_LEN, 14: WIRE_LEN };
  return expected[field] === wire && !(bytes.length >= 8 && bytes[4] === 0x54 && bytes[5] === 0x46 && bytes[6] === 0x4c && bytes[7] === 0x33);
}

/**
 * Read an ONNX model. Initializer data stays as views into `bytes` (raw_data) or decoded
 * numbers (typed fields). Initializers stored in external files are described in
 * `tensor.external`; {@link readOnnxFile} loads and checks them.
 *
 * @example
 * const m = readOnnx(new Uint8Array(await readFile('model.onnx')));
 * console.log(m.opsets[''], m.graph.nodes.length);
 * @throws ReefError REEF_MODEL_INVALID naming the field path and the problem.
 */
export function readOnnx(bytes: Uint8Array): OnnxModel {
  if (!(bytes instanceof Uint8Array)) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a Uint8Array for bytes but received ${typeof bytes}`);
  if (bytes.length === 0) throw invalid('ModelProto', 'the file is empty');
  let model: OnnxModel;
  try {
    model = readModel(new WireReader(bytes, 0, bytes.length, 'ModelProto'));
  } catch (e) {
    if (e instanceof WireError) throw invalid(e.where, e.what);
    throw e;
  }
  validateOnnx(model);
  model.inferredShapes = inferOnnxShapes(model);
  return model;
}

/**
 * Read a serialized TensorProto (the .pb files of ONNX's test data sets).
 * @throws ReefError REEF_MODEL_INVALID naming the field that is wrong.
 */
export function readOnnxTensor(bytes: Uint8Array): OnnxTensor {
  try {
    return readTensor(new WireReader(bytes, 0, bytes.length, 'TensorProto'));
  } catch (e) {
    if (e instanceof WireError) throw invalid(e.where, e.what);
    throw e;
  }
}

/**
 * Read an ONNX model from a file, loading initializers kept in external data files
 * (resolved relative to the model's folder, never outside it).
 * @throws ReefError REEF_MODEL_NOT_FOUND if the model is missing; REEF_MODEL_INVALID for
 * corrupt bytes or external data that is missing, outside the folder, or too short.
 */
export function readOnnxFile(path: string): OnnxModel {
  const model = readOnnx(readUserFileSync(path, 'ONNX model'));
  resolveExternalData(model, dirname(path));
  return model;
}

/**
 * Load the data of initializers stored in external files (data_location = EXTERNAL) from `dir`.
 * @throws ReefError REEF_MODEL_INVALID naming the initializer, the file and what is wrong.
 */
export function resolveExternalData(model: OnnxModel, dir: string): void {
  for (const t of model.graph.initializers) {
    const ext = t.external;
    if (!ext) continue;
    const where = `initializer '${t.name}'`;
    if (isAbsolute(ext.location) || normalize(ext.location).startsWith('..')) {
      throw invalid(where, `external data location '${ext.location}' must be a relative path inside the model's folder`);
    }
    const file = join(dir, ext.location);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw invalid(where, `external data file '${ext.location}' is missing (looked for ${file}); keep the .onnx and its data files together`);
    }
    const offset = ext.offset ?? 0;
    const length = ext.length ?? size - offset;
    if (offset + length > size) throw invalid(where, `external data (${length} bytes at offset ${offset}) runs past the end of '${ext.location}' (${size} bytes)`);
    const buf = readFileSync(file);
    t.rawData = new Uint8Array(buf.buffer, buf.byteOffset + offset, length);
  }
}

function readModel(r: WireReader): OnnxModel {
  const m: OnnxModel = { irVersion: 0, opsets: {}, graph: emptyGraph(), metadataProps: {}, functions: [] };
  let haveGraph = false;
  let opsetIndex = 0;
  while (!r.done()) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_VARINT, 'ir_version'); m.irVersion = r.varint('ir_version'); break;
      case 2: r.expect(w, WIRE_LEN, 'producer_name'); m.producerName = r.string('producer_name'); break;
      case 3: r.expect(w, WIRE_LEN, 'producer_version'); m.producerVersion = r.string('producer_version'); break;
      case 4: r.expect(w, WIRE_LEN, 'domain'); m.domain = r.string('domain'); break;
      case 5: r.expect(w, WIRE_VARINT, 'model_version'); m.modelVersion = r.varint('model_version'); break;
      case 6: r.expect(w, WIRE_LEN, 'doc_string'); m.docString = r.string('doc_string'); break;
      case 7: r.expect(w, WIRE_LEN, 'graph'); m.graph = readGraph(r.sub('graph', `${r.where}.graph`), 0); haveGraph = true; break;
      case 8: {
        r.expect(w, WIRE_LEN, 'opset_import');
        const s = r.sub('opset_import', `${r.where}.opset_import[${opsetIndex++}]`);
        let domain = '', version = 0;
        while (!s.done()) {
          const [ff, ww] = s.tag();
          if (ff === 1 && ww === WIRE_LEN) domain = s.string('domain');
          else if (ff === 2 && ww === WIRE_VARINT) version = s.varint('version');
          else s.skip(ww, `field ${ff}`);
        }
        m.opsets[domain === 'ai.onnx' ? '' : domain] = version;
        break;
      }
      case 14: {
        r.expect(w, WIRE_LEN, 'metadata_props');
        const [k, v] = readStringEntry(r.sub('metadata_props', `${r.where}.metadata_props`));
        m.metadataProps[k] = v;
        break;
      }
      case 25: r.expect(w, WIRE_LEN, 'functions'); m.functions.push(readFunction(r.sub('functions', `${r.where}.functions[${m.functions.length}]`))); break;
      default: r.skip(w, `field ${f}`);
    }
  }
  if (!haveGraph) throw new WireError('ModelProto', 'has no graph (field 7): not an ONNX model, or truncated before the graph');
  return m;
}

/** A StringStringEntryProto (metadata_props, external_data): field 1 key, field 2 value. */
function readStringEntry(s: WireReader): [string, string] {
  let k = '', v = '';
  while (!s.done()) {
    const [ff, ww] = s.tag();
    if (ff === 1 && ww === WIRE_LEN) k = s.string('key');
    else if (ff === 2 && ww === WIRE_LEN) v = s.string('value');
    else s.skip(ww, `field ${ff}`);
  }
  return [k, v];
}

function emptyGraph(): OnnxGraph {
  return { name: '', nodes: [], initializers: [], sparseInitializers: 0, inputs: [], outputs: [], valueInfo: [] };
}

function readGraph(r: WireReader, depth: number): OnnxGraph {
  if (depth > MAX_DEPTH) r.fail(`subgraphs nested deeper than ${MAX_DEPTH}`);
  const g = emptyGraph();
  while (!r.done()) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_LEN, 'node'); g.nodes.push(readNode(r.sub('node', `${r.where}.node[${g.nodes.length}]`), depth)); break;
      case 2: r.expect(w, WIRE_LEN, 'name'); g.name = r.string('name'); break;
      case 5: r.expect(w, WIRE_LEN, 'initializer'); g.initializers.push(readTensor(r.sub('initializer', `${r.where}.initializer[${g.initializers.length}]`))); break;
      case 10: r.expect(w, WIRE_LEN, 'doc_string'); g.docString = r.string('doc_string'); break;
      case 11: r.expect(w, WIRE_LEN, 'input'); g.inputs.push(readValueInfo(r.sub('input', `${r.where}.input[${g.inputs.length}]`))); break;
      case 12: r.expect(w, WIRE_LEN, 'output'); g.outputs.push(readValueInfo(r.sub('output', `${r.where}.output[${g.outputs.length}]`))); break;
      case 13: r.expect(w, WIRE_LEN, 'value_info'); g.valueInfo.push(readValueInfo(r.sub('value_info', `${r.where}.value_info[${g.valueInfo.length}]`))); break;
      case 15: r.expect(w, WIRE_LEN, 'sparse_initializer'); r.skip(w, 'sparse_initializer'); g.sparseInitializers++; break;
      default: r.skip(w, `field ${f}`);
    }
  }
  return g;
}

function readFunction(r: WireReader): OnnxFunction {
  const fn: OnnxFunction = { name: '', domain: '', nodes: [] };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) fn.name = r.string('name');
    else if (f === 10 && w === WIRE_LEN) fn.domain = r.string('domain');
    else if (f === 7 && w === WIRE_LEN) fn.nodes.push(readNode(r.sub('node', `${r.where}.node[${fn.nodes.length}]`), 1));
    else r.skip(w, `field ${f}`);
  }
  return fn;
}

function readNode(r: WireReader, depth: number): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  while (!r.done()) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_LEN, 'input'); n.inputs.push(r.string('input')); break;
      case 2: r.expect(w, WIRE_LEN, 'output'); n.outputs.push(r.string('output')); break;
      case 3: r.expect(w, WIRE_LEN, 'name'); n.name = r.string('name'); break;
      case 4: r.expect(w, WIRE_LEN, 'op_type'); n.opType = r.string('op_type'); break;
      case 5: r.expect(w, WIRE_LEN, 'attribute'); n.attributes.push(readAttribute(r.sub('attribute', `${r.where}.attribute[${n.attributes.length}]`), depth)); break;
      case 7: r.expect(w, WIRE_LEN, 'domain'); n.domain = r.string('domain'); if (n.domain === 'ai.onnx') n.domain = ''; break;
      default: r.skip(w, `field ${f}`);
    }
  }
  if (!n.opType) r.fail('node has no op_type');
  return n;
}

const ATTR_TYPES = ['undefined', 'float', 'int', 'string', 'tensor', 'graph', 'floats', 'ints', 'strings', 'tensors', 'graphs', 'sparse_tensor', 'sparse_tensors', 'type_proto', 'type_protos'] as const;

function readAttribute(r: WireReader, depth: number): OnnxAttribute {
  let name = '';
  let type = 0;
  let ref: string | undefined;
  let f32: number | undefined, i64: number | undefined, s: Uint8Array | undefined, t: OnnxTensor | undefined, g: OnnxGraph | undefined;
  const floats: number[] = [], ints: number[] = [], strings: string[] = [], tensors: OnnxTensor[] = [], graphs: OnnxGraph[] = [];
  let other = 0;
  const dec = new TextDecoder();
  while (!r.done()) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(w, WIRE_LEN, 'name'); name = r.string('name'); break;
      case 20: r.expect(w, WIRE_VARINT, 'type'); type = r.varint('type'); break;
      case 21: r.expect(w, WIRE_LEN, 'ref_attr_name'); ref = r.string('ref_attr_name'); break;
      case 2: r.expect(w, WIRE_I32, 'f'); f32 = r.float('f'); break;
      case 3: r.expect(w, WIRE_VARINT, 'i'); i64 = r.varint('i'); break;
      case 4: r.expect(w, WIRE_LEN, 's'); s = r.bytesField('s'); break;
      case 5: r.expect(w, WIRE_LEN, 't'); t = readTensor(r.sub('t', `${r.where}.t`)); break;
      case 6: r.expect(w, WIRE_LEN, 'g'); g = readGraph(r.sub('g', `${r.where}.g`), depth + 1); break;
      case 7: r.repeated(w, 'float', 'floats', floats); break;
      case 8: r.repeated(w, 'varint', 'ints', ints); break;
      case 9: r.expect(w, WIRE_LEN, 'strings'); strings.push(r.string('strings')); break;
      case 10: r.expect(w, WIRE_LEN, 'tensors'); tensors.push(readTensor(r.sub('tensors', `${r.where}.tensors[${tensors.length}]`))); break;
      case 11: r.expect(w, WIRE_LEN, 'graphs'); graphs.push(readGraph(r.sub('graphs', `${r.where}.graphs[${graphs.length}]`), depth + 1)); break;
      case 22: case 23: case 14: case 15: r.skip(w, `field ${f}`); other = f; break;
      default: r.skip(w, `field ${f}`);
    }
  }
  if (ref !== undefined) return { name, type: 'ref', value: ref };
  if (type === 0) {
    // IR version 1 files may omit `type`: infer it from the field that is set.
    type = f32 !== undefined ? 1 : i64 !== undefined ? 2 : s !== undefined ? 3 : t ? 4 : g ? 5 : floats.length ? 6 : ints.length ? 7 : strings.length ? 8 : tensors.length ? 9 : graphs.length ? 10 : other === 22 ? 11 : other === 23 ? 12 : other === 14 ? 13 : other === 15 ? 14 : 0;
  }
  const kind = ATTR_TYPES[type];
  switch (kind) {
    case 'float': return { name, type: kind, value: f32 ?? 0 };
    case 'int': return { name, type: kind, value: i64 ?? 0 };
    case 'string': return { name, type: kind, value: s ? dec.decode(s) : '' };
    case 'tensor': if (!t) r.fail(`attribute '${name}' has type TENSOR but no tensor`); return { name, type: kind, value: t };
    case 'graph': if (!g) r.fail(`attribute '${name}' has type GRAPH but no graph`); return { name, type: kind, value: g };
    case 'floats': return { name, type: kind, value: floats };
    case 'ints': return { name, type: kind, value: ints };
    case 'strings': return { name, type: kind, value: strings };
    case 'tensors': return { name, type: kind, value: tensors };
    case 'graphs': return { name, type: kind, value: graphs };
    case undefined: return r.fail(`attribute '${name}' has unknown type ${type}`);
    default: return { name, type: kind, value: null };
  }
}

function readTensor(r: WireReader): OnnxTensor {
  const t: OnnxTensor = { name: '', dataType: 0, dtype: 'unknown', dims: [] };
  const values: number[] = [];
  const strings: Uint8Array[] = [];
  let location = 0;
  const ext: Record<string, string> = {};
  while (!r.done()) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.repeated(w, 'varint', 'dims', t.dims); break;
      case 2: r.expect(w, WIRE_VARINT, 'data_type'); t.dataType = r.varint('data_type'); break;
      case 4: r.repeated(w, 'float', 'float_data', values); break;
      case 5: r.repeated(w, 'varint', 'int32_data', values); break;
      case 6: r.expect(w, WIRE_LEN, 'string_data'); strings.push(r.bytesField('string_data')); break;
      case 7: r.repeated(w, 'varint', 'int64_data', values); break;
      case 8: r.expect(w, WIRE_LEN, 'name'); t.name = r.string('name'); break;
      case 9: r.expect(w, WIRE_LEN, 'raw_data'); t.rawData = r.bytesField('raw_data'); break;
      case 10: r.repeated(w, 'double', 'double_data', values); break;
      case 11: r.repeated(w, 'varint', 'uint64_data', values); break;
      case 12: r.expect(w, WIRE_LEN, 'doc_string'); t.docString = r.string('doc_string'); break;
      case 13: {
        r.expect(w, WIRE_LEN, 'external_data');
        const [k, v] = readStringEntry(r.sub('external_data', `${r.where}.external_data`));
        ext[k] = v;
        break;
      }
      case 14: r.expect(w, WIRE_VARINT, 'data_location'); location = r.varint('data_location'); break;
      default: r.skip(w, `field ${f}`);
    }
  }
  t.dtype = ONNX_DTYPE[t.dataType] ?? 'unknown';
  if (values.length) t.values = values;
  if (strings.length) t.strings = strings;
  const where = `${r.where}${t.name ? ` ('${t.name}')` : ''}`;
  if (t.dims.some((d) => d < 0 || !Number.isInteger(d))) throw new WireError(where, `dims [${t.dims.join(',')}] has a negative dimension`);
  if (location === 1) {
    if (ext['location'] === undefined) throw new WireError(where, 'data_location is EXTERNAL but external_data has no "location" entry');
    const e: OnnxExternalData = { location: ext['location'] };
    for (const k of ['offset', 'length'] as const) {
      if (ext[k] !== undefined) {
        const n = Number(ext[k]);
        if (!Number.isInteger(n) || n < 0) throw new WireError(where, `external_data ${k} '${ext[k]}' is not a byte count`);
        e[k] = n;
      }
    }
    if (ext['checksum'] !== undefined) e.checksum = ext['checksum'];
    t.external = e;
  } else if (t.rawData) {
    const size = ({ 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1 } as Record<number, number>)[t.dataType];
    const count = t.dims.reduce((a, b) => a * b, 1);
    if (size !== undefined && t.rawData.length !== count * size) {
      throw new WireError(where, `raw_data holds ${t.rawData.length} bytes but dims [${t.dims.join(',')}] of ${ONNX_DTYPE_NAME[t.dataType]} need ${count * size}`);
    }
  }
  return t;
}

function readValueInfo(r: WireReader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', kind: 'none', elemType: 0, dtype: 'unknown', shape: [], hasShape: false };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) v.name = r.string('name');
    else if (f === 2 && w === WIRE_LEN) readTypeProto(r.sub('type', `${r.where}.type`), v);
    else r.skip(w, `field ${f}`);
  }
  return v;
}

function readTypeProto(r: WireReader, v: OnnxValueInfo): void {
  while (!r.done()) {
    const [f, w] = r.tag();
    if ((f === 1 || f === 8) && w === WIRE_LEN) {
      v.kind = f === 1 ? 'tensor' : 'sparse_tensor';
      const t = r.sub('tensor_type', `${r.where}.tensor_type`);
      while (!t.done()) {
        const [ff, ww] = t.tag();
        if (ff === 1 && ww === WIRE_VARINT) { v.elemType = t.varint('elem_type'); v.dtype = ONNX_DTYPE[v.elemType] ?? 'unknown'; }
        else if (ff === 2 && ww === WIRE_LEN) {
          v.hasShape = true;
          const s = t.sub('shape', `${t.where}.shape`);
          while (!s.done()) {
            const [f3, w3] = s.tag();
            if (f3 === 1 && w3 === WIRE_LEN) {
              const d = s.sub('dim', `${s.where}.dim[${v.shape.length}]`);
              let dim: number | string = '?';
              while (!d.done()) {
                const [f4, w4] = d.tag();
                if (f4 === 1 && w4 === WIRE_VARINT) dim = d.varint('dim_value');
                else if (f4 === 2 && w4 === WIRE_LEN) dim = d.string('dim_param') || '?';
                else d.skip(w4, `field ${f4}`);
              }
              v.shape.push(dim);
            } else s.skip(w3, `field ${f3}`);
          }
        } else t.skip(ww, `field ${ff}`);
      }
    } else if (f === 4 && w === WIRE_LEN) { v.kind = 'sequence'; r.skip(w, 'sequence_type'); }
    else if (f === 5 && w === WIRE_LEN) { v.kind = 'map'; r.skip(w, 'map_type'); }
    else if (f === 9 && w === WIRE_LEN) { v.kind = 'optional'; r.skip(w, 'optional_type'); }
    else r.skip(w, `field ${f}`);
  }
}

/** Graph-level checks: every node input is a graph input, an initializer or an earlier node's output. */
function validateOnnx(m: OnnxModel): void {
  checkGraph(m.graph, new Set(), 'ModelProto.graph');
}

function checkGraph(g: OnnxGraph, outer: Set<string>, where: string): void {
  const known = new Set<string>(outer);
  for (const v of g.inputs) known.add(v.name);
  for (const t of g.initializers) known.add(t.name);
  const producedLater = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => { if (o && !producedLater.has(o)) producedLater.set(o, i); }));
  g.nodes.forEach((n, i) => {
    for (const inp of n.inputs) {
      if (inp === '' || known.has(inp)) continue;
      const later = producedLater.get(inp);
      if (later !== undefined) {
        throw invalid(`${where}.node[${i}] (${n.opType})`, `reads '${inp}' before node ${later} produces it (nodes must be topologically sorted: a cycle or a misordered graph)`);
      }
      // Sparse initializers and outer-scope values of nested graphs are not tracked in detail.
      if (g.sparseInitializers === 0 && outer.size === 0) {
        throw invalid(`${where}.node[${i}] (${n.opType})`, `reads '${inp}', which is not a graph input, an initializer or any node's output`);
      }
    }
    for (const o of n.outputs) if (o) known.add(o);
    for (const a of n.attributes) {
      if (a.type === 'graph') checkGraph(a.value, known, `${where}.node[${i}].attribute '${a.name}'`);
      if (a.type === 'graphs') a.value.forEach((sg, k) => checkGraph(sg, known, `${where}.node[${i}].attribute '${a.name}'[${k}]`));
    }
  });
}
