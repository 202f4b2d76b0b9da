/**
 * `reef run` for every task, through the CLI. Oracles: the TFLite Task Library's own test goldens for
 * SSD MobileNet v1 on cats_and_dogs.jpg (../shared/eval/tflite-task-goldens.md), the Task Library's
 * DeepLab golden mask, and what the photos show.
 */
import { describe, it, expect, afterAll } from 'vitest';
import sharp from 'sharp';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli.js';
import { sharedPath } from '../shared.js';

const SSD = sharedPath('models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const CATS = sharedPath('images/misc/cats_and_dogs.jpg');
const DEEPLAB = sharedPath('models/edgetpu/deeplabv3_mnv2_dm05_pascal_quant.tflite');
const SEG_PHOTO = sharedPath('images/misc/segmentation_input_rotation0.jpg');
const SEG_GOLDEN = sharedPath('images/misc/segmentation_golden_rotation0.png');
const CLASSIFIER = sharedPath('models/edgetpu/mobilenet_v1_0.25_128_quant.tflite');
const FLOAT = sharedPath('models/tflite/mobilenet_v1_0.25_128_float.tflite');
const BURGER = sharedPath('images/misc/burger.jpg');
const FIX_ARG = '  fix: See the message: it names the argument, what was expected and what was received.\n';

const dir = mkdtempSync(join(tmpdir(), 'reef-run-tasks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Det { label: string; index: number; score: number; box: { xmin: number; ymin: number; xmax: number; ymax: number } }
interface Doc {
  task: string; task_source: string;
  results: Array<{ image: string; task: string; width: number; height: number; detections?: Det[]; top?: Array<{ index: number; label: string; score: number }>;
    mask?: { width: number; height: number; classes: Array<{ index: number; pixels: number; fraction: number }> }; embedding?: number[]; annotated?: string; mask_png?: string }>;
}
const json = (out: string) => JSON.parse(out) as Doc;

// C API object_detector_test.cc VerifyResults (kMaxPixelOffset = 5): origin_x, origin_y, width, height.
const C_API = [[54, 396, 393, 196], [602, 157, 394, 447], [261, 394, 179, 209], [389, 197, 276, 409]];
// Python object_detector_test.py _EXPECTED_DETECTION_RESULT (max_results=4), compared exactly there.
const PY = [[16, 'cat', 0.644531], [16, 'cat', 0.609375], [16, 'cat', 0.5625], [17, 'dog', 0.5]];

describe('reef run MODEL IMAGES: detect (SSD MobileNet v1, the model of the Task Library tests)', () => {
  it('--json, max 4: cat, cat, cat, dog with the Python test\'s exact scores; every box edge within the C test\'s 5 px (golden clipped to the photo)', async () => {
    const r = await cli('run', SSD, CATS, '--json', '--max-results', '4', '--score-threshold', '0');
    expect([r.code, r.err]).toEqual([0, '']);
    const doc = json(r.out);
    expect([doc.task, doc.task_source]).toEqual(['detect', 'metadata']); // the metadata's BoundingBoxProperties output
    const res = doc.results[0];
    expect([res.image, res.task, res.width, res.height]).toEqual([CATS, 'detect', 1200, 600]);
    const dets = res.detections!;
    expect(dets.map((d) => [d.index, d.label, Number(d.score.toFixed(6))])).toEqual(PY);
    dets.forEach((d, i) => {
      const [x, y, w, h] = C_API[i];
      const golden = [x, y, Math.min(x + w, 1200), Math.min(y + h, 600)];
      const ours = [d.box.xmin, d.box.ymin, d.box.xmax, d.box.ymax];
      ours.forEach((v, k) => expect(Math.abs(v - golden[k]), `detection ${i} edge ${k}: ${ours.join(',')} vs ${golden.join(',')}`).toBeLessThanOrEqual(5));
    });
  });

  it('the Task Library option checks: threshold 0.6 -> exactly two cats (C API); max 3 -> 3; allow cat,dog -> only those; deny cat -> no cat', async () => {
    const two = json((await cli('run', SSD, CATS, '--json', '--score-threshold', '0.6')).out).results[0].detections!;
    expect(two.map((d) => [d.label, d.score])).toEqual([['cat', 0.64453125], ['cat', 0.609375]]);
    const three = json((await cli('run', SSD, CATS, '--json', '--score-threshold', '0', '--max-results', '3')).out).results[0].detections!;
    expect(three.map((d) => d.label)).toEqual(['cat', 'cat', 'cat']);
    const allowed = json((await cli('run', SSD, CATS, '--json', '--score-threshold', '0.3', '--allow', 'cat,dog')).out).results[0].detections!;
    expect(new Set(allowed.map((d) => d.label))).toEqual(new Set(['cat', 'dog']));
    const denied = json((await cli('run', SSD, CATS, '--json', '--score-threshold', '0.3', '--deny', 'cat')).out).results[0].detections!;
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.some((d) => d.label === 'cat')).toBe(false);
    const byIndex = json((await cli('run', SSD, CATS, '--json', '--score-threshold', '0.3', '--allow', '17')).out).results[0].detections!;
    expect(byIndex.map((d) => d.label)).toEqual(denied.filter((d) => d.label === 'dog').map((d) => d.label));
  });

  it('a table per image for people; --resize-filter nearest changes the result (the goldens assume bilinear)', async () => {
    const r = await cli('run', SSD, CATS, '--score-threshold', '0.6');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('cats_and_dogs.jpg  1200x600  detect: 2 detections');
    expect(lines[1]).toBe('   #  score   label        xmin    ymin    xmax    ymax');
    expect(lines[2]).toMatch(/^ {3}1 {2}0\.6445 {2}cat \(16\) {2} +\d+\.\d +\d+\.\d +\d+\.\d +\d+\.\d$/);
    expect(lines[3]).toMatch(/^ {3}2 {2}0\.6094 {2}cat \(16\) {2} +\d+\.\d +\d+\.\d +\d+\.\d +\d+\.\d$/);
    expect(lines.length).toBe(5);
    const near = json((await cli('run', SSD, CATS, '--json', '--max-results', '4', '--score-threshold', '0', '--resize-filter', 'nearest')).out).results[0].detections!;
    expect(near.map((d) => Number(d.score.toFixed(6)))).not.toEqual(PY.map((p) => p[2]));
  });

  it('--resize center-crop: boxes stay inside the centre square the model saw (x 300..900); letterbox: inside the photo', async () => {
    const crop = json((await cli('run', SSD, CATS, '--json', '--score-threshold', '0.3', '--resize', 'center-crop')).out).results[0].detections!;
    expect(crop.length).toBeGreaterThan(0);
    for (const d of crop) expect(d.box.xmin >= 300 && d.box.xmax <= 900 && d.box.ymin >= 0 && d.box.ymax <= 600, JSON.stringify(d.box)).toBe(true);
    const lb = json((await cli('run', SSD, CATS, '--json', '--score-threshold', '0.3', '--resize', 'letterbox')).out).results[0].detections!;
    expect(lb.length).toBeGreaterThan(0);
    for (const d of lb) expect(d.box.xmin >= 0 && d.box.xmax <= 1200 && d.box.ymin >= 0 && d.box.ymax <= 600).toBe(true);
  });

  it('--annotate DIR writes the photo at its own size with the boxes drawn: a box edge changes colour, the photo elsewhere does not', async () => {
    const out = join(dir, 'ann');
    const r = await cli('run', SSD, CATS, '--json', '--score-threshold', '0.6', '--annotate', out);
    expect(r.code).toBe(0);
    const res = json(r.out).results[0];
    expect(res.annotated).toBe(join(out, 'cats_and_dogs.png'));
    const drawn = await sharp(res.annotated!).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const orig = await sharp(CATS).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([drawn.info.width, drawn.info.height]).toEqual([1200, 600]);
    const px = (b: Buffer, x: number, y: number) => [...b.subarray((y * 1200 + x) * 3, (y * 1200 + x) * 3 + 3)];
    const b = res.detections![0].box;
    const edge = [Math.round(b.xmin), Math.round((b.ymin + b.ymax) / 2)] as const;
    expect(px(drawn.data, ...edge)).not.toEqual(px(orig.data, ...edge));
    // far from every box (top left corner of the photo: no detection there)
    expect(px(drawn.data, 5, 5)).toEqual(px(orig.data, 5, 5));
  });
});

describe('reef run: segment, classify, embed', () => {
  it('segment: mask summary at the photo\'s size (background, horse, person); --save-mask PNG of class indices agrees with the Task Library golden on >= 85% of pixels', async () => {
    const masks = join(dir, 'masks');
    const r = await cli('run', DEEPLAB, SEG_PHOTO, '--json', '--save-mask', masks, '--annotate', join(dir, 'seg'));
    expect([r.code, r.err]).toEqual([0, '']);
    const doc = json(r.out);
    expect([doc.task, doc.task_source]).toEqual(['segment', 'outputs']);
    const res = doc.results[0];
    expect([res.mask!.width, res.mask!.height]).toEqual([257, 257]);
    expect(res.mask!.classes.map((c) => c.index).sort((a, b) => a - b)).toEqual([0, 13, 15]);
    expect(res.mask!.classes.reduce((a, c) => a + c.pixels, 0)).toBe(257 * 257);
    expect(res.mask_png).toBe(join(masks, 'segmentation_input_rotation0.mask.png'));
    const mask = await sharp(res.mask_png!).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const golden = await sharp(SEG_GOLDEN).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([mask.info.width, mask.info.height]).toEqual([257, 257]);
    let same = 0;
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i] * 10 === golden.data[i]) same++;
    expect(same / mask.data.length).toBeGreaterThanOrEqual(0.85);
    const counts = new Map<number, number>();
    for (const v of mask.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect(res.mask!.classes.map((c) => [c.index, c.pixels])).toEqual([...counts].sort((a, b) => b[1] - a[1]));
    const t = await cli('run', DEEPLAB, SEG_PHOTO);
    expect(t.out.split('\n').slice(0, 2)).toEqual(['segmentation_input_rotation0.jpg  257x257  segment', '  class        pixels  share']);
  });

  it('classify: the task from the metadata (ImageClassifier); labels from it; the burger is a cheeseburger (934)', async () => {
    const r = await cli('run', CLASSIFIER, BURGER, '--json', '-k', '2');
    expect(r.code).toBe(0);
    const doc = json(r.out);
    expect([doc.task, doc.task_source]).toEqual(['classify', 'metadata']);
    expect(doc.results[0].top!.map((c) => [c.index, c.label])[0]).toEqual([934, 'cheeseburger']);
    const denied = json((await cli('run', CLASSIFIER, BURGER, '--json', '-k', '2', '--deny', 'cheeseburger')).out).results[0].top!;
    expect(denied.map((c) => c.index)).not.toContain(934);
    expect(denied[0].index).toBe(doc.results[0].top![1].index);
  });

  it('embed (forced): a unit vector per image; the same photo twice gives cosine 1, two different photos less', async () => {
    const r = await cli('run', FLOAT, BURGER, BURGER, CATS, '--task', 'embed', '--json');
    expect(r.code).toBe(0);
    const doc = json(r.out);
    expect([doc.task, doc.task_source]).toEqual(['embed', 'option']);
    const [a, b, c] = doc.results.map((x) => x.embedding!);
    expect(a).toHaveLength(1001);
    const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0);
    expect(dot(a, a)).toBeCloseTo(1, 5);
    expect(dot(a, b)).toBeCloseTo(1, 6);
    expect(dot(a, c)).toBeLessThan(0.9);
  });
});

describe('reef run: bad inputs get coded errors', () => {
  it('EXPECTED FAILURE - the wrong task for the model: REEF_TASK_MISMATCH names the task, what it needs, the outputs and the task they fit', async () => {
    const r = await cli('run', SSD, CATS, '--task', 'classify');
    expect(r.code).toBe(1);
    expect(r.err).toBe('reef: REEF_TASK_MISMATCH: --task classify was asked for, which needs one scores vector ([N] or [1,N], N >= 2), but the model\'s outputs are ' +
      'TFLite_Detection_PostProcess float32[1,10,4], TFLite_Detection_PostProcess:1 float32[1,10], TFLite_Detection_PostProcess:2 float32[1,10], ' +
      'TFLite_Detection_PostProcess:3 float32[1]; they fit detect (run without --task, or with --task detect)\n' +
      '  fix: Drop --task (reef takes the task from the metadata or the outputs) or pass the task the message names; `reef inspect` lists the outputs; --raw prints them as they are.\n');
    const s = await cli('run', CLASSIFIER, BURGER, '--task', 'segment', '--json');
    expect(s.code).toBe(1);
    expect(JSON.parse(s.out).error).toMatchObject({
      code: 'REEF_TASK_MISMATCH',
      message: '--task segment was asked for, which needs one [1,H,W] class map or [1,H,W,C] scores map (H, W >= 8), but the model\'s outputs are ' +
        'MobilenetV1/Predictions/Reshape_1 uint8[1,1001]; they fit classify (run without --task, or with --task classify)',
    });
    const d = await cli('run', DEEPLAB, SEG_PHOTO, '--task', 'detect', '--json');
    expect(JSON.parse(d.out).error.code).toBe('REEF_TASK_MISMATCH');
  });

  it('EXPECTED FAILURE - bad option values: usage errors (exit 2) that name the option', async () => {
    const cases: Array<[string[], string]> = [
      [['--task', 'count'], 'Expected one of classify, detect, segment, embed for --task but received "count"'],
      [['--resize', 'stretch'], 'Expected one of squash, center-crop, letterbox for --resize but received "stretch"'],
      [['--resize-filter', 'cubic'], 'Expected one of bilinear, nearest for --resize-filter but received "cubic"'],
      [['--score-threshold', '2'], 'Expected a number from 0 to 1 for --score-threshold but received "2"'],
      [['--max-results', '0'], 'Expected a positive integer for --max-results but received "0"'],
      [['--allow', 'cat,dgo'], 'Expected labels of the model or class indices for --allow but received "dgo", which is not one of its 90 labels'],
      [['--save-mask', join(dir, 'm2')], 'Expected --save-mask with a segmentation model but received it for the task detect (model metadata)'],
      [['--raw', '--task', 'detect'], 'Expected --task with images run for a task, but received --raw, which print every output as it is'],
    ];
    for (const [args, msg] of cases) {
      const r = await cli('run', SSD, CATS, ...args);
      expect([r.code, r.err], args.join(' ')).toEqual([2, `reef: REEF_INVALID_ARGUMENT: ${msg}\n${FIX_ARG}`]);
    }
  });

  it('EXPECTED FAILURE - --annotate into a file that is not a folder: REEF_OUTPUT_UNWRITABLE before anything runs', async () => {
    const f = join(dir, 'a-file');
    writeFileSync(f, 'x');
    const r = await cli('run', SSD, CATS, '--annotate', f, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error).toMatchObject({ code: 'REEF_OUTPUT_UNWRITABLE', message: `Expected a folder for --annotate but received "${f}" (it is not a folder and cannot be made one)` });
  });
});
