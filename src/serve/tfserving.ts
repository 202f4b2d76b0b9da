/**
 * TensorFlow Serving's REST API (v1), a thin adapter over the data plane. Paths are matched with
 * TF Serving's own regular expressions (http_rest_api_handler.cc); request JSON is read with its
 * rules and messages (json_tensor.cc): row ("instances") and columnar ("inputs") formats, named
 * inputs, {"b64": ...} values, NaN/Infinity tokens; classify and regress take tf.Example-style
 * "examples" whose features name the model's inputs.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ReefError } from '../errors.js';
import type { DataPlane } from './dataplane.js';
import { formatFloat, nestedJson, parseJson } from './json.js';
import { DEFAULT_SIGNATURE, type IoSpec, type ServedModel } from './model.js';
import {
  TF_DTYPE, allocate, denseShape, elementCount, fillFlat, fillNested, isB64, jsonText, shapeText,
  type WireTensor,
} from './tensor.js';
import type { VersionEntry } from './repository.js';

const PREDICT_RE = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?:(classify|regress|predict)$/i;
const STATUS_RE = /^\/v1\/models(?:\/([^/:]+))?(?:\/versions\/(\d+)|\/labels\/([^/:]+))?(\/metadata)?$/i;

export interface RequestTags {
  model?: string;
  version?: string;
  protocol?: string;
}

function bad(msg: string): ReefError {
  return new ReefError('REEF_SERVE_BAD_REQUEST', msg);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw bad(`Failed to convert version: ${text} to numeric.`);
  return n;
}

/** The body as a JSON object, with TF Serving's messages. */
function bodyObject(body: unknown, model: ServedModel): Record<string, unknown> {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : '';
  const doc = parseJson(text, model.jsonLimit());
  if (!isObject(doc)) throw bad(`JSON Value: ${jsonText(doc)} Is not object`);
  if ('signature_name' in doc && typeof doc.signature_name !== 'string') {
    throw bad(`JSON Value: ${jsonText(doc)} not formatted correctly. 'signature_name' key must be a string value.`);
  }
  return doc;
}

function checkSignature(model: ServedModel, doc: Record<string, unknown>): void {
  const sig = (doc.signature_name as string | undefined) || DEFAULT_SIGNATURE;
  if (sig !== model.signatureKey) throw bad(`Serving signature name: "${sig}" not found in signature def`);
}

/** One tensor from a value, its shape checked against the model before allocation. */
function tensorFrom(model: ServedModel, spec: IoSpec, value: unknown): WireTensor {
  if (isB64(value) && spec.dtype !== 'string') {
    throw bad(`JSON Value: ${jsonText(value)} Type: Object is not of expected type: ${spec.dtype === 'float32' ? 'float' : spec.dtype}`);
  }
  const shape = denseShape(value);
  model.rowsFor(spec, shape);
  const data = allocate(spec.dtype, elementCount(shape));
  fillNested(value, shape, spec.dtype, data);
  return { name: spec.name, dtype: spec.dtype, shape, data };
}

/** "instances": each element one row (json_tensor.cc FillTensorMapFromInstancesList). */
function fromInstances(model: ServedModel, list: unknown[]): Map<string, WireTensor> {
  const named = isObject(list[0]) && !isB64(list[0]);
  if (!named && model.inputs.length > 1) {
    throw bad('instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map');
  }
  const names = model.inputs.map((s) => s.name).sort();
  // Pass 1: shapes only, so sizes are checked before anything is allocated.
  const shapes = new Map<string, number[]>();
  list.forEach((elem, i) => {
    const items: Array<[string, unknown]> = [];
    if (named) {
      if (!isObject(elem) || isB64(elem)) throw bad(`Expecting object but got list at item ${i} of input list`);
      const keys = Object.keys(elem).sort();
      for (const k of keys) {
        if (!model.input(k)) {
          throw bad(`Failed to process element: ${i} key: ${k} of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: ${k}`);
        }
      }
      // A key is an input's signature key or its tensor name: compared by the input it names.
      const canonical = keys.map((k) => (model.input(k) as IoSpec).name).sort();
      if (canonical.join(',') !== names.join(',')) {
        throw bad(`Failed to process element: ${i} of 'instances' list. JSON object: ${jsonText(elem)} keys must be equal to: ${names.join(',')}`);
      }
      for (const k of keys) items.push([(model.input(k) as IoSpec).name, elem[k]]);
    } else {
      if (isObject(elem) && !isB64(elem)) throw bad(`Expecting value/list but got object at item ${i} of input list`);
      items.push([model.inputs[0].name, elem]);
    }
    for (const [k, v] of items) {
      const s = denseShape(v);
      const prev = shapes.get(k);
      const where = named ? `Failed to process element: ${i} key: ${k} of 'instances' list. Error: INVALID_ARGUMENT: ` : `Failed to process element: ${i} of 'instances' list. Error: INVALID_ARGUMENT: `;
      if (!prev) shapes.set(k, s);
      else if (elementCount(prev) !== elementCount(s)) throw bad(`${where}Expecting tensor size: ${elementCount(prev)} but got: ${elementCount(s)}`);
      else if (shapeText(prev) !== shapeText(s)) throw bad(`${where}Expecting shape ${shapeText(prev)} but got: ${shapeText(s)}`);
    }
  });
  const out = new Map<string, WireTensor>();
  for (const spec of model.inputs) {
    const key = spec.name;
    const item = shapes.get(key) as number[];
    const valueOf = (elem: unknown): unknown => {
      if (!named) return elem;
      const o = elem as Record<string, unknown>;
      return o[Object.keys(o).find((k) => model.input(k) === spec) as string];
    };
    const shape = [list.length, ...item];
    model.rowsFor(spec, shape);
    const per = elementCount(item);
    const data = allocate(spec.dtype, per * list.length);
    list.forEach((elem, i) => {
      const v = valueOf(elem);
      if (isB64(v)) {
        throw bad(`Failed to process element: ${i} of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: ${jsonText(v)} Type: Object is not of expected type: ${spec.dtype}`);
      }
      try {
        fillNested(v, item, spec.dtype, data.subarray(i * per, (i + 1) * per));
      } catch (e) {
        const keyPart = named ? ` key: ${key}` : '';
        throw bad(`Failed to process element: ${i}${keyPart} of 'instances' list. Error: INVALID_ARGUMENT: ${(e as Error).message}`);
      }
    });
    out.set(spec.name, { name: spec.name, dtype: spec.dtype, shape, data });
  }
  return out;
}

/** "inputs": whole tensors (json_tensor.cc FillTensorMapFromInputsMap). */
function fromInputs(model: ServedModel, val: unknown): Map<string, WireTensor> {
  const out = new Map<string, WireTensor>();
  if (!isObject(val) || isB64(val)) {
    if (model.inputs.length > 1) {
      throw bad('inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map');
    }
    const spec = model.inputs[0];
    out.set(spec.name, tensorFrom(model, spec, val));
    return out;
  }
  const keyOf = (spec: IoSpec) => (spec.name in val ? spec.name : spec.tensorName in val ? spec.tensorName : null);
  for (const spec of model.inputs) {
    if (keyOf(spec) === null) throw bad(`Missing named input: ${spec.name} in 'inputs' object.`);
  }
  for (const spec of model.inputs) out.set(spec.name, tensorFrom(model, spec, val[keyOf(spec) as string]));
  return out;
}

/** Row format answer (MakeRowFormatJsonFromTensors). */
export function rowJson(outputs: WireTensor[]): string {
  let batch = -1;
  for (const t of outputs) {
    if (t.shape.length === 0) throw bad(`Tensor name: ${t.name} has no shape information `);
    if (batch >= 0 && t.shape[0] !== batch) {
      throw bad(`Tensor name: ${t.name} has inconsistent batch size: ${t.shape[0]} expecting: ${batch}`);
    }
    batch = t.shape[0];
  }
  const rows: string[] = [];
  for (let r = 0; r < batch; r++) {
    const cells = outputs.map((t) => {
      const dims = t.shape.slice(1);
      return nestedJson(t.data as ArrayLike<number>, t.dtype, dims, r * elementCount(dims));
    });
    rows.push(outputs.length > 1 ? `{${outputs.map((t, i) => `${JSON.stringify(t.name)}:${cells[i]}`).join(',')}}` : cells[0]);
  }
  return `{"predictions":[${rows.join(',')}]}`;
}

/** Columnar answer (MakeColumnarFormatJsonFromTensors). */
export function columnarJson(outputs: WireTensor[]): string {
  const cells = outputs.map((t) => nestedJson(t.data as ArrayLike<number>, t.dtype, t.shape));
  if (outputs.length === 1) return `{"outputs":${cells[0]}}`;
  return `{"outputs":{${outputs.map((t, i) => `${JSON.stringify(t.name)}:${cells[i]}`).join(',')}}}`;
}

/** tf.Example features -> one row per example for every input (classify / regress). */
function fromExamples(model: ServedModel, doc: Record<string, unknown>, method: string): Map<string, WireTensor> {
  const ex = doc.examples;
  if (ex === undefined) throw bad(`JSON Value: ${jsonText(doc)} When method is ${method}, key 'examples' is expected and was not found`);
  if (!Array.isArray(ex)) throw bad(`JSON Value: ${jsonText(doc)} Expecting 'examples' value to be an list/array`);
  if (ex.length === 0) throw bad(`JSON Value: ${jsonText(doc)} 'examples' value is an empty array`);
  const context = doc.context;
  if (context !== undefined && !isObject(context)) throw bad(`Example must be JSON object but got JSON ${Array.isArray(context) ? 'Array' : typeof context}`);
  const out = new Map<string, WireTensor>();
  for (const spec of model.inputs) {
    const per = spec.shape.length > 0 && spec.shape[0] === 1 ? elementCount(spec.shape.slice(1)) : elementCount(spec.shape);
    const shape = spec.shape.length > 0 && spec.shape[0] === 1 ? [ex.length, ...spec.shape.slice(1)] : spec.shape;
    model.rowsFor(spec, shape);
    const data = allocate(spec.dtype, per * ex.length);
    ex.forEach((e, i) => {
      if (!isObject(e)) throw bad(`Example must be JSON object but got JSON ${Array.isArray(e) ? 'Array' : e === null ? 'Null' : typeof e}`);
      const f = spec.name in e ? e[spec.name] : context && spec.name in context ? context[spec.name] : undefined;
      if (f === undefined) throw bad(`Example ${i} has no feature "${spec.name}" (the model's inputs are ${model.inputs.map((s) => `"${s.name}"`).join(', ')})`);
      fillFlat(Array.isArray(f) ? f : [f], spec.dtype, data.subarray(i * per, (i + 1) * per), spec.name);
    });
    out.set(spec.name, { name: spec.name, dtype: spec.dtype, shape, data });
  }
  return out;
}

/** TF Serving's GetModelStatus JSON for some versions. */
function statusJson(versions: VersionEntry[]): unknown {
  return {
    model_version_status: versions.map((v) => ({
      version: String(v.version),
      state: v.state,
      status: { error_code: v.errorCode, error_message: v.error },
    })),
  };
}

function tensorInfo(s: IoSpec): unknown {
  return {
    dtype: TF_DTYPE[s.dtype] ?? 'DT_INVALID',
    tensor_shape: { dim: s.shape.map((d) => ({ size: String(d), name: '' })), unknown_rank: false },
    name: s.tensorName,
  };
}

/** GetModelMetadata JSON: signature_def nesting, DT_ dtypes, sizes as strings. */
export function metadataJson(model: ServedModel): unknown {
  const map = (list: readonly IoSpec[]) => Object.fromEntries(list.map((s) => [s.name, tensorInfo(s)]));
  return {
    model_spec: { name: model.name, signature_name: '', version: String(model.version) },
    metadata: {
      signature_def: {
        signature_def: {
          [model.signatureKey]: {
            inputs: map(model.inputs), outputs: map(model.outputs), method_name: 'tensorflow/serving/predict', defaults: {},
          },
        },
      },
    },
  };
}

export function registerTfServing(app: FastifyInstance, plane: DataPlane): void {
  const send = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header('content-type', 'application/json').send(body);

  app.get('/v1/*', async (req: FastifyRequest, reply) => {
    const tags = req as unknown as { reefTags: RequestTags };
    tags.reefTags = { protocol: 'v1' };
    const path = req.url.split('?')[0];
    const m = STATUS_RE.exec(path);
    if (!m) throw bad(`Malformed request: GET ${path}`);
    const [, name, vText, label, meta] = m;
    if (!name) throw bad('Missing model name in request.');
    tags.reefTags.model = name;
    const version = parseVersion(vText);
    if (meta) {
      const model = plane.repo.resolve(name, version, label);
      tags.reefTags.version = String(model.version);
      return send(reply, 200, JSON.stringify(metadataJson(model)));
    }
    const entry = plane.repo.models.get(name);
    if (!entry || entry.versions.size === 0) {
      throw new ReefError('REEF_SERVE_NOT_FOUND', `Could not find any versions of model ${name}`);
    }
    let want = version;
    if (label !== undefined) {
      want = entry.source.labels[label];
      if (want === undefined) throw new ReefError('REEF_SERVE_NOT_FOUND', `Unrecognized servable version label: ${label}`);
    }
    let versions = [...entry.versions.values()].sort((a, b) => b.version - a.version);
    if (want !== undefined) {
      versions = versions.filter((v) => v.version === want);
      if (versions.length === 0) throw new ReefError('REEF_SERVE_NOT_FOUND', `Could not find version ${want} of model ${name}`);
    }
    return send(reply, 200, JSON.stringify(statusJson(versions)));
  });

  app.post('/v1/*', async (req, reply) => {
    const start = plane.now();
    const tags = req as unknown as { reefTags: RequestTags };
    tags.reefTags = { protocol: 'v1' };
    const path = req.url.split('?')[0];
    const m = PREDICT_RE.exec(path);
    if (!m) throw bad(`Malformed request: POST ${path}`);
    const [, name, vText, label, methodRaw] = m;
    const method = methodRaw.toLowerCase();
    tags.reefTags.model = name;
    const model = plane.repo.resolve(name, parseVersion(vText), label);
    tags.reefTags.version = String(model.version);
    const doc = bodyObject(req.body, model);
    checkSignature(model, doc);
    const deadline = plane.deadline(start, headerDeadline(req));
    if (method === 'predict') {
      const hasInstances = 'instances' in doc;
      const hasInputs = 'inputs' in doc;
      if (hasInstances && hasInputs) {
        throw bad(`JSON Value: ${jsonText(doc)} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist `);
      }
      let tensors: Map<string, WireTensor>;
      if (hasInstances) {
        if (!Array.isArray(doc.instances)) throw bad(`JSON Value: ${jsonText(doc)} Excepting 'instances' to be an list/array`);
        if (doc.instances.length === 0) throw bad(`JSON Value: ${jsonText(doc)} No values in 'instances' array`);
        tensors = fromInstances(model, doc.instances);
      } else if (hasInputs) {
        tensors = fromInputs(model, doc.inputs);
      } else {
        throw bad("Missing 'inputs' or 'instances' key");
      }
      const r = await plane.infer(model, tensors, deadline);
      return send(reply, 200, hasInstances ? rowJson(r.outputs) : columnarJson(r.outputs));
    }
    const tensors = fromExamples(model, doc, method);
    const r = await plane.infer(model, tensors, deadline);
    const out = r.outputs[0];
    if (method === 'regress') {
      const rows = tensors.values().next().value?.shape[0] ?? 1;
      if (out.data.length !== rows) {
        throw bad(`Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got ${shapeText(out.shape)}`);
      }
      const values = plane.classes(model, { ...out, shape: [rows, 1] }, 0).map((row) => formatFloat(row[0].score));
      return send(reply, 200, `{"results":[${values.join(',')}]}`);
    }
    const classes = plane.classes(model, out, 0);
    const body = classes.map((row) => `[${row.map((c) => `[${JSON.stringify(c.label)},${formatFloat(c.score)}]`).join(',')}]`);
    return send(reply, 200, `{"results":[${body.join(',')}]}`);
  });
}

/** A per-request deadline from the Request-Timeout-Ms header (reef's; TF Serving has none over REST). */
export function headerDeadline(req: FastifyRequest): number | undefined {
  const h = req.headers['request-timeout-ms'];
  if (h === undefined) return undefined;
  const n = Number(h);
  if (!Number.isFinite(n) || n <= 0) throw bad(`Expected a positive number of milliseconds for the Request-Timeout-Ms header but received "${String(h)}"`);
  return n;
}
