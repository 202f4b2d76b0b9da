/**
 * `npm run fuzz -- [--count N] [--seed S] [--case I] [--models a.tflite,b.tflite] [--timeout MS] [--json]`
 * `npm run fuzz -- --seed S --case I --save FILE` writes that case's mutated model.
 * Mutates the shared models and loads and runs each mutation through reef in a child process;
 * prints a progress line, then a summary (or one JSON object with --json). Exits 1 when a case
 * crashed, hung, failed with an internal error or with an undocumented code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultModels, fuzzCase, runFuzz, type FuzzCase, type FuzzSummary } from './fuzz.js';

interface Args { count: number; seed: number; only?: number; models?: string[]; timeoutMs: number; json: boolean; save?: string }

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\nusage: npm run fuzz -- [--count N] [--seed S] [--case I] [--models a.tflite,b.tflite] [--timeout MS] [--json] [--case I --save FILE]\n`);
  process.exit(2);
}

function parse(argv: string[]): Args {
  const a: Args = { count: 1000, seed: 1, timeoutMs: 20_000, json: false };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !/^\d+$/.test(v) || !Number.isSafeInteger(n)) usage(`${flag} needs a non-negative integer, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    if (f === '--json') a.json = true;
    else if (f === '--count') a.count = num(f, argv[++i]);
    else if (f === '--seed') a.seed = num(f, argv[++i]);
    else if (f === '--case') a.only = num(f, argv[++i]);
    else if (f === '--timeout') a.timeoutMs = num(f, argv[++i]);
    else if (f === '--save') a.save = argv[++i] ?? usage('--save needs a file path');
    else if (f === '--models') a.models = (argv[++i] ?? usage('--models needs a comma-separated list')).split(',').map((p) => resolve(p));
    else usage(`unknown argument ${f}`);
  }
  return a;
}

function format(s: FuzzSummary): string {
  const kv = (r: Record<string, number>): string => Object.entries(r).filter(([, n]) => n > 0).sort((x, y) => y[1] - x[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  let t = `fuzz: ${s.count} cases, seed ${s.seed}, ${s.models.length} models, ${(s.ms / 1000).toFixed(1)} s\n`;
  t += `  verdicts  ${kv(s.verdicts as unknown as Record<string, number>)}\n`;
  t += `  outcomes  ${kv(s.outcomes)}\n`;
  t += `  mutations ${kv(s.kinds)}\n`;
  t += s.findings.length === 0 ? '  findings  none: no signal, no hang, only documented codes\n' : `  findings  ${s.findings.length}:\n`;
  for (const f of s.findings) t += `    case ${f.case} (--seed ${s.seed} --case ${f.case}): ${f.verdict} ${f.outcome}: ${f.model} ${f.kind}: ${f.what}${f.message ? `\n      ${f.message.split('\n')[0]}` : ''}\n`;
  return t;
}

const args = parse(process.argv.slice(2));
if (args.save !== undefined) {
  // Write one case's mutated model, to reproduce a finding outside the fuzzer.
  if (args.only === undefined) usage('--save needs --case');
  const models = args.models ?? defaultModels();
  const c = fuzzCase(models.map((m) => new Uint8Array(readFileSync(m))), args.seed, args.only);
  writeFileSync(args.save, c.mutation.bytes);
  process.stdout.write(`case ${args.only}: ${models[c.model]} ${c.mutation.kind}: ${c.mutation.what} (xnnpack ${c.xnnpack ? 'on' : 'off'}) -> ${args.save}\n`);
  process.exit(0);
}
const tty = process.stderr.isTTY;
let done = 0;
const summary = await runFuzz({
  models: args.models ?? defaultModels(), count: args.count, seed: args.seed, timeoutMs: args.timeoutMs,
  ...(args.only !== undefined ? { only: args.only } : {}),
  onCase: (c: FuzzCase) => {
    done++;
    if (c.verdict === 'crash' || c.verdict === 'hang' || c.verdict === 'internal' || c.verdict === 'undocumented') {
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}case ${c.case}: ${c.verdict} ${c.outcome}: ${c.model} ${c.what}\n`);
    }
    if (tty) process.stderr.write(`\r\x1b[Kfuzz: ${done}/${args.only !== undefined ? 1 : args.count}`);
    else if (done % 100 === 0) process.stderr.write(`fuzz: ${done}/${args.count}\n`);
  },
});
if (tty) process.stderr.write('\r\x1b[K');
process.stdout.write(args.json ? JSON.stringify(summary, null, 2) + '\n' : format(summary));
process.exitCode = summary.findings.length > 0 ? 1 : 0;
