/**
 * The model repository: one registry of models, each with versions in explicit states
 * (Triton core model_lifecycle.h; TF Serving's ModelVersionStatus states). Sources: one model file,
 * a TF Serving base path of numeric version folders, a --model_config_file, or a Triton
 * --model-repository. Reload = load the new version (and warm it up), swap, then drain and
 * unload the old; a version that fails to load leaves the previous one serving.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { ReefError } from '../errors.js';
import { ServedModel, type ServedModelOptions } from './model.js';
import { readTritonConfig, type TritonConfig } from './triton.js';

export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

/** TF Serving's model_version_policy. */
export type VersionPolicy =
  | { kind: 'latest'; n: number }
  | { kind: 'all' }
  | { kind: 'specific'; versions: number[] };

export interface ModelSource {
  name: string;
  /** A single model file (served as version 1) ... */
  file?: string;
  /** ... or a folder of numeric version folders. */
  basePath?: string;
  policy: VersionPolicy;
  /** version_labels: label -> version. */
  labels: Record<string, number>;
  /** A Triton model's config.pbtxt, checked against every version as it loads ... */
  triton?: TritonConfig;
  /** ... or why it could not be read (every version then fails with it). */
  tritonError?: ReefError;
}

export interface VersionEntry {
  version: number;
  state: VersionState;
  /** The load error (state END after a failure), '' otherwise. */
  error: string;
  errorCode: string;
  model: ServedModel | null;
  /** Fingerprint of the version folder when it was last tried (size + mtime of every file). */
  fingerprint: string;
}

export interface ModelEntry {
  source: ModelSource;
  versions: Map<number, VersionEntry>;
  /** Why the model's base path could not be read at the last look (its versions keep serving), else null. */
  failure: ReefError | null;
}

/** Names a model may have: no path separators, not "." or "..". */
export function checkModelName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(name)) {
    throw new ReefError('REEF_SERVE_CONFIG_INVALID',
      `Expected a model name of letters, digits, "_", "-" and "." (not starting with ".") but received ${JSON.stringify(name)}`);
  }
}

const MODEL_FILES = ['model.tflite', 'model.reef', 'model.onnx'];
const MODEL_EXT = new Set(['.tflite', '.reef', '.onnx']);

/** The model file in a version folder: `preferred` (Triton's default_model_filename), model.tflite / model.reef / model.onnx, else the one model file there. */
async function modelFileIn(dir: string, preferred?: string | null): Promise<string> {
  const names = (await readdir(dir)).sort();
  if (preferred) {
    if (names.includes(preferred)) return join(dir, preferred);
    throw new ReefError('REEF_SERVE_MODEL_FORMAT', `version folder ${dir} has no ${preferred} (the config's default_model_filename)`);
  }
  for (const n of MODEL_FILES) if (names.includes(n)) return join(dir, n);
  const found = names.filter((n) => MODEL_EXT.has(extname(n).toLowerCase()));
  if (found.length === 1) return join(dir, found[0]);
  throw new ReefError('REEF_SERVE_MODEL_FORMAT', found.length === 0
    ? `version folder ${dir} has no model file (model.tflite, model.reef, model.onnx or one *.tflite / *.reef / *.onnx)`
    : `version folder ${dir} has several model files (${found.join(', ')}); name the one to serve model.tflite (or model.reef, model.onnx)`);
}

/** size:mtime of every file in a folder (a folder still being written changes between two looks). */
async function fingerprint(dir: string): Promise<string> {
  const names = (await readdir(dir)).sort();
  const parts = await Promise.all(names.map(async (n) => {
    const s = await stat(join(dir, n));
    return `${n}:${s.size}:${s.mtimeMs}`;
  }));
  return parts.join('|');
}

/** Numeric version folders under a base path. */
async function versionDirs(basePath: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(basePath);
  } catch (e) {
    throw new ReefError('REEF_MODEL_NOT_FOUND', `cannot read model base path ${basePath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`);
  }
  const out: number[] = [];
  for (const n of names) {
    if (!/^\d{1,15}$/.test(n)) continue;
    if ((await stat(join(basePath, n)).catch(() => null))?.isDirectory()) out.push(Number(n));
  }
  return out.sort((a, b) => a - b);
}

function applyPolicy(policy: VersionPolicy, versions: number[]): number[] {
  if (policy.kind === 'all') return versions;
  if (policy.kind === 'specific') return versions.filter((v) => policy.versions.includes(v));
  return versions.slice(-policy.n);
}

export interface RepositoryEvents {
  /** A version finished loading (ok) or failed. */
  onLoad?(name: string, version: number, ms: number, error: ReefError | null): void;
  onUnload?(name: string, version: number): void;
}

export class Repository {
  readonly models = new Map<string, ModelEntry>();
  readonly #opts: ServedModelOptions;
  readonly #events: RepositoryEvents;
  /** Triton layout root, for the repository extension's load/index. */
  readonly root: string | null;
  #busy: Promise<void> = Promise.resolve();
  #pending = new Map<string, string>();

  constructor(opts: ServedModelOptions, events: RepositoryEvents = {}, root: string | null = null) {
    this.#opts = opts;
    this.#events = events;
    this.root = root;
  }

  /** Adds a model source (nothing is loaded until sync()). */
  add(source: ModelSource): void {
    checkModelName(source.name);
    if (this.models.has(source.name)) {
      throw new ReefError('REEF_SERVE_CONFIG_INVALID', `model name "${source.name}" is configured twice`);
    }
    this.models.set(source.name, { source, versions: new Map(), failure: null });
  }

  /**
   * Applies a new set of sources (a --model_config_file reload): models no longer named are
   * unloaded (requests in flight finish), new ones are loaded, and a model whose policy or
   * labels changed is brought to the new policy (new versions load before unwanted ones unload).
   * A model whose base path changed is unloaded and loaded again from the new path.
   * Serialised with sync().
   */
  reconfigure(sources: ModelSource[]): Promise<void> {
    for (const s of sources) checkModelName(s.name);
    const run = this.#busy.then(async () => {
      const wanted = new Map(sources.map((s) => [s.name, s]));
      for (const [name, entry] of [...this.models]) {
        const next = wanted.get(name);
        if (!next || next.basePath !== entry.source.basePath || next.file !== entry.source.file) await this.#unload(name);
      }
      for (const s of sources) {
        const entry = this.models.get(s.name);
        if (entry) entry.source = s;
        else this.models.set(s.name, { source: s, versions: new Map(), failure: null });
      }
      await this.#syncAll(true);
    });
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** One model folder of a Triton repository, with its config.pbtxt when it has one. */
  static async tritonSource(root: string, name: string): Promise<ModelSource> {
    checkModelName(name);
    const basePath = join(root, name);
    const src: ModelSource = { name, basePath, policy: { kind: 'latest', n: 1 }, labels: {} };
    const file = join(basePath, 'config.pbtxt');
    if (!(await stat(file).catch(() => null))) return src;
    try {
      src.triton = await readTritonConfig(file, basePath, name);
      if (src.triton.policy) src.policy = src.triton.policy;
    } catch (e) {
      src.tritonError = e instanceof ReefError ? e : new ReefError('REEF_SERVE_CONFIG_INVALID', `${file}: ${(e as Error).message}`);
    }
    return src;
  }

  /** Triton layout: every folder of `root` is a model with numeric version folders. */
  static async tritonSources(root: string): Promise<ModelSource[]> {
    const names = (await readdir(root).catch((e: NodeJS.ErrnoException) => {
      throw new ReefError('REEF_MODEL_NOT_FOUND', `cannot read model repository ${root}: ${e.code === 'ENOENT' ? 'no such folder' : e.message}`);
    })).sort();
    const out: ModelSource[] = [];
    for (const n of names) {
      if (n.startsWith('.')) continue;
      if (!(await stat(join(root, n))).isDirectory()) continue;
      out.push(await Repository.tritonSource(root, n));
    }
    if (out.length === 0) {
      throw new ReefError('REEF_SERVE_MODEL_FORMAT', `model repository ${root} holds no model folders; lay it out as ${join(root, '<model>', '1', 'model.tflite')}`);
    }
    return out;
  }

  /**
   * Brings every model to its policy: loads new versions, then unloads the ones no longer wanted
   * (only once a wanted version is AVAILABLE). `initial`: load what is there without waiting for
   * folders to be stable. Serialised: one sync at a time.
   */
  sync(initial = false): Promise<void> {
    const run = this.#busy.then(() => this.#syncAll(initial));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Every model, each on its own: one model's missing folder is its failure, not the others'. */
  async #syncAll(initial: boolean): Promise<void> {
    for (const entry of [...this.models.values()]) {
      if (this.#stopped) return;
      await this.#syncModel(entry, initial);
    }
  }

  #stopped = false;

  /** Loads nothing more (a signal during start-up): the load under way finishes, the rest are skipped. */
  stopLoading(): void {
    this.#stopped = true;
  }

  /** Models whose base path could not be read at the last look, with why. */
  failures(): Array<{ name: string; error: ReefError }> {
    return [...this.models.values()].filter((e) => e.failure).map((e) => ({ name: e.source.name, error: e.failure as ReefError }));
  }

  async #syncModel(entry: ModelEntry, initial: boolean, reload = false): Promise<void> {
    const src = entry.source;
    let present: number[];
    if (src.file) present = [1];
    else {
      try {
        present = await versionDirs(src.basePath as string);
        entry.failure = null;
      } catch (e) {
        // A base path that vanished (or is not there yet) keeps what is served; the status shows why.
        entry.failure = e instanceof ReefError ? e : new ReefError('REEF_MODEL_NOT_FOUND', String(e));
        return;
      }
    }
    const wanted = applyPolicy(src.policy, present);
    for (const v of wanted) {
      if (this.#stopped) return;
      const cur = entry.versions.get(v);
      if (cur && cur.state === 'LOADING') continue;
      if (cur && cur.state === 'AVAILABLE' && !reload) continue;
      const dir = src.file ? src.file : join(src.basePath as string, String(v));
      let fp: string;
      try {
        fp = src.file ? String((await stat(dir)).mtimeMs) : await fingerprint(dir);
      } catch {
        continue;
      }
      if (cur && cur.state === 'END' && cur.fingerprint === fp && !reload) continue; // failed before, unchanged since
      if (!initial) {
        // A folder is loaded only once it looks the same on two polls in a row (not half-written).
        const key = `${src.name}/${v}`;
        if (this.#pending.get(key) !== fp) {
          this.#pending.set(key, fp);
          continue;
        }
        this.#pending.delete(key);
      }
      await this.#loadVersion(entry, v, dir, fp);
    }
    const anyWantedUp = wanted.some((v) => entry.versions.get(v)?.state === 'AVAILABLE');
    if (!anyWantedUp) return;
    for (const [v, ve] of entry.versions) {
      if (wanted.includes(v)) continue;
      if (ve.state === 'AVAILABLE' && ve.model) {
        ve.state = 'UNLOADING';
        const m = ve.model;
        await m.retire();
        ve.model = null;
        ve.state = 'END';
        this.#events.onUnload?.(src.name, v);
      }
      if (ve.state === 'END') entry.versions.delete(v);
    }
  }

  async #loadVersion(entry: ModelEntry, v: number, dirOrFile: string, fp: string): Promise<void> {
    const ve: VersionEntry = { version: v, state: 'LOADING', error: '', errorCode: 'OK', model: null, fingerprint: fp };
    const prev = entry.versions.get(v);
    // A version being reloaded keeps serving until its new load is up, then drains and unloads.
    if (prev?.state !== 'AVAILABLE') entry.versions.set(v, ve);
    const t0 = performance.now();
    try {
      const { triton, tritonError } = entry.source;
      if (tritonError) throw tritonError;
      const file = entry.source.file ?? await modelFileIn(dirOrFile, triton?.defaultModelFilename);
      ve.model = await ServedModel.open(entry.source.name, v, file, triton ? {
        ...this.#opts, triton, ...(triton.instances !== null ? { load: { ...this.#opts.load, pool: triton.instances } } : {}),
      } : this.#opts);
      ve.state = 'AVAILABLE';
      entry.versions.set(v, ve);
      this.#events.onLoad?.(entry.source.name, v, performance.now() - t0, null);
      if (prev?.model && prev.state === 'AVAILABLE') {
        prev.state = 'UNLOADING';
        await prev.model.retire();
        prev.model = null;
        prev.state = 'END';
      }
    } catch (e) {
      const err = e instanceof ReefError ? e : new ReefError('REEF_INVALID_STATE', String((e as Error)?.message ?? e));
      ve.state = 'END';
      ve.error = `${err.code}: ${err.message}`;
      ve.errorCode = 'UNKNOWN';
      if (prev?.state === 'AVAILABLE') entry.versions.set(v, prev);
      this.#events.onLoad?.(entry.source.name, v, performance.now() - t0, err);
    }
  }

  /** The highest AVAILABLE version of a model, or a specific one, or the one a label names. */
  resolve(name: string, version?: number, label?: string): ServedModel {
    const entry = this.models.get(name);
    const what = label !== undefined ? `Labeled(${name}, ${label})` : version !== undefined ? `Specific(${name}, ${version})` : `Latest(${name})`;
    if (!entry) throw new ReefError('REEF_SERVE_NOT_FOUND', `Servable not found for request: ${what}`);
    if (label !== undefined) {
      const v = entry.source.labels[label];
      if (v === undefined) throw new ReefError('REEF_SERVE_NOT_FOUND', `Unrecognized servable version label: ${label}`);
      version = v;
    }
    if (version !== undefined) {
      const ve = entry.versions.get(version);
      if (!ve) throw new ReefError('REEF_SERVE_NOT_FOUND', `Servable not found for request: ${what}`);
      if (ve.state !== 'AVAILABLE' || !ve.model) {
        throw new ReefError('REEF_SERVE_UNAVAILABLE',
          `version ${version} of model ${name} is ${ve.state}${ve.error ? ` (${ve.error})` : ''}`);
      }
      return ve.model;
    }
    let best: VersionEntry | null = null;
    for (const ve of entry.versions.values()) if (ve.state === 'AVAILABLE' && ve.model && (!best || ve.version > best.version)) best = ve;
    if (!best) {
      const states = [...entry.versions.values()].map((ve) => `${ve.version}: ${ve.state}${ve.error ? ` (${ve.error})` : ''}`);
      throw new ReefError('REEF_SERVE_UNAVAILABLE',
        `model ${name} has no available version${states.length ? ` (${states.join('; ')})` : ''}`);
    }
    return best.model as ServedModel;
  }

  /** True when every configured model has at least one AVAILABLE version. */
  ready(): boolean {
    if (this.models.size === 0) return false;
    for (const e of this.models.values()) {
      if (![...e.versions.values()].some((v) => v.state === 'AVAILABLE')) return false;
    }
    return true;
  }

  /** Every AVAILABLE version. */
  served(): ServedModel[] {
    const out: ServedModel[] = [];
    for (const e of this.models.values()) for (const v of e.versions.values()) if (v.model && v.state === 'AVAILABLE') out.push(v.model);
    return out;
  }

  /**
   * Triton repository extension: load a model folder under the repository root, or reload it when
   * it is loaded (its config.pbtxt read again; a changed config reloads every version, a changed
   * version policy loads and unloads versions). Only this model is looked at: another model's
   * state is not this request's error.
   */
  async loadByName(name: string): Promise<void> {
    checkModelName(name);
    const root = this.root;
    if (!root) throw new ReefError('REEF_SERVE_NOT_FOUND', `no model repository (--model-repository) to load ${name} from`);
    const base = resolve(root, name);
    if (!(await stat(base).catch(() => null))?.isDirectory()) {
      throw new ReefError('REEF_SERVE_NOT_FOUND', `failed to load '${name}', no version is available`);
    }
    const run = this.#busy.then(async () => {
      const src = await Repository.tritonSource(root, name);
      let entry = this.models.get(name);
      let reload = false;
      if (entry) {
        reload = configKey(entry.source) !== configKey(src);
        entry.source = src;
      } else {
        this.add(src);
        entry = this.models.get(name) as ModelEntry;
      }
      await this.#syncModel(entry, true, reload);
      if (entry.failure) throw entry.failure;
    });
    this.#busy = run.catch(() => undefined);
    await run;
    this.resolve(name);
  }

  /** The model folders of the repository root (Triton's index lists them, loaded or not). */
  async folderNames(): Promise<string[]> {
    if (!this.root) return [];
    const names: string[] = [];
    for (const n of (await readdir(this.root).catch(() => [] as string[])).sort()) {
      if (n.startsWith('.')) continue;
      if ((await stat(join(this.root, n)).catch(() => null))?.isDirectory()) names.push(n);
    }
    return names;
  }

  /** Triton repository extension: unload every version of a model (requests in flight finish). */
  async unloadByName(name: string): Promise<void> {
    if (!this.models.has(name)) throw new ReefError('REEF_SERVE_NOT_FOUND', `failed to unload '${name}', no model by that name`);
    await this.#unload(name);
  }

  async #unload(name: string): Promise<void> {
    const entry = this.models.get(name);
    if (!entry) return;
    this.models.delete(name);
    await Promise.all([...entry.versions.values()].map(async (ve) => {
      if (ve.model) {
        ve.state = 'UNLOADING';
        await ve.model.retire();
        ve.model = null;
        ve.state = 'END';
        this.#events.onUnload?.(name, ve.version);
      }
    }));
  }

  /** Unloads everything, letting work in flight finish. */
  async close(): Promise<void> {
    await this.#busy;
    const all = [...this.models.keys()];
    await Promise.all(all.map((n) => this.unloadByName(n)));
  }
}

/** What a reload must compare: the parsed config.pbtxt (or its error), not the policy (sync handles that). */
function configKey(src: ModelSource): string {
  return JSON.stringify({ t: src.triton ? { ...src.triton, policy: null } : null, e: src.tritonError?.message ?? null });
}

export function stem(file: string): string {
  return basename(file).replace(/\.(tflite|reef|onnx)$/i, '');
}
