/**
 * KServe v2 / Open Inference Protocol (REST), a thin adapter over the data plane, with the
 * Triton extensions its clients use: binary tensor data both ways (Inference-Header-Content-Length,
 * binary_data_size, binary_data, binary_data_output, raw single-input bodies), classification
 * ("classification": N -> "score:index:label"), and the model repository (index, load, unload).
 * Body and response schemas follow kserve/open-inference-protocol open_inference_rest.yaml.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ReefError } from '../errors.js';
import { TYPED_ARRAY_FOR, type DType, type TypedArray } from '../types.js';
import type { DataPlane } from './dataplane.js';
import { elementWriter, parseJson, type JsonValueLimit } from './json.js';
import type { ServedModel } from './model.js';
import type { Repository } from './repository.js';
import {
  DTYPE_OF_V2, V2_DTYPE, allocate, bytesPerElement, countLeaves, elementCount, fillFlat, shapeText,
  type WireTensor,
} from './tensor.js';
import { headerDeadline, type RequestTags } from './tfserving.js';

export const EXTENSIONS = ['binary_tensor_data', 'classification', 'model_repository'];
const HEADER_LENGTH = 'inference-header-content-length';

function bad(msg: string): ReefError {
  return new ReefError('REEF_SERVE_BAD_REQUEST', msg);
}

const tensorSchema = {
  type: 'object', required: ['name', 'datatype', 'shape'],
  properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } },
} as const;
const modelMetadataSchema = {
  type: 'object', required: ['name', 'platform'],
  properties: {
    name: { type: 'string' }, versions: { type: 'array', items: { type: 'string' } }, platform: { type: 'string' },
    inputs: { type: 'array', items: tensorSchema }, outputs: { type: 'array', items: tensorSchema },
  },
} as const;
const errorSchema = { type: 'object', required: ['error'], properties: { error: { type: 'string' } } } as const;
const serverMetadataSchema = {
  type: 'object', required: ['name', 'version', 'extensions'],
  properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
} as const;
/** The request body as parsed (JSON header of a binary request included); `data` is optional because of binary_data_size. */
const inferRequestSchema = {
  type: 'object', required: ['inputs'],
  properties: {
    id: { type: 'string' },
    parameters: { type: 'object' },
    inputs: {
      type: 'array',
      items: {
        type: 'object', required: ['name', 'shape', 'datatype'],
        properties: {
          name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string' }, parameters: { type: 'object' }, data: {},
        },
      },
    },
    outputs: {
      type: 'array',
      items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, parameters: { type: 'object' } } },
    },
  },
} as const;

interface InferInput {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Record<string, unknown>;
  data?: unknown;
}
interface InferRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  inputs: InferInput[];
  outputs?: Array<{ name: string; parameters?: Record<string, unknown> }>;
}

const binaryOf = new WeakMap<object, Buffer>();
const RAW = Symbol('raw binary body');

/**
 * Parses a v2 infer body: JSON, or a JSON header followed by binary tensor data
 * (Inference-Header-Content-Length), or (header length 0) one raw binary input.
 */
export function parseInferBody(req: FastifyRequest, body: Buffer, limit?: JsonValueLimit): unknown {
  const h = req.headers[HEADER_LENGTH];
  if (h === undefined) return parseJson(body.toString('utf8'), limit);
  const n = Number(h);
  if (!Number.isInteger(n) || n < 0 || n > body.length) {
    throw bad(`Inference-Header-Content-Length ${String(h)} is not an integer from 0 to the body length ${body.length}`);
  }
  if (n === 0) {
    const doc = { inputs: [] as InferInput[], [RAW]: true };
    binaryOf.set(doc, body);
    return doc;
  }
  const doc = parseJson(body.subarray(0, n).toString('utf8'), limit);
  if (typeof doc === 'object' && doc !== null) binaryOf.set(doc, body.subarray(n));
  return doc;
}

function paramBool(p: Record<string, unknown> | undefined, key: string): boolean | undefined {
  const v = p?.[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(`parameter "${key}" must be a boolean but received ${JSON.stringify(v)}`);
  return v;
}

/**
 * The tensor in a request body's bytes: a view when they are aligned for the dtype (always for
 * 8-bit types), else one copy. The body is this request's own buffer and the session copies its
 * inputs at hand-over, so nothing else ever sees or changes these bytes.
 */
function viewOf(dtype: DType, bytes: Buffer, count: number): TypedArray {
  const ctor = TYPED_ARRAY_FOR[dtype] as (new (b: ArrayBufferLike, offset: number, length: number) => TypedArray) & { BYTES_PER_ELEMENT: number } | undefined;
  if (ctor && bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer, bytes.byteOffset, count);
  const data = allocate(dtype, count);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  return data;
}

/** Decodes the request's tensors, every size checked before allocation. */
function decodeInputs(model: ServedModel, doc: InferRequest): Map<string, WireTensor> {
  const binary = binaryOf.get(doc);
  const out = new Map<string, WireTensor>();
  if ((doc as { [RAW]?: boolean })[RAW]) {
    if (model.inputs.length !== 1) {
      throw bad(`a raw binary request (Inference-Header-Content-Length: 0) needs a model with one input; ${model.name} has ${model.inputs.length}`);
    }
    const spec = model.inputs[0];
    const bytes = binary as Buffer;
    const want = elementCount(spec.shape) * bytesPerElement(spec.dtype);
    // A model whose batch dimension is 1 takes any whole number of rows.
    const perRow = spec.shape[0] === 1 ? want : 0;
    const rows = bytes.length === want ? 1 : perRow > 0 && bytes.length > 0 && bytes.length % perRow === 0 ? bytes.length / perRow : 0;
    if (rows === 0) {
      const alt = perRow > 0 ? ` (or a multiple of it, one per row)` : '';
      throw bad(`input '${spec.name}' expects ${want} bytes of raw binary data (${V2_DTYPE[spec.dtype] ?? spec.dtype} ${shapeText(spec.shape)})${alt} but received ${bytes.length}`);
    }
    const shape = rows === 1 ? spec.shape.slice() : [rows, ...spec.shape.slice(1)];
    out.set(spec.name, { name: spec.name, dtype: spec.dtype, shape, data: viewOf(spec.dtype, bytes, elementCount(shape)) });
    return out;
  }
  let offset = 0;
  for (const inp of doc.inputs) {
    const spec = model.input(inp.name);
    if (!spec) {
      throw bad(`unexpected inference input '${inp.name}' for model '${model.name}'; its inputs are ${model.inputs.map((s) => `'${s.name}'`).join(', ')}`);
    }
    if (out.has(spec.name)) throw bad(`input '${inp.name}' is given twice`);
    const dtype: DType | undefined = DTYPE_OF_V2[inp.datatype];
    if (dtype !== spec.dtype) {
      throw bad(`input '${inp.name}' data-type is '${inp.datatype}', but model '${model.name}' expects '${V2_DTYPE[spec.dtype] ?? spec.dtype}'`);
    }
    model.rowsFor(spec, inp.shape);
    const count = elementCount(inp.shape);
    const size = inp.parameters?.binary_data_size;
    let data;
    if (size !== undefined) {
      if (!binary) throw bad(`input '${inp.name}' has binary_data_size but the request has no Inference-Header-Content-Length header`);
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw bad(`input '${inp.name}': binary_data_size must be a non-negative integer`);
      const want = count * bytesPerElement(dtype);
      if (size !== want) {
        throw bad(`input '${inp.name}' has binary_data_size ${size} but shape ${shapeText(inp.shape)} of ${inp.datatype} needs ${want} bytes`);
      }
      if (offset + size > binary.length) {
        throw bad(`input '${inp.name}': the body holds ${binary.length - offset} bytes of binary data after the header, binary_data_size says ${size}`);
      }
      data = viewOf(dtype, binary.subarray(offset, offset + size), count);
      offset += size;
    } else {
      if (inp.data === undefined) throw bad(`input '${inp.name}' has neither data nor binary_data_size`);
      const leaves = countLeaves(inp.data);
      if (leaves !== count) {
        throw bad(`input '${inp.name}' has ${leaves} elements in data but shape ${shapeText(inp.shape)} needs ${count}`);
      }
      data = allocate(dtype, count);
      fillFlat(inp.data, dtype, data, inp.name);
    }
    out.set(spec.name, { name: spec.name, dtype, shape: inp.shape.slice(), data });
  }
  if (binary && offset !== binary.length) {
    throw bad(`the body has ${binary.length - offset} bytes of binary data that no input claims`);
  }
  for (const spec of model.inputs) {
    if (!out.has(spec.name)) throw bad(`expected ${model.inputs.length} inputs but got ${out.size} inputs for model '${model.name}'; missing '${spec.name}'`);
  }
  return out;
}

function jsonData(t: WireTensor): string {
  const w = elementWriter(t.dtype);
  const parts = new Array<string>(t.data.length);
  for (let i = 0; i < t.data.length; i++) parts[i] = w(t.data[i]);
  return `[${parts.join(',')}]`;
}

function metadata(model: ServedModel, versions: string[]) {
  // With a config.pbtxt max_batch_size > 0 the batch dimension is variable, as Triton reports it.
  const batch = (model.maxBatch ?? 0) > 0;
  const t = (s: ServedModel['inputs'][number]) => ({
    name: s.name, datatype: V2_DTYPE[s.dtype] ?? s.dtype.toUpperCase(), shape: batch ? [-1, ...s.shape.slice(1)] : s.shape,
  });
  return {
    name: model.name, versions, platform: model.platform,
    inputs: model.inputs.map(t), outputs: model.outputs.map(t),
  };
}

/** A v2 model version from the URL: numeric or absent. */
export function v2Version(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw bad(`Expected a numeric model version but received "${v}"`);
  return Number(v);
}

/**
 * repo.resolve() with Triton's words for a model or version the server does not have
 * ("Request for unknown model: 'NAME' is not found"): Triton's clients check that prefix.
 */
export function resolveV2(repo: Repository, name: string, versionText: string | undefined): ServedModel {
  const version = v2Version(versionText);
  try {
    return repo.resolve(name, version);
  } catch (e) {
    if (e instanceof ReefError && e.code === 'REEF_SERVE_NOT_FOUND') {
      throw new ReefError('REEF_SERVE_NOT_FOUND',
        `Request for unknown model: '${name}'${version !== undefined ? ` version ${version}` : ''} is not found`);
    }
    throw e;
  }
}

export function registerKServe(app: FastifyInstance, plane: DataPlane): void {
  const repo = plane.repo;
  const tag = (req: FastifyRequest, model?: string, version?: string) => {
    (req as unknown as { reefTags: RequestTags }).reefTags = { protocol: 'v2', ...(model ? { model } : {}), ...(version ? { version } : {}) };
  };
  const version = v2Version;

  app.get('/v2/health/live', async (req, reply) => {
    tag(req);
    return reply.code(200).send();
  });
  app.get('/v2/health/ready', async (req, reply) => {
    tag(req);
    return reply.code(repo.ready() ? 200 : 400).send();
  });
  const serverMeta = async (req: FastifyRequest) => {
    tag(req);
    return { name: 'reef', version: plane.version, extensions: EXTENSIONS };
  };
  app.get('/v2', { schema: { response: { 200: serverMetadataSchema } } }, serverMeta);

  type P = { Params: { name: string; version?: string } };
  const modelMeta = async (req: FastifyRequest<P>) => {
    const m = resolveV2(repo, req.params.name, req.params.version);
    tag(req, m.name, String(m.version));
    const entry = repo.models.get(m.name);
    const versions = entry ? [...entry.versions.values()].filter((v) => v.state === 'AVAILABLE').map((v) => String(v.version)) : [];
    return metadata(m, versions);
  };
  const metaOpts = { schema: { response: { 200: modelMetadataSchema, '4xx': errorSchema } } };
  app.get<P>('/v2/models/:name', metaOpts, modelMeta);
  app.get<P>('/v2/models/:name/versions/:version', metaOpts, modelMeta);

  const modelReady = async (req: FastifyRequest<P>, reply: FastifyReply) => {
    tag(req, req.params.name, req.params.version);
    let ok = false;
    try {
      repo.resolve(req.params.name, version(req.params.version));
      ok = true;
    } catch (e) {
      if (!(e instanceof ReefError) || (e.code !== 'REEF_SERVE_UNAVAILABLE' && e.code !== 'REEF_SERVE_NOT_FOUND')) throw e;
    }
    return reply.code(ok ? 200 : 400).send();
  };
  app.get<P>('/v2/models/:name/ready', modelReady);
  app.get<P>('/v2/models/:name/versions/:version/ready', modelReady);

  const infer = async (req: FastifyRequest<P & { Body: InferRequest }>, reply: FastifyReply) => {
    const start = plane.now();
    tag(req, req.params.name);
    const model = resolveV2(repo, req.params.name, req.params.version);
    tag(req, model.name, String(model.version));
    const doc = req.body;
    const tensors = decodeInputs(model, doc);
    const timeoutUs = doc.parameters?.timeout;
    let deadlineMs = headerDeadline(req);
    if (timeoutUs !== undefined) {
      if (typeof timeoutUs !== 'number' || !(timeoutUs > 0)) throw bad('parameter "timeout" must be a positive number of microseconds');
      deadlineMs = timeoutUs / 1000;
    }
    // A raw binary request (Triton) is answered in binary too.
    const allBinary = paramBool(doc.parameters, 'binary_data_output') ?? (RAW in doc);
    const requested = doc.outputs?.map((o) => ({
      name: o.name,
      binary: paramBool(o.parameters, 'binary_data') ?? allBinary,
      classification: o.parameters?.classification,
    }));
    for (const o of requested ?? []) {
      if (o.classification !== undefined && (typeof o.classification !== 'number' || !Number.isInteger(o.classification) || o.classification < 1)) {
        throw bad(`output '${o.name}': parameter "classification" must be a positive integer`);
      }
    }
    const r = await plane.infer(model, tensors, plane.deadline(start, deadlineMs), requested?.map((o) => o.name));
    const bins: Buffer[] = [];
    const outs = r.outputs.map((t, i) => {
      const want = requested?.[i];
      let out: WireTensor | { name: string; dtype: 'string'; shape: number[]; strings: string[] } = t;
      if (want?.classification !== undefined) {
        const n = want.classification as number;
        const rows = plane.classes(model, t, n);
        const strings = rows.flatMap((row) => row.map((c) => `${c.score.toFixed(6)}:${c.index}${c.label ? `:${c.label}` : ''}`));
        out = { name: t.name, dtype: 'string', shape: t.shape.length > 1 ? [t.shape[0], Math.min(n, rows[0]?.length ?? n)] : [strings.length], strings };
      }
      const binary = want ? want.binary : allBinary;
      const head: Record<string, unknown> = { name: out.name, datatype: V2_DTYPE[out.dtype] ?? out.dtype, shape: out.shape };
      if ('strings' in out) {
        if (binary) {
          const parts = out.strings.map((s) => {
            const b = Buffer.from(s, 'utf8');
            const len = Buffer.alloc(4);
            len.writeUInt32LE(b.length);
            return Buffer.concat([len, b]);
          });
          const buf = Buffer.concat(parts);
          bins.push(buf);
          head.parameters = { binary_data_size: buf.length };
          return JSON.stringify(head);
        }
        return `${JSON.stringify(head).slice(0, -1)},"data":${JSON.stringify(out.strings)}}`;
      }
      if (binary) {
        const tt = out as WireTensor;
        const buf = Buffer.from(tt.data.buffer, tt.data.byteOffset, tt.data.byteLength);
        bins.push(buf);
        head.parameters = { binary_data_size: buf.length };
        return JSON.stringify(head);
      }
      return `${JSON.stringify(head).slice(0, -1)},"data":${jsonData(out as WireTensor)}}`;
    });
    const id = doc.id !== undefined ? `"id":${JSON.stringify(doc.id)},` : '';
    const json = `{${id}"model_name":${JSON.stringify(model.name)},"model_version":"${model.version}","outputs":[${outs.join(',')}]}`;
    if (bins.length === 0) return reply.header('content-type', 'application/json').send(json);
    const head = Buffer.from(json, 'utf8');
    return reply
      .header('content-type', 'application/octet-stream')
      .header('inference-header-content-length', String(head.length))
      .send(Buffer.concat([head, ...bins]));
  };
  const inferOpts = { schema: { body: inferRequestSchema } };
  app.post<P & { Body: InferRequest }>('/v2/models/:name/infer', inferOpts, infer);
  app.post<P & { Body: InferRequest }>('/v2/models/:name/versions/:version/infer', inferOpts, infer);

  // Model repository extension.
  // Triton's index: every model of the repository, loaded or not ("ready": true: only READY ones).
  app.post('/v2/repository/index', async (req) => {
    tag(req);
    const body = req.body as { ready?: unknown } | undefined;
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw bad('the index request body must be a JSON object');
    if (body?.ready !== undefined && typeof body.ready !== 'boolean') throw bad('"ready" must be true or false');
    const out: Array<{ name: string; version?: string; state: string; reason?: string }> = [];
    const names = [...new Set([...await repo.folderNames(), ...repo.models.keys()])].sort();
    for (const name of names) {
      const e = repo.models.get(name);
      if (!e) out.push({ name, state: 'UNAVAILABLE', reason: 'unloaded' });
      else if (e.versions.size === 0) out.push({ name, state: 'UNAVAILABLE', reason: e.failure ? e.failure.message : 'no version loaded' });
      for (const v of e?.versions.values() ?? []) {
        out.push({
          name, version: String(v.version), state: v.state === 'AVAILABLE' ? 'READY' : v.state === 'END' ? 'UNAVAILABLE' : v.state,
          ...(v.error ? { reason: v.error } : {}),
        });
      }
    }
    return body?.ready === true ? out.filter((x) => x.state === 'READY') : out;
  });
  app.post<P>('/v2/repository/models/:name/load', async (req, reply) => {
    tag(req, req.params.name);
    await repo.loadByName(req.params.name);
    return reply.code(200).send();
  });
  app.post<P>('/v2/repository/models/:name/unload', async (req, reply) => {
    tag(req, req.params.name);
    await repo.unloadByName(req.params.name);
    return reply.code(200).send();
  });
}
