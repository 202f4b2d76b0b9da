/**
 * Triton's model configuration (`config.pbtxt` beside the version folders of a --model-repository
 * model; Triton's docs/user_guide/model_configuration.md, proto `inference.ModelConfig`): read with
 * the same text-format reader as TF Serving's config, then checked against the model file when a
 * version loads. Fields reef acts on: name (must be the folder's), platform / backend (must fit the
 * model file), max_batch_size (rows per request; the model's batch dimension must then be 1),
 * input / output (name, data_type, dims: each must match the model; outputs may be a subset),
 * version_policy, default_model_filename, instance_group count (interpreters), output
 * label_filename (labels for classification). Fields that tune Triton's own scheduler
 * (dynamic_batching, optimization, ...) are read and ignored. A mismatch is a
 * REEF_SERVE_CONFIG_INVALID error naming the file and the field, e.g. `input[0].dims`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReefError } from '../errors.js';
import { parseLabels } from '../labels.js';
import type { DType } from '../types.js';
import { Reader, one, versionPolicy, type Message } from './config.js';
import type { IoSpec, Platform } from './model.js';
import type { VersionPolicy } from './repository.js';
import { shapeText } from './tensor.js';

/** Triton's TYPE_* data types and reef's dtypes. */
export const TRITON_DTYPE: Record<string, DType> = {
  TYPE_BOOL: 'bool', TYPE_UINT8: 'uint8', TYPE_UINT32: 'uint32', TYPE_UINT64: 'uint64', TYPE_INT8: 'int8',
  TYPE_INT16: 'int16', TYPE_INT32: 'int32', TYPE_INT64: 'int64', TYPE_FP16: 'float16', TYPE_FP32: 'float32',
  TYPE_FP64: 'float64', TYPE_STRING: 'string',
};
const TRITON_TYPE_OF = Object.fromEntries(Object.entries(TRITON_DTYPE).map(([k, v]) => [v, k])) as Partial<Record<DType, string>>;

/** platform / backend words -> what must run the model (null: any). */
const PLATFORMS: Record<string, Platform | null> = {
  onnxruntime_onnx: 'onnxruntime_onnx', tensorflow_lite: 'tensorflow_lite', tflite: 'tensorflow_lite', reef_bundle: 'reef_bundle',
};
const BACKENDS: Record<string, Platform | null> = {
  onnxruntime: 'onnxruntime_onnx', tflite: 'tensorflow_lite', armnn_tflite: 'tensorflow_lite', reef: null,
};

const TOP_FIELDS = new Set([
  'name', 'platform', 'backend', 'max_batch_size', 'input', 'output', 'version_policy', 'default_model_filename',
  'instance_group', 'label_filename',
  // Triton's own scheduling and tuning: read, not acted on.
  'dynamic_batching', 'sequence_batching', 'ensemble_scheduling', 'optimization', 'parameters', 'model_warmup',
  'model_transaction_policy', 'response_cache', 'model_operations', 'model_repository_agents', 'model_metrics',
  'cc_model_filenames', 'metric_tags', 'runtime', 'batch_input', 'batch_output',
]);
const TENSOR_FIELDS = new Set(['name', 'data_type', 'dims', 'format', 'reshape', 'is_shape_tensor', 'allow_ragged_batch', 'optional', 'label_filename', 'is_non_linear_format_io']);

export interface TritonTensor {
  name: string;
  dtype: DType;
  dims: number[];
  /** Where it is in the file, for messages: "input[0]". */
  field: string;
}

export interface TritonConfig {
  file: string;
  name: string;
  /** The platform or backend word given, and what it requires. */
  runtime: { field: 'platform' | 'backend'; word: string; platform: Platform | null } | null;
  maxBatchSize: number;
  inputs: TritonTensor[];
  outputs: TritonTensor[];
  policy: VersionPolicy | null;
  defaultModelFilename: string | null;
  instances: number | null;
  /** Labels from an output's label_filename (read from the model folder). */
  labels: string[] | null;
}

function bad(file: string, field: string, msg: string): ReefError {
  return new ReefError('REEF_SERVE_CONFIG_INVALID', `${file}: ${msg} (field ${field})`);
}

function tensors(r: Reader, top: Message, kind: 'input' | 'output'): TritonTensor[] {
  return (top[kind] ?? []).map((v, i) => {
    const field = `${kind}[${i}]`;
    if (typeof v !== 'object') r.failAt(top, kind, `${field} must be a message`);
    const m = v as Message;
    for (const k of Object.keys(m)) if (!TENSOR_FIELDS.has(k)) r.failAt(m, k, `unknown field "${k}" in ${field}`);
    const name = one<string>(r, m, 'name', 'string');
    if (!name) r.failAt(m, '', `${field} has no name`);
    const type = one<string>(r, m, 'data_type', 'string');
    if (!type) r.failAt(m, '', `${field} "${name}" has no data_type`);
    const dtype = TRITON_DTYPE[type];
    if (!dtype) r.failAt(m, 'data_type', `${field} "${name}": data_type ${type} is not one of ${Object.keys(TRITON_DTYPE).join(', ')}`);
    const dims = (m.dims ?? []).map((d) => (typeof d === 'number' && Number.isInteger(d) && d >= -1 ? d : r.failAt(m, 'dims', `${field} "${name}": dims must be integers >= -1`)));
    if (!m.dims) r.failAt(m, '', `${field} "${name}" has no dims`);
    return { name, dtype, dims, field };
  });
}

/** Parses a config.pbtxt; `folder` is the model's folder (its name must be the config's name). */
export async function readTritonConfig(file: string, folder: string, folderName: string): Promise<TritonConfig> {
  const text = await readFile(file, 'utf8');
  const r = new Reader(text, file, 'inference.ModelConfig');
  const top = r.message(null);
  for (const k of Object.keys(top)) if (!TOP_FIELDS.has(k)) r.failAt(top, k, `unknown field "${k}"`);
  const name = one<string>(r, top, 'name', 'string') ?? folderName;
  if (name !== folderName) r.failAt(top, 'name', `name "${name}" is not the model folder's name "${folderName}"`);
  const platform = one<string>(r, top, 'platform', 'string');
  const backend = one<string>(r, top, 'backend', 'string');
  let runtime: TritonConfig['runtime'] = null;
  if (platform !== undefined) {
    if (!(platform in PLATFORMS)) r.failAt(top, 'platform', `platform "${platform}" is not served by reef (${Object.keys(PLATFORMS).join(', ')})`);
    runtime = { field: 'platform', word: platform, platform: PLATFORMS[platform] };
  }
  if (backend !== undefined) {
    if (!(backend in BACKENDS)) r.failAt(top, 'backend', `backend "${backend}" is not served by reef (${Object.keys(BACKENDS).join(', ')})`);
    if (runtime && BACKENDS[backend] !== runtime.platform && BACKENDS[backend] !== null) {
      r.failAt(top, 'backend', `backend "${backend}" contradicts platform "${platform}"`);
    }
    runtime ??= { field: 'backend', word: backend, platform: BACKENDS[backend] };
  }
  const maxBatchSize = one<number>(r, top, 'max_batch_size', 'number') ?? 0;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 0) r.failAt(top, 'max_batch_size', 'max_batch_size must be an integer >= 0');
  const pol = one<Message>(r, top, 'version_policy', 'message');
  let instances: number | null = null;
  for (const gv of top.instance_group ?? []) {
    if (typeof gv !== 'object') r.failAt(top, 'instance_group', 'instance_group must be a message');
    const g = gv as Message;
    const kind = one<string>(r, g, 'kind', 'string');
    if (kind !== undefined && !['KIND_CPU', 'KIND_AUTO', 'KIND_MODEL'].includes(kind)) {
      r.failAt(g, 'kind', `instance_group kind ${kind} is not served by reef (KIND_CPU, KIND_AUTO, KIND_MODEL)`);
    }
    const count = one<number>(r, g, 'count', 'number') ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 64) r.failAt(g, 'count', 'instance_group count must be an integer from 1 to 64');
    instances = (instances ?? 0) + count;
  }
  const inputs = tensors(r, top, 'input');
  const outputs = tensors(r, top, 'output');
  let labels: string[] | null = null;
  for (const [i, o] of (top.output ?? []).entries()) {
    const lf = one<string>(r, o as Message, 'label_filename', 'string');
    if (lf === undefined) continue;
    if (lf.includes('/') || lf.startsWith('.')) r.failAt(o as Message, 'label_filename', `output[${i}] label_filename must be a file name in the model folder`);
    try {
      labels = parseLabels(await readFile(join(folder, lf), 'utf8'));
    } catch (e) {
      throw bad(file, `output[${i}].label_filename`, `cannot read ${join(folder, lf)}: ${(e as Error).message}`);
    }
  }
  const dmf = one<string>(r, top, 'default_model_filename', 'string') ?? null;
  if (dmf !== null && (dmf.includes('/') || dmf.startsWith('.'))) r.failAt(top, 'default_model_filename', 'default_model_filename must be a file name');
  return {
    file, name, runtime, maxBatchSize, inputs, outputs, labels, instances, defaultModelFilename: dmf,
    policy: pol ? versionPolicy(r, pol, 'version_policy') : null,
  };
}

/**
 * Checks a loaded model against its config.pbtxt: the platform, every input (all of them, by name),
 * the outputs listed, data types and dims (-1 matches any size). With max_batch_size > 0 the dims
 * leave out the batch dimension, which must be 1 in the model (reef runs one row per invoke).
 */
export function checkTritonConfig(cfg: TritonConfig, model: { path: string; platform: Platform; inputs: readonly IoSpec[]; outputs: readonly IoSpec[] }): void {
  const { file } = cfg;
  if (cfg.runtime?.platform && cfg.runtime.platform !== model.platform) {
    throw bad(file, cfg.runtime.field, `${cfg.runtime.field} "${cfg.runtime.word}" does not fit ${model.path}, which runs as ${model.platform}`);
  }
  const check = (t: TritonTensor, specs: readonly IoSpec[], kind: string) => {
    const spec = specs.find((s) => s.name === t.name) ?? specs.find((s) => s.tensorName === t.name);
    if (!spec) throw bad(file, `${t.field}.name`, `${t.field} "${t.name}" is not an ${kind} of the model; its ${kind}s are ${specs.map((s) => `"${s.name}"`).join(', ')}`);
    if (spec.dtype !== t.dtype) {
      throw bad(file, `${t.field}.data_type`, `${t.field} "${t.name}" has data_type ${TRITON_TYPE_OF[t.dtype]} but the model's ${kind} is ${TRITON_TYPE_OF[spec.dtype] ?? spec.dtype}`);
    }
    if (cfg.maxBatchSize > 0 && spec.shape[0] !== 1) {
      throw bad(file, 'max_batch_size', `max_batch_size ${cfg.maxBatchSize} needs a batch dimension of 1 in the model, but ${kind} "${spec.name}" has shape ${shapeText(spec.shape)}`);
    }
    const want = cfg.maxBatchSize > 0 ? spec.shape.slice(1) : spec.shape;
    if (t.dims.length !== want.length || t.dims.some((d, i) => d !== -1 && d !== want[i])) {
      const batch = cfg.maxBatchSize > 0 ? ` (without the batch dimension, as max_batch_size ${cfg.maxBatchSize} asks)` : '';
      throw bad(file, `${t.field}.dims`, `${t.field} "${t.name}" has dims ${shapeText(t.dims)} but the model's ${kind} has ${shapeText(want)}${batch}`);
    }
    return spec;
  };
  const seen = new Set(cfg.inputs.map((t) => check(t, model.inputs, 'input').name));
  if (cfg.inputs.length > 0) {
    const missing = model.inputs.find((s) => !seen.has(s.name));
    if (missing) throw bad(file, 'input', `the model's input "${missing.name}" is not in the config`);
  }
  for (const t of cfg.outputs) check(t, model.outputs, 'output');
}
