/**
 * bench:camera — SSD MobileNet v1 on ../shared/video/vtest_h264_crf28.mp4 through `reef camera`'s
 * pipeline (ffmpeg -> newest-frame slot -> model): processed fps against 1 / invoke time measured in
 * the same run (the plain native invoke loop on the same interpreter), and the latency breakdown per
 * frame (slot wait, pre-processing on the JS thread, hand-off to the runner thread and back, invoke,
 * post-processing), with native pre-processing (on the runner thread, the default) and with the
 * TypeScript pre-processing (on the JS thread), one after the other in the same run.
 * The video plays in real time resampled to --fps (default 30), faster than the model takes frames,
 * so the model is never idle for lack of them. Figures are reported, never asserted.
 *
 *   npm run bench:camera -- [--frames=100] [--threads=2] [--fps=30] [--json]
 */
import { join } from 'node:path';
import { runCamera, type FrameResult } from '../src/camera/camera.js';
import { openVision } from '../src/tasks/vision.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const MODEL = join(SHARED, 'models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const VIDEO = join(SHARED, 'video/vtest_h264_crf28.mp4');
const arg = (name: string, dflt: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const frames = arg('frames', 100);
const threads = arg('threads', 2);
const fps = arg('fps', 30);

const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] ?? 0; };

async function measure(native: boolean) {
  const runner = await openVision(MODEL, { threads }, { detect: { scoreThreshold: 0.5 }, nativePreprocess: native });
  try {
    // Baseline in the same run: the plain native invoke loop on this interpreter, before and after.
    await runner.session.invokeLoop(5);
    const before = med(Array.from(await runner.session.invokeLoop(30)));
    const rs: FrameResult[] = [];
    const s = await runCamera(runner, { source: VIDEO, frames, realtime: true, fps, onResult: (r) => rs.push(r) });
    const after = med(Array.from(await runner.session.invokeLoop(30)));
    const invokeLoopMs = (before + after) / 2;
    return {
      preprocessing: native ? 'native (runner thread)' : 'TypeScript (JS thread)',
      frames: s.processed, fps: s.fps, invoke_loop_ms: invokeLoopMs, ideal_fps: 1000 / invokeLoopMs, ratio: s.fps / (1000 / invokeLoopMs),
      dropped: s.dropped, received: s.received,
      p50_ms: {
        wait: med(rs.map((r) => r.wait_ms)), pre: med(rs.map((r) => r.pre_ms)), handoff: med(rs.map((r) => r.handoff_ms)),
        invoke: med(rs.map((r) => r.invoke_ms)), post: med(rs.map((r) => r.post_ms)), latency: s.latency_p50_ms,
      },
      latency_p99_ms: s.latency_p99_ms,
    };
  } finally {
    await runner.session.dispose();
  }
}

const runs = [await measure(true), await measure(false)];
const report = { model: 'ssd_mobilenet_v1_coco_quant_postprocess', video: 'vtest_h264_crf28.mp4 (768x576)', threads, source_fps: fps, runs };
if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(report) + '\n');
else {
  process.stdout.write(`SSD MobileNet v1 on vtest_h264_crf28.mp4 (768x576) played at ${fps} fps, ${threads} threads, ${frames} frames per run\n`);
  for (const r of runs) {
    process.stdout.write(`${r.preprocessing}: processed ${r.fps.toFixed(2)} fps; invoke loop ${r.invoke_loop_ms.toFixed(1)} ms -> ${r.ideal_fps.toFixed(2)} fps; ratio ${(r.ratio * 100).toFixed(1)}%\n`);
    process.stdout.write(`  p50 per frame: slot wait ${r.p50_ms.wait.toFixed(1)} ms, pre ${r.p50_ms.pre.toFixed(2)} ms, hand-off ${r.p50_ms.handoff.toFixed(2)} ms, ` +
      `invoke ${r.p50_ms.invoke.toFixed(1)} ms, post ${r.p50_ms.post.toFixed(2)} ms; latency p50 ${r.p50_ms.latency.toFixed(1)} ms, p99 ${r.latency_p99_ms.toFixed(1)} ms; ` +
      `dropped ${r.dropped} of ${r.received}\n`);
  }
}
