/**
 * bench:camera — SSD MobileNet v1 on ../shared/video/vtest_h264_crf28.mp4 through `reef camera`'s
 * pipeline (ffmpeg -> newest-frame slot -> model): processed fps against 1 / invoke time measured in
 * the same run, and the latency breakdown per frame (slot wait, pre-processing, invoke, decode).
 * The video plays in real time resampled to 60 fps, so the model is never idle for lack of frames.
 * Figures are reported, never asserted.
 */
import { join } from 'node:path';
import { runCamera, type FrameResult } from '../src/camera/camera.js';
import { openVision } from '../src/tasks/vision.js';

const SHARED = join(import.meta.dirname, '..', '..', 'shared');
const MODEL = join(SHARED, 'models/tflite/ssd_mobilenet_v1_coco_quant_postprocess.tflite');
const VIDEO = join(SHARED, 'video/vtest_h264_crf28.mp4');
const frames = Number(process.argv.find((a) => a.startsWith('--frames='))?.slice(9) ?? 150);
const threads = Number(process.argv.find((a) => a.startsWith('--threads='))?.slice(10) ?? 2);

const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] ?? 0; };
const runner = await openVision(MODEL, { threads }, { detect: { scoreThreshold: 0.5 } });
try {
  // Baseline in the same run: the plain native invoke loop on this interpreter.
  await runner.session.invokeLoop(10);
  const loop = await runner.session.invokeLoop(50);
  const invokeLoopMs = med(Array.from(loop));
  const rs: FrameResult[] = [];
  // Played in real time and resampled to 60 fps: frames always arrive faster than the model takes them.
  const s = await runCamera(runner, { source: VIDEO, frames, realtime: true, fps: 60, onResult: (r) => rs.push(r) });
  const report = {
    model: 'ssd_mobilenet_v1_coco_quant_postprocess', video: 'vtest_h264_crf28.mp4', threads, frames: s.processed,
    fps: s.fps, invoke_loop_ms: invokeLoopMs, ideal_fps: 1000 / invokeLoopMs, ratio: s.fps / (1000 / invokeLoopMs),
    dropped: s.dropped, received: s.received,
    p50_ms: { wait: med(rs.map((r) => r.wait_ms)), pre: med(rs.map((r) => r.pre_ms)), invoke: med(rs.map((r) => r.invoke_ms)), post: med(rs.map((r) => r.post_ms)), latency: s.latency_p50_ms },
    latency_p99_ms: s.latency_p99_ms,
    preprocessing: 'TypeScript (bilinear resize + quantize on the JS thread); native pre-processing is not built yet',
  };
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(report) + '\n');
  else {
    process.stdout.write(`SSD MobileNet v1 on vtest_h264_crf28.mp4 (768x576), ${threads} threads, ${s.processed} frames\n`);
    process.stdout.write(`processed ${s.fps.toFixed(1)} fps; invoke loop ${invokeLoopMs.toFixed(1)} ms -> ${(1000 / invokeLoopMs).toFixed(1)} fps; ratio ${(report.ratio * 100).toFixed(0)}%\n`);
    process.stdout.write(`p50 per frame: slot wait ${report.p50_ms.wait.toFixed(1)} ms, pre ${report.p50_ms.pre.toFixed(1)} ms, invoke ${report.p50_ms.invoke.toFixed(1)} ms, ` +
      `post ${report.p50_ms.post.toFixed(2)} ms; latency p50 ${s.latency_p50_ms.toFixed(1)} ms, p99 ${s.latency_p99_ms.toFixed(1)} ms; dropped ${s.dropped} of ${s.received}\n`);
  }
} finally {
  await runner.session.dispose();
}
