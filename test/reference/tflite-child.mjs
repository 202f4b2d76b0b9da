// The independent reference: TensorFlow Lite's own result through tfjs-tflite-node's binding,
// in a child process so that a crash of that binding is observed, not suffered.
// stdin: {"jobs":[{"model":"/path.tflite","inputs":[base64,...]}]} (raw bytes per input, in input order).
// stdout: one line per job, in order: {"outputs":[{"name","dtype","shape":[...],"data":base64}]} or {"error":"..."}.
import { readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tf = require('tfjs-tflite-node/build/Release/node_tflite_binding.node');
const { jobs } = JSON.parse(readFileSync(0, 'utf8'));
for (const job of jobs) {
  let out;
  try {
    const model = readFileSync(job.model);
    const interp = new tf.Interpreter(model.buffer.slice(model.byteOffset, model.byteOffset + model.byteLength), { threads: 1 });
    interp.getInputs().forEach((t, i) => {
      const src = Buffer.from(job.inputs[i] ?? '', 'base64');
      const dst = t.data();
      new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(src.subarray(0, dst.byteLength));
    });
    interp.infer();
    out = {
      outputs: interp.getOutputs().map((t) => {
        const d = t.data();
        return { name: t.name, dtype: t.dataType, shape: t.shape === '' ? [] : t.shape.split(',').map(Number), data: Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64') };
      }),
    };
  } catch (e) {
    out = { error: String(e && e.message ? e.message : e) };
  }
  // Synchronous, so a crash in the next job cannot lose this answer.
  writeSync(1, JSON.stringify(out) + '\n');
}
