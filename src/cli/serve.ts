/**
 * `reef serve MODEL_OR_DIR`: a TensorFlow Serving / KServe v2 REST server. TF Serving's flags
 * (--rest_api_port, --model_name, --model_base_path, --model_config_file,
 * --file_system_poll_wait_seconds) and Triton's --model-repository work unchanged.
 * Ctrl-C / SIGTERM: stop accepting, finish every request in flight, exit 0.
 */
import type { Command } from 'commander';
import { ReefError } from '../errors.js';
import { readLabels } from '../labels.js';
import { createServer, type ReefServer, type ServeOptions } from '../serve/server.js';
import { parsePositiveInt, type CliIO } from './io.js';
import { parseWatchdog, WATCHDOG_HELP } from './options.js';

export interface ServeCliOptions {
  rest_api_port?: string;
  port?: string;
  host?: string;
  model_name?: string;
  model_base_path?: string;
  model_config_file?: string;
  modelRepository?: string;
  file_system_poll_wait_seconds?: string;
  model_config_file_poll_wait_seconds?: string;
  thermalZone?: string;
  interpreters?: string;
  device?: string;
  threads?: string;
  xnnpack?: boolean;
  edgetpu?: string;
  watchdog?: string;
  maxQueue?: string;
  deadlineMs?: string;
  overloadStatus?: string;
  maxBodyMb?: string;
  token?: string;
  labels?: string;
  logLevel?: string;
  json?: boolean;
}

function nonNegative(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a number >= 0 for ${name} but received "${text}"`);
  }
  return n;
}

/** Turns the command line into server options (pure; tests call it). */
export async function serveOptions(model: string | undefined, o: ServeCliOptions, env: NodeJS.ProcessEnv = process.env): Promise<ServeOptions> {
  const sources = [model, o.model_base_path, o.model_config_file, o.modelRepository].filter((x) => x !== undefined);
  if (sources.length !== 1) {
    throw new ReefError('REEF_INVALID_ARGUMENT',
      `Expected exactly one of MODEL, --model_base_path, --model_config_file or --model-repository but received ${sources.length}`);
  }
  const portText = o.rest_api_port ?? o.port;
  let port = 8501;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a port from 0 to 65535 for --rest_api_port but received "${portText}"`);
  }
  let overloadStatus: 503 | 429 = 503;
  if (o.overloadStatus !== undefined) {
    if (o.overloadStatus !== '503' && o.overloadStatus !== '429') {
      throw new ReefError('REEF_INVALID_ARGUMENT', `Expected 503 or 429 for --overload-status but received "${o.overloadStatus}"`);
    }
    overloadStatus = Number(o.overloadStatus) as 503 | 429;
  }
  const token = o.token ?? env.REEF_SERVE_TOKEN;
  return {
    ...(model !== undefined || o.model_base_path !== undefined ? { model: (model ?? o.model_base_path) as string } : {}),
    ...(o.model_name !== undefined ? { modelName: o.model_name } : {}),
    ...(o.model_config_file !== undefined ? { modelConfigFile: o.model_config_file } : {}),
    ...(o.modelRepository !== undefined ? { modelRepository: o.modelRepository } : {}),
    host: o.host ?? '127.0.0.1',
    port,
    ...(o.interpreters !== undefined ? { interpreters: parsePositiveInt('--interpreters', o.interpreters) } : {}),
    ...(o.threads !== undefined ? { threads: parsePositiveInt('--threads', o.threads) } : {}),
    ...(o.device !== undefined ? { device: o.device } : {}),
    ...(o.xnnpack === false ? { xnnpack: false } : {}),
    ...(o.edgetpu !== undefined ? { edgetpu: o.edgetpu } : {}),
    ...(o.watchdog !== undefined ? { watchdogMs: parseWatchdog(o.watchdog) } : {}),
    ...(o.maxQueue !== undefined ? { maxQueue: nonNegative('--max-queue', o.maxQueue) } : {}),
    ...(o.deadlineMs !== undefined ? { deadlineMs: nonNegative('--deadline-ms', o.deadlineMs) } : {}),
    overloadStatus,
    ...(o.maxBodyMb !== undefined ? { maxBodyMb: nonNegative('--max-body-mb', o.maxBodyMb) } : {}),
    ...(token ? { token } : {}),
    ...(o.file_system_poll_wait_seconds !== undefined ? { pollSeconds: nonNegative('--file_system_poll_wait_seconds', o.file_system_poll_wait_seconds) } : {}),
    ...(o.model_config_file_poll_wait_seconds !== undefined ? { configPollSeconds: nonNegative('--model_config_file_poll_wait_seconds', o.model_config_file_poll_wait_seconds) } : {}),
    ...(o.thermalZone !== undefined ? { thermalZone: o.thermalZone } : {}),
    ...(o.labels !== undefined ? { labels: await readLabels(o.labels) } : {}),
    ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
  };
}

/** Waits for SIGINT or SIGTERM, then closes the server (requests in flight finish). */
function untilSignal(server: ReefServer, io: CliIO, json: boolean): Promise<void> {
  return new Promise((resolve) => {
    const stop = (sig: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (!json) io.err(`reef serve: ${sig}: finishing requests in flight, then stopping\n`);
      server.close().then(() => {
        if (json) io.out(JSON.stringify({ stopped: true, signal: sig }) + '\n');
        else io.err('reef serve: stopped\n');
        resolve();
      }, () => resolve());
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description('serve models over TensorFlow Serving (v1) and KServe v2 REST: a drop-in tensorflow_model_server / Triton HTTP endpoint')
    .argument('[model]', 'a .tflite or .reef file, or a folder of numeric version folders')
    .option('--rest_api_port <port>', 'port to listen on (TF Serving flag; 0 picks a free one)', undefined)
    .option('--port <port>', 'same as --rest_api_port')
    .option('--host <addr>', 'interface to listen on (default 127.0.0.1; 0.0.0.0 serves every interface)')
    .option('--model_name <name>', 'model name (default: "default" for a base path, the file name for a file)')
    .option('--model_base_path <dir>', 'folder of numeric version folders, each with one model file (TF Serving flag)')
    .option('--model_config_file <file>', 'TF Serving text-format model_config_list (names, base paths, version policies, labels)')
    .option('--model_config_file_poll_wait_seconds <s>', 'seconds between reads of --model_config_file (models added/removed/changed; a broken edit keeps the old config); 0 = read once (default)')
    .option('--model-repository <dir>', 'Triton layout: DIR/<model>/<version>/<model file>')
    .option('--file_system_poll_wait_seconds <s>', 'seconds between looks for new versions; 0 = only at start (default 1)')
    .option('--interpreters <n>', 'interpreters per model version (default from the device profile: one per Edge TPU, else cores / threads)')
    .option('--device <id>', 'device profile (devices/*.json) instead of the one matching this host')
    .option('--threads <n>', 'CPU threads per interpreter (default: the device profile\'s)')
    .option('--no-xnnpack', 'use TFLite\'s built-in kernels')
    .option('--edgetpu <spec>', 'Edge TPU for compiled models and .reef bundles: usb, pci, :N, usb:N, pci:N, or off (default: any)')
    .option('--watchdog <ms>', WATCHDOG_HELP)
    .option('--max-queue <n>', 'runs that may wait per model version before 503 (default 64)')
    .option('--deadline-ms <ms>', 'default request deadline; work still queued then is dropped with 504 (default 30000, 0 = none)')
    .option('--overload-status <code>', 'status for a full queue: 503 (default) or 429')
    .option('--max-body-mb <mb>', 'request body limit in MiB, after gzip/deflate decoding (default 64)')
    .option('--token <token>', 'require "Authorization: Bearer TOKEN" on every route but health (or REEF_SERVE_TOKEN)')
    .option('--labels <file>', 'labels for :classify and the classification extension')
    .option('--log-level <level>', 'pino log level: debug prints one line per request (default warn)')
    .option('--thermal-zone <file>', 'device temperature file for /metrics (default /sys/class/thermal/thermal_zone0/temp)')
    .option('--json', 'print the listening address and models as JSON')
    .action(async (model: string | undefined, o: ServeCliOptions) => {
      const opts = await serveOptions(model, o);
      const server = await createServer(opts);
      const models = server.repo.served().map((m) => ({ name: m.name, version: m.version, path: m.path, interpreters: m.session.poolSize }));
      if (o.json) io.out(JSON.stringify({ url: server.url, models }) + '\n');
      else {
        io.out(`reef serve: listening on ${server.url}\n`);
        for (const m of models) io.out(`  ${m.name} v${m.version}  ${m.path}  (${m.interpreters} interpreter${m.interpreters === 1 ? '' : 's'})\n`);
        io.out(`  TF Serving: ${server.url}/v1/models/${models[0]?.name ?? 'NAME'}:predict   KServe v2: ${server.url}/v2/models/${models[0]?.name ?? 'NAME'}/infer\n`);
      }
      await untilSignal(server, io, o.json === true);
    });
}
