/**
 * TF Serving's --model_config_file: a text-format ModelServerConfig holding a model_config_list.
 * A small protobuf text-format reader (fields `name: value`, messages `name { ... }` or
 * `name: { ... }`, repeated fields, # comments) and the fields reef serves: name, base_path,
 * model_platform, model_version_policy (latest / all / specific), version_labels.
 */
import { isAbsolute, dirname, resolve } from 'node:path';
import { ReefError } from '../errors.js';
import { checkModelName, type ModelSource, type VersionPolicy } from './repository.js';

export type Value = string | number | boolean | Message;
export interface Message {
  [field: string]: Value[];
}

export class Reader {
  pos = 0;
  /** Where each field of each message starts ('' = the message itself), for messages about meaning. */
  readonly where = new WeakMap<Message, Map<string, number>>();
  constructor(readonly text: string, readonly file: string, readonly type = 'tensorflow.serving.ModelServerConfig') {}

  /** Fails pointing at a field of a message (or at the message). */
  failAt(msg: Message, field: string, text: string): never {
    const at = this.where.get(msg);
    this.pos = at?.get(field) ?? at?.get('') ?? this.pos;
    return this.fail(text);
  }

  fail(msg: string): never {
    const before = this.text.slice(0, this.pos);
    const line = before.split('\n').length;
    const col = this.pos - before.lastIndexOf('\n');
    throw new ReefError('REEF_SERVE_CONFIG_INVALID', `Error parsing text-format ${this.type}: ${this.file}:${line}:${col}: ${msg}`);
  }

  skip(): void {
    for (;;) {
      while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
      if (this.text[this.pos] === '#') {
        while (this.pos < this.text.length && this.text[this.pos] !== '\n') this.pos++;
        continue;
      }
      return;
    }
  }

  message(end: string | null): Message {
    const msg: Message = {};
    const at = new Map<string, number>([['', this.pos]]);
    this.where.set(msg, at);
    for (;;) {
      this.skip();
      if (this.pos >= this.text.length) {
        if (end) this.fail(`expected "${end}" before the end of the file`);
        return msg;
      }
      const c = this.text[this.pos];
      if (end && c === end) {
        this.pos++;
        return msg;
      }
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
      if (!m) this.fail(`expected a field name but found "${c}"`);
      const name = m[0];
      if (!at.has(name)) at.set(name, this.pos);
      this.pos += name.length;
      this.skip();
      let colon = false;
      if (this.text[this.pos] === ':') {
        colon = true;
        this.pos++;
        this.skip();
      }
      const open = this.text[this.pos];
      if (open === '[') {
        // A repeated field written as a list: `dims: [ 1, 28, 28 ]`, `input [ { ... }, { ... } ]`.
        this.pos++;
        const list = (msg[name] ??= []);
        for (;;) {
          this.skip();
          if (this.text[this.pos] === ']') {
            this.pos++;
            break;
          }
          list.push(this.value(name, true));
          this.skip();
          if (this.text[this.pos] === ',') this.pos++;
          else if (this.text[this.pos] !== ']') this.fail(`expected "," or "]" in the list of field "${name}"`);
        }
      } else (msg[name] ??= []).push(this.value(name, colon));
      this.skip();
      if (this.text[this.pos] === ',' || this.text[this.pos] === ';') this.pos++;
    }
  }

  /** A message (`{...}` / `<...>`) or, after a colon, a scalar. */
  value(name: string, colon: boolean): Value {
    const open = this.text[this.pos];
    if (open === '{' || open === '<') {
      this.pos++;
      return this.message(open === '{' ? '}' : '>');
    }
    if (!colon) this.fail(`expected ":" after field "${name}"`);
    return this.scalar();
  }

  scalar(): Value {
    const c = this.text[this.pos];
    if (c === '"' || c === "'") {
      let out = '';
      this.pos++;
      while (this.pos < this.text.length && this.text[this.pos] !== c) {
        if (this.text[this.pos] === '\\') {
          this.pos++;
          const e = this.text[this.pos];
          out += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        } else out += this.text[this.pos];
        this.pos++;
      }
      if (this.pos >= this.text.length) this.fail('unterminated string');
      this.pos++;
      return out;
    }
    const m = /^[-+]?[A-Za-z0-9_.]+/.exec(this.text.slice(this.pos));
    if (!m) this.fail(`expected a value but found "${c ?? 'end of file'}"`);
    this.pos += m[0].length;
    if (/^[-+]?\d+$/.test(m[0])) return Number(m[0]);
    if (m[0] === 'true' || m[0] === 'false') return m[0] === 'true';
    return m[0];
  }
}

const CONFIG_FIELDS = new Set(['name', 'base_path', 'model_platform', 'model_version_policy', 'version_labels', 'model_type', 'logging_config']);

export function one<T extends Value>(r: Reader, msg: Message, field: string, kind: 'string' | 'number' | 'message'): T | undefined {
  const v = msg[field];
  if (!v) return undefined;
  if (v.length > 1) r.failAt(msg, field, `field "${field}" is given ${v.length} times`);
  const ok = kind === 'message' ? typeof v[0] === 'object' : typeof v[0] === kind;
  if (!ok) r.failAt(msg, field, `field "${field}" must be a ${kind}`);
  return v[0] as T;
}

/** A version policy message (TF Serving's model_version_policy, Triton's version_policy): latest / all / specific. */
export function versionPolicy(r: Reader, pol: Message, what: string): VersionPolicy {
  const kinds = Object.keys(pol);
  if (kinds.length !== 1) r.failAt(pol, '', `${what} needs exactly one of latest, all, specific`);
  const k = kinds[0];
  const body = pol[k][0] as Message;
  if (typeof body !== 'object') r.failAt(pol, k, `${what}: ${k} must be a message`);
  if (k === 'latest') {
    const n = one<number>(r, body, 'num_versions', 'number') ?? 1;
    if (n < 1) r.failAt(body, 'num_versions', `${what}: latest.num_versions must be at least 1`);
    return { kind: 'latest', n };
  }
  if (k === 'all') return { kind: 'all' };
  if (k === 'specific') {
    const vs = (body.versions ?? []).map((v) => (typeof v === 'number' ? v : r.failAt(body, 'versions', `${what}: versions must be numbers`)));
    if (vs.length === 0) r.failAt(body, '', `${what}: specific needs at least one versions entry`);
    return { kind: 'specific', versions: vs };
  }
  return r.failAt(pol, k, `${what}: unknown policy "${k}" (latest, all or specific)`);
}

/** Parses a model_config_list file into model sources; relative base paths are read from the file's folder. */
export function parseModelConfig(text: string, file: string): ModelSource[] {
  const r: Reader = new Reader(text, file);
  const top = r.message(null);
  for (const k of Object.keys(top)) if (k !== 'model_config_list') r.failAt(top, k, `unsupported field "${k}" (reef reads model_config_list)`);
  const list = one<Message>(r, top, 'model_config_list', 'message');
  if (!list) r.fail('no model_config_list');
  const out: ModelSource[] = [];
  for (const cv of (list.config ?? [])) {
    if (typeof cv !== 'object') r.fail('config must be a message');
    const c = cv as Message;
    for (const k of Object.keys(c)) if (!CONFIG_FIELDS.has(k)) r.failAt(c, k, `unknown field "${k}" in config`);
    const name = one<string>(r, c, 'name', 'string');
    const base = one<string>(r, c, 'base_path', 'string');
    if (!name) r.failAt(c, '', 'a config has no name');
    if (!base) r.failAt(c, '', `config "${name}" has no base_path`);
    try {
      checkModelName(name);
    } catch (e) {
      r.failAt(c, 'name', (e as Error).message);
    }
    const platform = one<string>(r, c, 'model_platform', 'string');
    if (platform !== undefined && !['tensorflow', 'tflite', 'reef', 'onnx'].includes(platform)) {
      r.failAt(c, 'model_platform', `config "${name}": model_platform "${platform}" is not served by reef (tensorflow, tflite, reef or onnx)`);
    }
    const pol = one<Message>(r, c, 'model_version_policy', 'message');
    const policy = pol ? versionPolicy(r, pol, `config "${name}": model_version_policy`) : { kind: 'latest', n: 1 } as VersionPolicy;
    const labels: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const lv of c.version_labels ?? []) {
      if (typeof lv !== 'object') r.fail('version_labels must be a message');
      const l = lv as Message;
      const key = one<string>(r, l, 'key', 'string');
      const value = one<number>(r, l, 'value', 'number');
      if (!key || value === undefined) r.fail(`config "${name}": version_labels needs a key and a numeric value`);
      labels[key] = value;
    }
    out.push({ name, basePath: isAbsolute(base) ? base : resolve(dirname(file), base), policy, labels });
  }
  if (out.length === 0) r.fail('model_config_list has no config');
  return out;
}
