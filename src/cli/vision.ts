/**
 * The options every vision command shares (`reef run`, `reef camera`, `reef eval`): the task, the
 * resize mode and filter, thresholds, counts and class filters. Declared once, parsed once, with the
 * same words everywhere; and the task results as JSON.
 */
import type { Command } from 'commander';
import { ReefError } from '../errors.js';
import { TASKS, type Task, type VisionOptions, type VisionResult } from '../tasks/vision.js';
import { RESIZE_FILTERS, RESIZE_MODES, type ResizeFilter, type ResizeMode } from '../tasks/resize.js';
import { jsonValue } from '../tensor/values.js';
import { parsePositiveInt } from './io.js';

export function parseChoice<T extends string>(name: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected one of ${choices.join(', ')} for ${name} but received "${value}"`);
  }
  return value as T;
}

export function parseFraction(name: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw new ReefError('REEF_INVALID_ARGUMENT', `Expected a number from 0 to 1 for ${name} but received "${text}"`);
  }
  return v;
}

export interface VisionCliOptions {
  task?: string;
  scoreThreshold?: string;
  maxResults?: string;
  allow?: string;
  deny?: string;
  resize?: string;
  resizeFilter?: string;
}

/** --task, --resize, --resize-filter, --score-threshold, --max-results, --allow, --deny. */
export function addVisionOptions(cmd: Command, defaults: { scoreThreshold: string }): Command {
  return cmd
    .option('--task <task>', `force the task (${TASKS.join(', ')}); default: the model's metadata, else its outputs`)
    .option('--resize <mode>', `how a photo fits the input: ${RESIZE_MODES.join(', ')} (default squash, or the bundle's)`)
    .option('--resize-filter <f>', `${RESIZE_FILTERS.join(', ')} (default bilinear without antialiasing, as TFLite's Task Library)`)
    .option('--score-threshold <s>', 'detect: keep detections scoring at least this', defaults.scoreThreshold)
    .option('--max-results <n>', 'detect: at most n detections per image, best first (default all)')
    .option('--allow <classes>', 'classify/detect: keep only these classes (comma-separated labels or indices)')
    .option('--deny <classes>', 'classify/detect: drop these classes (comma-separated labels or indices)');
}

export interface ParsedVisionOptions {
  task?: Task;
  resize?: ResizeMode;
  filter?: ResizeFilter;
  scoreThreshold: number;
  maxResults?: number;
  allow?: string[];
  deny?: string[];
}

const list = (text: string | undefined): string[] | undefined =>
  text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** Parses the shared vision options (before any model is loaded). */
export function parseVisionOptions(opts: VisionCliOptions): ParsedVisionOptions {
  const allow = list(opts.allow);
  const deny = list(opts.deny);
  for (const [name, l] of [['--allow', allow], ['--deny', deny]] as const) {
    if (l && l.length === 0) throw new ReefError('REEF_INVALID_ARGUMENT', `Expected comma-separated labels or class indices for ${name} but received "${name === '--allow' ? opts.allow : opts.deny}"`);
  }
  return {
    task: parseChoice<Task>('--task', opts.task, TASKS),
    resize: parseChoice<ResizeMode>('--resize', opts.resize, RESIZE_MODES),
    filter: parseChoice<ResizeFilter>('--resize-filter', opts.resizeFilter, RESIZE_FILTERS),
    scoreThreshold: parseFraction('--score-threshold', opts.scoreThreshold ?? '0.5'),
    maxResults: opts.maxResults === undefined ? undefined : parsePositiveInt('--max-results', opts.maxResults),
    allow, deny,
  };
}

/** Class names or indices to a set of class indices, with the model's labels. */
export function classSet(name: string, items: string[] | undefined, labels: readonly string[] | null): Set<number> | undefined {
  if (!items) return undefined;
  const out = new Set<number>();
  for (const it of items) {
    const byLabel = labels ? labels.indexOf(it) : -1;
    if (byLabel >= 0) out.add(byLabel);
    else if (/^\d+$/.test(it)) out.add(Number(it));
    else {
      throw new ReefError('REEF_INVALID_ARGUMENT', labels
        ? `Expected labels of the model or class indices for ${name} but received "${it}", which is not one of its ${labels.length} labels`
        : `Expected class indices for ${name} (the model has no labels; give --labels to use names) but received "${it}"`);
    }
  }
  return out;
}

/** The VisionOptions the parsed options say, once the labels are known. */
export function visionOptions(p: ParsedVisionOptions, labels: readonly string[] | null): VisionOptions {
  return {
    task: p.task, resize: p.resize, filter: p.filter,
    allow: classSet('--allow', p.allow, labels), deny: classSet('--deny', p.deny, labels),
    detect: { scoreThreshold: p.scoreThreshold, maxResults: p.maxResults },
  };
}

const score = (s: number): number | string => jsonValue('float32', s) as number | string;

/** A task result as JSON: `top` (classify), `detections` with boxes in the photo's pixels, a mask summary, an embedding. */
export function resultJson(r: VisionResult, opts: { boxDecimals?: number; embedding?: boolean } = {}): Record<string, unknown> {
  const k = 10 ** (opts.boxDecimals ?? 2);
  const px = (v: number) => Math.round(v * k) / k;
  switch (r.task) {
    case 'classify': return { top: r.top.map((c) => ({ index: c.index, label: c.label, score: score(c.score) })) };
    case 'detect':
      return {
        detections: r.detections.map((d) => ({
          label: d.label, index: d.index, score: score(d.score),
          box: { xmin: px(d.box.xmin), ymin: px(d.box.ymin), xmax: px(d.box.xmax), ymax: px(d.box.ymax) },
          ...(d.keypoints ? { keypoints: d.keypoints.map((p) => ({ x: px(p.x), y: px(p.y) })) } : {}),
        })),
      };
    case 'segment': return { mask: { width: r.mask.width, height: r.mask.height, classes: r.classes } };
    case 'embed': return { embedding: opts.embedding === false ? { dims: r.embedding.length } : Array.from(r.embedding) };
  }
}

/** One short line about a result (camera status line). */
export function briefResult(r: VisionResult): string {
  switch (r.task) {
    case 'classify': return r.top[0] ? `${r.top[0].label ?? r.top[0].index} ${r.top[0].score.toFixed(2)}` : '';
    case 'detect': return `${r.detections.length} objects${r.detections.length ? `: ${r.detections.slice(0, 3).map((d) => `${d.label ?? d.index} ${d.score.toFixed(2)}`).join(', ')}` : ''}`;
    case 'segment': return r.classes.slice(0, 3).map((c) => `${c.label ?? c.index} ${(c.fraction * 100).toFixed(0)}%`).join(', ');
    case 'embed': return `${r.embedding.length}-d embedding`;
  }
}

/** The table `reef run` prints for one image. */
export function resultTable(r: VisionResult): string {
  const name = (index: number, label: string | null) => (label ? `${label} (${index})` : `class ${index}`);
  switch (r.task) {
    case 'classify':
      return r.top.map((c, i) => `  ${String(i + 1).padStart(2)}  ${c.score.toFixed(4)}  ${name(c.index, c.label)}\n`).join('');
    case 'detect': {
      if (r.detections.length === 0) return '  no detections\n';
      const names = r.detections.map((d) => name(d.index, d.label));
      const w = Math.max(5, ...names.map((n) => n.length));
      const head = `   #  score   ${'label'.padEnd(w)}  ${['xmin', 'ymin', 'xmax', 'ymax'].map((h) => h.padStart(7)).join(' ')}\n`;
      return head + r.detections.map((d, i) => `  ${String(i + 1).padStart(2)}  ${d.score.toFixed(4)}  ${names[i].padEnd(w)}  ` +
        `${[d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax].map((v) => v.toFixed(1).padStart(7)).join(' ')}\n`).join('');
    }
    case 'segment': {
      const names = r.classes.map((c) => name(c.index, c.label));
      const w = Math.max(5, ...names.map((n) => n.length));
      return `  ${'class'.padEnd(w)}  ${'pixels'.padStart(9)}  share\n` +
        r.classes.map((c, i) => `  ${names[i].padEnd(w)}  ${String(c.pixels).padStart(9)}  ${(c.fraction * 100).toFixed(1).padStart(5)}%\n`).join('');
    }
    case 'embed': {
      const v = Array.from(r.embedding.subarray(0, 6), (x) => x.toFixed(4));
      return `  ${r.embedding.length}-d embedding (L2-normalised): [${v.join(', ')}${r.embedding.length > 6 ? `, ... (${r.embedding.length - 6} more)` : ''}]\n`;
    }
  }
}
