/**
 * `reef serve`: a TensorFlow Serving (v1) and KServe v2 REST server over one data plane.
 * createServer() loads the models, builds the fastify app (a plugin per protocol, one error map)
 * and listens; close() stops accepting, lets every request in flight finish, then unloads.
 */
import { timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { hostProfile, type DeviceProfile } from '../devices.js';
import { createGunzip, createInflate } from 'node:zlib';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { ReefError } from '../errors.js';
import type { LoadOptions } from '../runtime/session.js';
import { DataPlane, httpStatus } from './dataplane.js';
import { ServeMetrics } from './metrics.js';
import { Repository, type ModelSource, stem } from './repository.js';
import { registerTfServing, type RequestTags } from './tfserving.js';
import { parseInferBody, registerKServe, resolveV2 } from './kserve.js';
import { parseModelConfig } from './config.js';
import { readFile, readdir, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../paths.js';
import { statusPage } from './status.js';
import { BodyPool, readBody } from './body.js';

export interface ServeOptions {
  /** A model file, or a folder of numeric version folders (TF Serving's --model_base_path). */
  model?: string;
  /** TF Serving's --model_name. Default: "default" for a base path, the file's stem for a file. */
  modelName?: string;
  /** TF Serving's --model_config_file (text-format model_config_list). */
  modelConfigFile?: string;
  /** Triton's --model-repository: DIR/<model>/<version>/<file>. */
  modelRepository?: string;
  host?: string;
  /** 0 picks a free port. Default 8501. */
  port?: number;
  /** Interpreters per model version. Default: from the device profile (one per Edge TPU; else cores / threads). */
  interpreters?: number;
  /** Device profile id (devices/*.json) instead of the one matching this host. */
  device?: string;
  threads?: number;
  xnnpack?: boolean;
  /** Edge TPU for compiled models (pycoral's grammar: '', usb, pci, :N, usb:N, pci:N, off). */
  edgetpu?: string;
  /** Abandon an invoke with no progress for this long (default: 10000 on an Edge TPU, off on the CPU). */
  watchdogMs?: number;
  /** Runs that may wait per model version. Default 64. */
  maxQueue?: number;
  /** Default request deadline in ms (0 = none). Default 30000. */
  deadlineMs?: number;
  overloadStatus?: 503 | 429;
  /** Request body limit in MiB. Default 64. */
  maxBodyMb?: number;
  /** Bearer token required on every route but health. */
  token?: string;
  /** Seconds between looks at version folders; 0 = only at start. Default 1 (TF Serving's). */
  pollSeconds?: number;
  /** Labels for classify (when the model or bundle has none). */
  labels?: string[];
  /** pino level; default 'warn'. */
  logLevel?: string;
  /** Where the pino JSON lines go (default stdout). */
  logStream?: { write(line: string): void };
  /** TF Serving's --model_config_file_poll_wait_seconds: seconds between reads of the config file; 0 = read once. */
  configPollSeconds?: number;
  /** Device temperature file (millidegrees Celsius), default /sys/class/thermal/thermal_zone0/temp. */
  thermalZone?: string;
  /** Time a client has to send a whole request, headers and body, before a 408 (default 120000). */
  requestTimeoutMs?: number;
  /** On close: how long a request whose body is still arriving may take before its connection is dropped (default 2000). */
  closeGraceMs?: number;
  /** Aborted during start-up (a signal): the model loading under way finishes, nothing more loads, and createServer rejects with StartupStopped. */
  signal?: AbortSignal;
}

/** createServer() was stopped by its signal before it listened (everything it loaded is unloaded). */
export class StartupStopped extends Error {
  constructor() {
    super('reef serve was stopped while it started');
  }
}

export interface ReefServer {
  app: FastifyInstance;
  plane: DataPlane;
  repo: Repository;
  metrics: ServeMetrics;
  /** The address it listens on, e.g. http://127.0.0.1:8501. */
  url: string;
  port: number;
  /** Stops accepting, finishes every request in flight, unloads the models. */
  close(): Promise<void>;
}

export const SERVER_NAME = 'reef';

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new ReefError('REEF_FILE_NOT_FOUND', `cannot read --model_config_file ${file}: ${(e as Error).message}`);
  }
}

async function sourcesFor(opts: ServeOptions): Promise<{ sources: ModelSource[]; root: string | null; configText?: string }> {
  if (opts.modelRepository) {
    return { sources: await Repository.tritonSources(opts.modelRepository), root: opts.modelRepository };
  }
  if (opts.modelConfigFile) {
    const text = await readConfigText(opts.modelConfigFile);
    return { sources: parseModelConfig(text, opts.modelConfigFile), root: null, configText: text };
  }
  if (!opts.model) {
    throw new ReefError('REEF_INVALID_ARGUMENT', 'Expected a model file, --model_base_path, --model_config_file or --model-repository but received none');
  }
  const st = await stat(opts.model).catch(() => null);
  if (!st) throw new ReefError('REEF_MODEL_NOT_FOUND', `cannot read model ${opts.model}: no such file or folder`);
  if (st.isDirectory()) {
    return { sources: [{ name: opts.modelName ?? 'default', basePath: opts.model, policy: { kind: 'latest', n: 1 }, labels: {} }], root: null };
  }
  return { sources: [{ name: opts.modelName ?? stem(opts.model), file: opts.model, policy: { kind: 'latest', n: 1 }, labels: {} }], root: null };
}

/**
 * Interpreters per model version when --interpreters is not given, from the device profile: one per
 * Edge TPU on a board that has them, else as many as fit the cores at the profile's threads each
 * (a Raspberry Pi 4: 4 cores / 4 threads = 1; a 2-core x86 host at 1 thread: 2).
 */
export function defaultInterpreters(profile: DeviceProfile | null, threads?: number): number {
  const tpus = profile?.accelerators.filter((a) => a.type === 'edgetpu').length ?? 0;
  if (tpus > 0) return tpus;
  const cores = profile?.cores ?? availableParallelism();
  return Math.max(1, Math.floor(cores / (threads ?? profile?.defaultThreads ?? 1)));
}

/** "Bearer TOKEN", the scheme in any case (RFC 9110 11.1: auth schemes are case-insensitive). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = header ? /^bearer +(\S+) *$/i.exec(header) : null;
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function createServer(opts: ServeOptions): Promise<ReefServer> {
  const profile = hostProfile(opts.device);
  const load: LoadOptions = {
    pool: opts.interpreters ?? defaultInterpreters(profile, opts.threads),
    ...(opts.device !== undefined ? { device: opts.device } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    ...(opts.xnnpack !== undefined ? { xnnpack: opts.xnnpack } : {}),
    ...(opts.edgetpu !== undefined ? { edgetpu: opts.edgetpu } : {}),
    ...(opts.watchdogMs !== undefined ? { watchdogMs: opts.watchdogMs } : {}),
  };
  const { sources, root, configText } = await sourcesFor(opts);
  const bodyLimit = Math.round((opts.maxBodyMb ?? 64) * 1024 * 1024);
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'warn', ...(opts.logStream ? { stream: opts.logStream } : {}) },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    forceCloseConnections: 'idle',
    // A client gets this long to send a whole request (headers and body); slowloris protection
    // (fastify's default is no limit). Node answers 408 and closes the connection.
    requestTimeout: opts.requestTimeoutMs ?? 120000,
    routerOptions: { caseSensitive: false },
  });
  app.server.headersTimeout = Math.min(60000, opts.requestTimeoutMs ?? 120000);
  let metrics: ServeMetrics | null = null;
  const repo = new Repository({
    load, maxQueue: opts.maxQueue ?? 64, labels: opts.labels ?? null,
    onExpire: (name, version) => metrics?.expired.inc({ model: name, version: String(version) }),
    onDevice: (name, version, event, detail) => app.log.warn({ model: name, version, event }, `model ${name} version ${version}: ${detail}`),
  }, {
    onLoad(name, version, ms, err) {
      if (err) app.log.warn({ model: name, version, code: err.code }, `model ${name} version ${version} failed to load: ${err.message}`);
      else app.log.info({ model: name, version, ms: Math.round(ms) }, `model ${name} version ${version} loaded`);
      if (!metrics) return;
      if (err) metrics.loadFailures.inc({ model: name, version: String(version) });
      else metrics.loadSeconds.set({ model: name, version: String(version) }, ms / 1000);
    },
  }, root);
  metrics = new ServeMetrics(repo, opts.thermalZone);
  for (const s of sources) repo.add(s);
  const stopLoading = () => repo.stopLoading();
  opts.signal?.addEventListener('abort', stopLoading, { once: true });
  await repo.sync(true);
  opts.signal?.removeEventListener('abort', stopLoading);
  if (opts.signal?.aborted) {
    await repo.close();
    throw new StartupStopped();
  }
  // At start, a base path that cannot be read is a failed start (later, it is that model's status).
  const unreadable = repo.failures()[0];
  if (unreadable) {
    await repo.close();
    throw unreadable.error;
  }
  // A single model that failed to load is a failed start (TF Serving exits too); in a
  // repository the others serve and the status shows the error.
  if (sources.length === 1 && !repo.ready()) {
    const entry = repo.models.get(sources[0].name);
    const failed = entry ? [...entry.versions.values()].find((v) => v.error) : undefined;
    await repo.close();
    if (failed) {
      const code = failed.error.split(':')[0];
      throw new ReefError(code, failed.error.slice(code.length + 2));
    }
    const base = sources[0].basePath as string;
    const none = (await readdir(base)).every((n) => !/^\d{1,15}$/.test(n));
    throw new ReefError('REEF_SERVE_MODEL_FORMAT', none
      ? `model base path ${base} has no numeric version folders; put the model in one, e.g. ${join(base, '1', 'model.tflite')}`
      : `no version folder of model ${sources[0].name} in ${base} matches its model_version_policy`);
  }
  const overloadStatus = opts.overloadStatus ?? 503;
  // The --model_config_file being served, and the error of the last edit that could not be applied.
  const config = { applied: configText ?? '', pending: null as string | null, error: '' };
  const plane = new DataPlane(repo, metrics, { deadlineMs: opts.deadlineMs ?? 30000, overloadStatus }, packageVersion());


  // Bodies: gzip/deflate decoded on the way in (the body limit counts the decoded bytes).
  app.addHook('preParsing', async (req, _reply, payload) => {
    const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (enc === 'gzip' || enc === 'deflate') {
      const out = enc === 'gzip' ? createGunzip() : createInflate();
      payload.on('error', (e) => out.destroy(e));
      return payload.pipe(out);
    }
    if (enc !== 'identity') {
      throw new ReefError('REEF_SERVE_BAD_REQUEST', `Expected Content-Encoding gzip, deflate or identity but received "${enc}"`);
    }
    return payload;
  });
  app.removeAllContentTypeParsers();
  const pool = new BodyPool();
  const pooledBody = new WeakMap<FastifyRequest, Buffer>();
  app.addContentTypeParser('*', (req, payload, done) => {
    const enc = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    const cl = req.headers['content-length'];
    const length = enc === 'identity' && cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : null;
    readBody(payload, length, bodyLimit, pool, `${opts.maxBodyMb ?? 64} MiB`).then(({ body: buf, pooled }) => {
      if (pooled) pooledBody.set(req, buf);
      if (!req.url.toLowerCase().startsWith('/v2/')) return done(null, buf);
      const infer = /\/infer$/i.test(req.url.split('?')[0]);
      if (buf.length === 0 && !infer) return done(null, undefined);
      // An infer body is bounded by what its model can take (an unknown model is refused here,
      // before the body is parsed); the repository requests are small.
      const params = req.params as { name?: string; version?: string };
      const limit = infer && params.name !== undefined ? resolveV2(repo, params.name, params.version).jsonLimit()
        : { max: 65536, why: 'a model repository request takes' };
      done(null, parseInferBody(req, buf, limit));
    }).catch((e: Error) => done(e, undefined));
  });

  // Requests being received or answered (their raw request), for close() to drop stalled uploads.
  const incoming = new Set<import('node:http').IncomingMessage & { res: import('node:http').ServerResponse }>();
  app.server.on('request', (raw: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const r = raw as import('node:http').IncomingMessage & { res: import('node:http').ServerResponse };
    r.res = res;
    incoming.add(r);
    res.once('close', () => incoming.delete(r));
  });
  const counts = { received: 0, inProgress: 0 };
  app.addHook('onRequest', async (req, reply) => {
    (req as unknown as { reefStart: number }).reefStart = performance.now();
    const counted = /^\/v[12]\//i.test(req.url);
    if (counted) {
      counts.received++;
      counts.inProgress++;
    }
    // Over once the response closes: answered, failed, or abandoned by its client (a response
    // whose connection closed first never 'finish'es, so fastify's onResponse never runs for it).
    // Then no run whose result could reach an answer still reads the body.
    reply.raw.once('close', () => {
      if (counted) counts.inProgress--;
      const body = pooledBody.get(req);
      if (body) {
        pooledBody.delete(req);
        pool.give(body);
      }
    });
    if (!opts.token) return;
    const path = req.url.split('?')[0].toLowerCase();
    if (path.startsWith('/v2/health/')) return;
    if (!tokenMatches(req.headers.authorization, opts.token)) {
      throw new ReefError('REEF_SERVE_UNAUTHORIZED', 'this server requires "Authorization: Bearer TOKEN" on every route but health');
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const tags = (req as unknown as { reefTags?: RequestTags }).reefTags;
    if (!tags?.protocol) return;
    // Labels only for models (and versions) the repository knows: a client-typed name is no new series.
    const entry = tags.model !== undefined ? repo.models.get(tags.model) : undefined;
    const model = entry ? tags.model as string : '';
    const version = entry && tags.version !== undefined && entry.versions.has(Number(tags.version)) ? String(Number(tags.version)) : '';
    metrics?.requests.inc({ model, version, protocol: tags.protocol, status: String(reply.statusCode) });
    const start = (req as unknown as { reefStart: number }).reefStart;
    metrics?.requestSeconds.observe({ model, protocol: tags.protocol }, (performance.now() - start) / 1000);
    req.log.debug({ model, version, protocol: tags.protocol, status: reply.statusCode, ms: performance.now() - start }, 'request');
  });

  let stopping = false;
  app.addHook('onSend', async (_req, reply, payload) => {
    if (stopping) reply.header('connection', 'close');
    return payload;
  });

  // Requests refused before a route tagged them are still counted, under their protocol.
  const ensureTags = (req: FastifyRequest) => {
    const r = req as unknown as { reefTags?: RequestTags };
    r.reefTags ??= { protocol: req.url.startsWith('/v1') ? 'v1' : req.url.startsWith('/v2') ? 'v2' : 'other' };
  };
  app.setErrorHandler((err: FastifyError | ReefError | Error, req: FastifyRequest, reply) => {
    let e: unknown = err;
    const fe = err as FastifyError;
    if (!(err instanceof ReefError)) {
      if (fe.code === 'ECONNRESET' || fe.code === 'ECONNABORTED' || fe.code === 'EPIPE' || fe.message === 'aborted' || req.raw.socket?.destroyed) {
        // The client went away (closed mid-body, or its connection was dropped): nothing failed
        // here and nobody reads an answer. Its business, logged at debug.
        req.log.debug({ code: fe.code, status: 400 }, `the client closed the connection before its request was complete: ${fe.message}`);
        ensureTags(req);
        reply.code(400).header('content-type', 'application/json').send(JSON.stringify({ error: 'the client closed the connection before its request was complete' }));
        return;
      }
      if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        e = new ReefError('REEF_SERVE_BODY_TOO_LARGE', `the request body is larger than ${opts.maxBodyMb ?? 64} MiB (--max-body-mb)`);
      } else if (fe.validation) {
        e = new ReefError('REEF_SERVE_BAD_REQUEST', `invalid request: ${fe.message}`);
      } else if (typeof fe.statusCode === 'number' && fe.statusCode < 500) {
        e = new ReefError('REEF_SERVE_BAD_REQUEST', fe.message);
      } else if ((fe as { code?: string }).code === 'Z_DATA_ERROR' || (fe as { code?: string }).code === 'Z_BUF_ERROR') {
        e = new ReefError('REEF_SERVE_BAD_REQUEST', `the request body is not valid ${String(req.headers['content-encoding'])} data: ${fe.message}`);
      }
    }
    const status = httpStatus(e, overloadStatus);
    if (status === 503 || status === 429) reply.header('retry-after', '1');
    if (status === 401) reply.header('www-authenticate', 'Bearer');
    const msg = e instanceof ReefError ? e.message : `internal error: ${(e as Error).message}`;
    // Refusals under load (503/429/504) are answers, not faults: debug; anything else 5xx is a fault: warn.
    if (status >= 500 && status !== 503 && status !== 504) req.log.warn({ code: (e as ReefError).code, status }, msg);
    else req.log.debug({ code: (e as ReefError).code, status }, msg);
    ensureTags(req);
    reply.code(status).header('content-type', 'application/json').send(JSON.stringify({ error: msg }));
  });

  // Models of the config whose base path cannot be read (they load once it can; the others serve).
  const modelFailures = () => repo.failures().map((f) => `model ${f.name}: ${f.error.code}: ${f.error.message}`).join('; ');
  const metricsRoute = async (_req: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const text = await metrics!.registry.metrics();
    return reply.header('content-type', metrics!.registry.contentType).send(text);
  };
  app.get('/metrics', metricsRoute);
  app.get('/monitoring/prometheus/metrics', metricsRoute);
  app.get('/', async (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(statusPage()));
  app.get('/status.json', async () => ({
    ...(await statusJson(repo, metrics!)), requests: { ...counts },
    ...(opts.modelConfigFile ? { config: { file: opts.modelConfigFile, error: config.error || modelFailures() } } : {}),
  }));

  registerTfServing(app, plane);
  registerKServe(app, plane);

  const host = opts.host ?? '127.0.0.1';
  try {
    await app.listen({ host, port: opts.port ?? 8501 });
  } catch (e) {
    await repo.close();
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'another process holds the port (EADDRINUSE); choose another with --rest_api_port (0 picks a free one) or stop that process'
      : code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine (EADDRNOTAVAIL); check --host`
        : code === 'EACCES' ? 'permission denied (EACCES): ports below 1024 need privileges; choose a port from 1024 up'
          : (e as Error).message;
    throw new ReefError('REEF_SERVE_LISTEN_FAILED', `cannot listen on ${host}:${opts.port ?? 8501}: ${why}`);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port ?? 8501;

  let timer: NodeJS.Timeout | null = null;
  const poll = opts.pollSeconds ?? 1;
  if (poll > 0) {
    const tick = () => {
      repo.sync(false).catch((e: unknown) => app.log.warn({ err: e }, 'model repository poll failed')).finally(() => {
        if (timer) timer = setTimeout(tick, poll * 1000);
      });
    };
    timer = setTimeout(tick, poll * 1000);
  }
  // --model_config_file_poll_wait_seconds: a new text is applied once it reads the same on two
  // polls in a row (not half-written); one that does not parse keeps the old config serving.
  let configTimer: NodeJS.Timeout | null = null;
  const configPoll = opts.modelConfigFile ? opts.configPollSeconds ?? 0 : 0;
  if (configPoll > 0) {
    const file = opts.modelConfigFile as string;
    const reload = async () => {
      let text: string;
      try {
        text = await readConfigText(file);
      } catch (e) {
        text = `\0${(e as Error).message}`;
      }
      if (text === config.applied) {
        config.pending = null;
        if (config.error) app.log.info({ file }, 'model config file is back to the config being served');
        config.error = '';
        return;
      }
      if (text !== config.pending) {
        config.pending = text;
        return;
      }
      let next: ModelSource[];
      try {
        if (text.startsWith('\0')) throw new ReefError('REEF_FILE_NOT_FOUND', text.slice(1));
        next = parseModelConfig(text, file);
      } catch (e) {
        const msg = `${(e as ReefError).code}: ${(e as Error).message}`;
        if (msg !== config.error) app.log.warn({ file, code: (e as ReefError).code }, `model config reload failed, the previous config keeps serving: ${(e as Error).message}`);
        config.error = msg;
        return;
      }
      // It parses: the error is gone; the models follow.
      config.applied = text;
      config.pending = null;
      config.error = '';
      await repo.reconfigure(next);
      app.log.info({ file, models: next.map((m) => m.name) }, 'model config reloaded');
      for (const f of repo.failures()) {
        app.log.warn({ file, model: f.name, code: f.error.code }, `model ${f.name} of the reloaded config cannot load yet: ${f.error.message}`);
      }
    };
    const tick = () => {
      reload().catch((e: unknown) => app.log.warn({ err: e }, 'model config reload failed')).finally(() => {
        if (configTimer) configTimer = setTimeout(tick, configPoll * 1000);
      });
    };
    configTimer = setTimeout(tick, configPoll * 1000);
  }
  let closing: Promise<void> | null = null;
  return {
    app, plane, repo, metrics, port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close() {
      closing ??= (async () => {
        if (timer) clearTimeout(timer);
        timer = null;
        if (configTimer) clearTimeout(configTimer);
        configTimer = null;
        stopping = true;
        // Answers from now on carry "Connection: close", and connections that fall idle are closed,
        // so keep-alive clients cannot hold the server open; requests in flight finish first.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
        // A request whose body is still arriving after the grace cannot be finished: it is answered
        // 408 and its connection dropped (a stalled upload or a slowloris client cannot hold the
        // server open). Requests with complete bodies still finish.
        const grace = setTimeout(() => {
          for (const raw of incoming) {
            if (raw.complete) continue;
            const sock = raw.socket;
            if (!raw.res.headersSent && sock.writable) {
              const body = JSON.stringify({ error: 'the server is stopping and the request body did not arrive in time' });
              sock.end(`HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
            }
            setTimeout(() => sock.destroy(), 100).unref();
          }
        }, opts.closeGraceMs ?? 2000);
        try {
          await app.close();
        } finally {
          clearInterval(sweep);
          clearTimeout(grace);
        }
        await repo.close();
      })();
      return closing;
    },
  };
}

/** What the status page shows: models, versions, states, request counts and latency. */
export async function statusJson(repo: Repository, metrics: ServeMetrics): Promise<Record<string, unknown>> {
  const req = await metrics.requests.get();
  const lat = await metrics.requestSeconds.get();
  const models = [...repo.models.values()].map((e) => ({
    name: e.source.name,
    error: e.failure ? `${e.failure.code}: ${e.failure.message}` : '',
    versions: [...e.versions.values()].map((v) => ({
      version: v.version, state: v.state, error: v.error,
      interpreters: v.model?.session.poolSize ?? 0, queued: v.model?.scheduler.queued ?? 0, inFlight: v.model?.scheduler.inFlight ?? 0,
      loadMs: v.model ? Math.round(v.model.loadMs) : null,
    })),
    requests: req.values.filter((x) => x.labels.model === e.source.name).reduce((a, x) => a + x.value, 0),
    latencySum: lat.values.filter((x) => x.labels.model === e.source.name && x.metricName?.endsWith('_sum')).reduce((a, x) => a + x.value, 0),
  }));
  return { server: SERVER_NAME, ready: repo.ready(), models };
}
