/**
 * The page of the camera's web view (see web.ts). It reads the MJPEG stream itself (fetch + the
 * multipart parts, each tagged with its frame number), paints each picture on a canvas and draws
 * that frame's results on it (boxes, labels, keypoints, top classes) from the WebSocket feed;
 * a segmentation mask goes on a second canvas laid over the picture (Pascal VOC colours, opaque on
 * that canvas, made translucent by CSS, so what is drawn reads back exactly), mapped onto the
 * picture as reef maps it (the placement: resize mode), with a legend of the classes present;
 * shows fps and latency. With a model to offer (a classifier, or an SSD detector ending in
 * TFLite_Detection_PostProcess), it can also run the same model in
 * the browser (@tensorflow/tfjs-tflite, WASM) on the newest frame, fed exactly the pixels reef fed
 * (same bilinear squash, same normalisation), and show both results and latencies side by side.
 * `window.reef` and `window.reefBrowser` expose what the page did, for people and for tests.
 */

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function cameraPage(o: { title: string; browserModel: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reef camera: ${esc(o.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 12px; background: #111; color: #eee; }
#stage { position: relative; display: inline-block; max-width: 100%; }
#view { max-width: 100%; background: #000; display: block; }
#overlay { position: absolute; left: 0; top: 0; width: 100%; height: 100%; opacity: 0.5; pointer-events: none; }
#legend { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; }
#legend .swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.35em; vertical-align: -0.1em; border: 1px solid #888; }
#stats span { margin-right: 1.2em; }
#side { display: flex; gap: 2em; margin-top: 8px; }
#side div { min-width: 18em; }
button { font: inherit; }
.muted { color: #999; }
</style></head>
<body>
<h3>reef camera <span class="muted">${esc(o.title)}</span></h3>
<div id="stats"><span id="state">connecting</span><span>frames <b id="frames">0</b></span><span>fps <b id="fps">-</b></span>
<span>latency <b id="latency">-</b> ms</span><span>invoke <b id="invoke">-</b> ms</span></div>
<div id="stage"><canvas id="view" width="640" height="480"></canvas><canvas id="overlay" width="640" height="480"></canvas></div>
<ul id="legend"></ul>
<div id="side">
  <div><b>on the device (reef)</b><pre id="reefTop" class="muted">-</pre></div>
  ${o.browserModel ? '<div><b>in this browser (tfjs-tflite, WASM)</b> <button id="runBrowser" disabled>run on the newest frame</button><pre id="browserTop" class="muted">loading...</pre></div>' : ''}
</div>
${o.browserModel ? '<script src="/vendor/tf-core.min.js"></script><script src="/vendor/tf-backend-cpu.min.js"></script><script src="/vendor/tf-tflite.min.js"></script>' : ''}
<script>
'use strict';
const $ = (id) => document.getElementById(id);
const PALETTE = [[255,56,56],[255,157,151],[255,112,31],[255,178,29],[207,210,49],[72,249,10],[146,204,23],[61,219,134],[26,147,52],[0,212,187],[44,153,168],[0,194,255],[52,69,147],[100,115,255],[0,24,236],[132,56,255],[82,0,133],[203,56,255],[255,149,200],[255,55,199]];
const colour = (i) => PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
const state = window.reef = { results: 0, frames: 0, last: null, drawnFrame: -1, drawn: [], legend: [], byFrame: new Map(), errors: [] };
const view = $('view');
const ctx = view.getContext('2d');
const overlay = $('overlay');
const octx = overlay.getContext('2d');
/** The Pascal VOC colour map (DeepLab's, the Task Library's; src/tasks/segment.ts vocColor). */
function vocColor(i) {
  let r = 0, g = 0, b = 0, c = i;
  for (let j = 7; j >= 0; j--) { r |= (c & 1) << j; g |= ((c >> 1) & 1) << j; b |= ((c >> 2) & 1) << j; c >>= 3; }
  return [r, g, b];
}
/** A run-length mask (src/tasks/segment.ts maskToRle: varint class, varint length, base64) as class indices. */
function decodeRle(rle, w, h) {
  const bin = atob(rle);
  const out = new Uint16Array(w * h);
  let i = 0, o = 0;
  const varint = () => { let v = 0, shift = 0, c; do { c = bin.charCodeAt(i++); v += (c & 0x7f) * 2 ** shift; shift += 7; } while (c >= 0x80 && i < bin.length); return v; };
  while (i < bin.length && o < out.length) { const v = varint(); const n = varint(); out.fill(v, o, o + n); o += n; }
  if (o !== out.length) throw new Error('the mask covers ' + o + ' of ' + out.length + ' pixels');
  return out;
}
/**
 * The mask on the picture: each picture pixel takes the class of the mask pixel its centre maps to
 * through the placement (reef's maskToPhoto, src/tasks/segment.ts); pixels outside the region the
 * model saw (center-crop) stay uncovered. Background (0) is not coloured. Returns the pixels per class.
 */
function drawMask(m) {
  const W = view.width, H = view.height, mm = m.mask.model, p = m.placement;
  if (overlay.width !== W || overlay.height !== H) { overlay.width = W; overlay.height = H; }
  const data = decodeRle(mm.rle, mm.width, mm.height);
  const sx = mm.width / p.width, sy = mm.height / p.height;
  const inside = (v, a, len) => v >= a && v <= a + len;
  const col = new Int32Array(W), row = new Int32Array(H);
  for (let x = 0; x < W; x++) {
    const ix = p.dst.x + ((x + 0.5 - p.src.x) * p.dst.width) / p.src.width;
    col[x] = inside(x + 0.5, p.src.x, p.src.width) ? Math.min(mm.width - 1, Math.max(0, Math.floor(ix * sx))) : -1;
  }
  for (let y = 0; y < H; y++) {
    const iy = p.dst.y + ((y + 0.5 - p.src.y) * p.dst.height) / p.src.height;
    row[y] = inside(y + 0.5, p.src.y, p.src.height) ? Math.min(mm.height - 1, Math.max(0, Math.floor(iy * sy))) * mm.width : -1;
  }
  const img = octx.createImageData(W, H);
  const px = img.data;
  const counts = new Map();
  const colours = new Map();
  for (let y = 0; y < H; y++) {
    if (row[y] < 0) continue;
    for (let x = 0; x < W; x++) {
      if (col[x] < 0) continue;
      const v = data[row[y] + col[x]];
      counts.set(v, (counts.get(v) ?? 0) + 1);
      if (v === 0) continue;
      let c = colours.get(v);
      if (!c) { c = vocColor(v); colours.set(v, c); }
      const o = (y * W + x) * 4;
      px[o] = c[0]; px[o + 1] = c[1]; px[o + 2] = c[2]; px[o + 3] = 255;
    }
  }
  octx.putImageData(img, 0, 0);
  return counts;
}
/** The legend: every class on the picture, most pixels first, with its colour and share. */
function showLegend(counts, labels) {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const legend = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([index, pixels]) => ({ index, label: labels.get(index) ?? null, pixels }));
  const ul = $('legend');
  ul.replaceChildren(...legend.map((c) => {
    const li = document.createElement('li');
    li.dataset.index = String(c.index);
    const sw = document.createElement('span');
    sw.className = 'swatch';
    const [r, g, b] = vocColor(c.index);
    sw.style.background = c.index === 0 ? 'transparent' : 'rgb(' + r + ',' + g + ',' + b + ')';
    li.append(sw, (c.label ?? 'class ' + c.index) + (c.index === 0 ? ' (not coloured)' : '') + ' ' + (100 * c.pixels / total).toFixed(1) + '%');
    return li;
  }));
  state.legend = legend;
}
function clearMask() {
  if (state.legend.length === 0) return;
  octx.clearRect(0, 0, overlay.width, overlay.height);
  $('legend').replaceChildren();
  state.legend = [];
}

function fmtTop(top) {
  return top.map((c) => (c.score.toFixed ? c.score.toFixed(3) : c.score) + '  ' + (c.label ?? 'class ' + c.index) + ' (' + c.index + ')').join('\\n');
}

function fmtDets(dets) {
  const r = (v) => Math.round(v);
  return dets.map((d) => Number(d.score).toFixed(3) + '  ' + (d.label ?? 'class ' + d.index) + '  [' + r(d.box.xmin) + ',' + r(d.box.ymin) + ' - ' + r(d.box.xmax) + ',' + r(d.box.ymax) + ']').join('\\n');
}

function drawResult(m) {
  const drawn = [];
  if (m.task !== 'segment') clearMask();
  const line = Math.max(2, Math.round(Math.min(view.width, view.height) / 200));
  const font = Math.max(12, Math.round(Math.min(view.width, view.height) / 30));
  ctx.font = font + 'px sans-serif';
  ctx.lineWidth = line;
  if (m.task === 'detect') {
    for (const d of m.detections) {
      const [r, g, b] = colour(d.index);
      const x = Math.round(d.box.xmin), y = Math.round(d.box.ymin);
      const w = Math.round(d.box.xmax) - x, h = Math.round(d.box.ymax) - y;
      ctx.strokeStyle = 'rgb(' + r + ',' + g + ',' + b + ')';
      ctx.strokeRect(x, y, w, h);
      const text = (d.label ?? 'class ' + d.index) + ' ' + Number(d.score).toFixed(2);
      ctx.fillStyle = 'rgb(' + r + ',' + g + ',' + b + ')';
      ctx.fillText(text, x + 2, y > font + 4 ? y - 4 : y + font + 2);
      for (const k of d.keypoints ?? []) { ctx.beginPath(); ctx.arc(k.x, k.y, line + 1, 0, 2 * Math.PI); ctx.fill(); }
      drawn.push({ kind: 'box', index: d.index, label: d.label, x, y, w, h, rgb: [r, g, b] });
    }
  } else if (m.task === 'segment') {
    const counts = drawMask(m);
    showLegend(counts, new Map(m.mask.classes.map((c) => [c.index, c.label])));
    for (const c of state.legend) drawn.push({ kind: 'mask', index: c.index, pixels: c.pixels });
  } else {
    const rows = m.task === 'classify' ? m.top.slice(0, 3).map((c) => (c.label ?? 'class ' + c.index) + ' ' + Number(c.score).toFixed(3))
      : [m.task + ' ' + (m.embedding?.dims ?? '') + '-d'];
    rows.forEach((t, i) => {
      ctx.fillStyle = 'rgba(0,0,0,0.6)';
      ctx.fillRect(4, 4 + i * (font + 6), ctx.measureText(t).width + 8, font + 6);
      ctx.fillStyle = '#fff';
      ctx.fillText(t, 8, 4 + i * (font + 6) + font);
      drawn.push({ kind: 'text', text: t });
    });
  }
  state.drawn = drawn;
}

function onResult(m) {
  state.results++;
  state.last = m;
  state.byFrame.set(m.frame, m);
  if (state.byFrame.size > 64) state.byFrame.delete(state.byFrame.keys().next().value);
  $('fps').textContent = m.fps.toFixed(1);
  $('latency').textContent = m.latency_ms.toFixed(1);
  $('invoke').textContent = m.invoke_ms.toFixed(1);
  if (m.task === 'classify') $('reefTop').textContent = 'frame ' + m.frame + '\\n' + fmtTop(m.top);
  else if (m.task === 'detect') $('reefTop').textContent = 'frame ' + m.frame + ', ' + m.invoke_ms.toFixed(1) + ' ms invoke: ' + m.detections.length + ' objects\\n' + fmtDets(m.detections);
  else if (m.task === 'segment') $('reefTop').textContent = 'frame ' + m.frame + '\\n' + m.mask.classes.slice(0, 5).map((c) => (c.label ?? 'class ' + c.index) + ' ' + (c.fraction * 100).toFixed(1) + '%').join('\\n');
}

function connectWs() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  ws.onopen = () => { $('state').textContent = 'live'; };
  ws.onmessage = (e) => onResult(JSON.parse(e.data));
  ws.onclose = () => { $('state').textContent = 'disconnected'; setTimeout(connectWs, 1000); };
}

function indexOf(hay, needle, from) {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function paint(jpeg, frame) {
  const bmp = await createImageBitmap(new Blob([jpeg], { type: 'image/jpeg' }));
  if (view.width !== bmp.width || view.height !== bmp.height) { view.width = bmp.width; view.height = bmp.height; }
  ctx.drawImage(bmp, 0, 0);
  bmp.close();
  state.frames++;
  $('frames').textContent = String(state.frames);
  const m = state.byFrame.get(frame) ?? state.last;
  if (m) { drawResult(m); state.drawnFrame = m.frame; }
}

async function readMjpeg() {
  const headEnd = new TextEncoder().encode('\\r\\n\\r\\n');
  try {
    const res = await fetch('/stream.mjpg', { cache: 'no-store' });
    const reader = res.body.getReader();
    let buf = new Uint8Array(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const next = new Uint8Array(buf.length + value.length);
      next.set(buf); next.set(value, buf.length); buf = next;
      for (;;) {
        const h = indexOf(buf, headEnd, 0);
        if (h < 0) break;
        const head = new TextDecoder().decode(buf.subarray(0, h));
        const len = Number(/content-length: *(\\d+)/i.exec(head)?.[1] ?? NaN);
        const frame = Number(/x-reef-frame: *(\\d+)/i.exec(head)?.[1] ?? -1);
        if (!(len >= 0)) { buf = buf.subarray(h + 4); continue; }
        if (buf.length < h + 4 + len) break;
        const jpeg = buf.slice(h + 4, h + 4 + len);
        buf = buf.subarray(h + 4 + len);
        await paint(jpeg, frame);
      }
    }
  } catch (e) { state.errors.push(String(e)); }
  setTimeout(readMjpeg, 1000);
}

connectWs();
readMjpeg();
${o.browserModel ? BROWSER_SCRIPT : ''}
</script></body></html>`;
}

/** In-browser inference with tfjs-tflite on the newest frame, fed exactly as reef feeds it. */
const BROWSER_SCRIPT = `
const browser = window.reefBrowser = { model: null, info: null, error: null, runs: [] };
/** reef's squash resize (src/tasks/resize.ts resizePixels): bilinear, half-pixel centres, no antialiasing, rounded. */
function resizeSquash(px, sw, sh, ch, w, h) {
  const out = new Uint8Array(w * h * ch);
  const fx = sw / w, fy = sh / h;
  const x0 = new Int32Array(w), x1 = new Int32Array(w), wx = new Float64Array(w);
  for (let i = 0; i < w; i++) {
    let x = (i + 0.5) * fx - 0.5;
    x = Math.min(Math.max(x, 0), sw - 1);
    x0[i] = Math.floor(x); x1[i] = Math.min(x0[i] + 1, sw - 1); wx[i] = x - x0[i];
  }
  let o = 0;
  for (let j = 0; j < h; j++) {
    let y = (j + 0.5) * fy - 0.5;
    y = Math.min(Math.max(y, 0), sh - 1);
    const y0 = Math.floor(y), y1 = Math.min(y0 + 1, sh - 1), wy = y - y0;
    const r0 = y0 * sw * ch, r1 = y1 * sw * ch;
    for (let i = 0; i < w; i++) {
      const a = x0[i] * ch, b = x1[i] * ch, t = wx[i];
      for (let c = 0; c < ch; c++) {
        const top = px[r0 + a + c] + (px[r0 + b + c] - px[r0 + a + c]) * t;
        const bot = px[r1 + a + c] + (px[r1 + b + c] - px[r1 + a + c]) * t;
        out[o++] = Math.round(top + (bot - top) * wy);
      }
    }
  }
  return out;
}
const at = (v, c) => (Array.isArray(v) ? v[c % v.length] : v);
function toInput(px, info) {
  const n = px.length, ch = info.channels;
  if (info.feed === 'raw') return tf.tensor(Int32Array.from(px), [1, info.height, info.width, ch], 'int32');
  if (info.feed === 'float') {
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = (px[i] - at(info.mean, i % ch)) / at(info.std, i % ch);
    return tf.tensor(f, [1, info.height, info.width, ch], 'float32');
  }
  const q = new Int32Array(n), lo = info.dtype === 'uint8' ? 0 : -128, hi = info.dtype === 'uint8' ? 255 : 127;
  for (let i = 0; i < n; i++) {
    const v = Math.round(((px[i] - at(info.mean, i % ch)) / at(info.std, i % ch)) / info.scale) + info.zeroPoint;
    q[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return tf.tensor(q, [1, info.height, info.width, ch], 'int32');
}

function topK(values, k) {
  return Array.from(values, (s, i) => ({ index: i, score: s })).sort((a, b) => b.score - a.score || a.index - b.index).slice(0, k);
}
/**
 * A TFLite_Detection_PostProcess model's outputs read as reef reads them (src/tasks/detect/ssd.ts
 * decodeSsdPostprocess, detect/types.ts applyDetectOptions): best first, threshold, allow/deny, max;
 * boxes (ymin, xmin, ymax, xmax, normalised) mapped to the frame's pixels (resize.ts boxToPhoto).
 */
function ssdOutputs(out, d) {
  const get = (name) => { const t = out[name]; if (!t) throw new Error('the model has no output ' + name); return Array.from(t.dataSync()); };
  return { boxes: get(d.outputs.boxes), classes: get(d.outputs.classes), scores: get(d.outputs.scores), count: get(d.outputs.count) };
}
function decodeSsd({ boxes, classes, scores, count }, d, p) {
  const n = Math.min(classes.length, scores.length, boxes.length / 4);
  const cnt = Math.max(0, Math.min(n, Math.round(count[0])));
  const dets = [];
  for (let i = 0; i < cnt; i++) dets.push({ index: Math.round(classes[i]), score: scores[i], b: [boxes[i * 4], boxes[i * 4 + 1], boxes[i * 4 + 2], boxes[i * 4 + 3]] });
  dets.sort((x, y) => y.score - x.score);
  const allow = d.allow ? new Set(d.allow) : null, deny = d.deny ? new Set(d.deny) : null, max = d.maxResults ?? Infinity;
  const sx = p.src.width / p.dst.width, sy = p.src.height / p.dst.height;
  const mx = (x) => Math.min(Math.max(p.src.x + (x * p.width - p.dst.x) * sx, p.src.x), p.src.x + p.src.width);
  const my = (y) => Math.min(Math.max(p.src.y + (y * p.height - p.dst.y) * sy, p.src.y), p.src.y + p.src.height);
  const kept = [];
  for (const e of dets) {
    if (kept.length >= max) break;
    if (!(e.score >= d.scoreThreshold)) continue;
    if (allow && !allow.has(e.index)) continue;
    if (deny && deny.has(e.index)) continue;
    const [ymin, xmin, ymax, xmax] = e.b;
    kept.push({ index: e.index, label: browser.info.labels?.[e.index] ?? null, score: e.score, box: { xmin: mx(xmin), ymin: my(ymin), xmax: mx(xmax), ymax: my(ymax) } });
  }
  return kept;
}
/** Runs the model in this browser on the newest processed frame (lossless PNG); returns both results. */
browser.runFrame = async () => {
  if (!browser.model) throw new Error(browser.error ?? 'the model is not loaded yet');
  const info = browser.info;
  const res = await fetch('/frame.png', { cache: 'no-store' });
  const frame = Number(res.headers.get('x-reef-frame'));
  const bmp = await createImageBitmap(await res.blob(), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = new OffscreenCanvas(bmp.width, bmp.height);
  const g = c.getContext('2d', { colorSpace: 'srgb' });
  g.drawImage(bmp, 0, 0);
  const rgba = g.getImageData(0, 0, bmp.width, bmp.height).data;
  const ch = info.channels;
  const px = new Uint8Array(bmp.width * bmp.height * ch);
  for (let i = 0, j = 0; i < rgba.length; i += 4) {
    if (ch === 1) px[j++] = Math.round(0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2]);
    else { px[j++] = rgba[i]; px[j++] = rgba[i + 1]; px[j++] = rgba[i + 2]; }
  }
  const resized = resizeSquash(px, bmp.width, bmp.height, ch, info.width, info.height);
  // FNV-1a of the bytes fed (before normalisation), to show they are the bytes reef fed
  let h = 0x811c9dc5;
  for (let i = 0; i < resized.length; i++) h = Math.imul(h ^ resized[i], 0x01000193) >>> 0;
  const inputDigest = { bytes: resized.length, fnv1a: h.toString(16).padStart(8, '0') };
  const input = toInput(resized, info);
  const t0 = performance.now();
  const out = browser.model.predict(input);
  // the invoke is done when the outputs can be read
  const first = (out instanceof tf.Tensor ? out : Object.values(out)[0]).dataSync();
  const ms = performance.now() - t0;
  const reefResult = state.byFrame.get(frame) ?? null;
  const device = reefResult ? ' (device: ' + reefResult.invoke_ms.toFixed(1) + ' ms)' : '';
  let run;
  if (info.task === 'detect') {
    // the frame's whole picture squashed into the input (the only mode the page feeds)
    const p = { width: info.width, height: info.height, src: { x: 0, y: 0, width: bmp.width, height: bmp.height }, dst: { x: 0, y: 0, width: info.width, height: info.height } };
    const raw = ssdOutputs(out, info.detect);
    const detections = decodeSsd(raw, info.detect, p);
    run = { frame, browser: { detections, ms, raw, input: inputDigest }, reef: reefResult ? { detections: reefResult.detections, ms: reefResult.invoke_ms } : null };
    $('browserTop').textContent = 'frame ' + frame + ', ' + ms.toFixed(1) + ' ms in the browser' + device + ': ' + detections.length + ' objects\\n' + fmtDets(detections);
  } else {
    // Quantized outputs come back as their integers: dequantized as reef does.
    const q = info.output ?? { scale: 0, zeroPoint: 0 };
    const scores = q.scale > 0 ? Float64Array.from(first, (v) => (v - q.zeroPoint) * q.scale) : first;
    const top = topK(scores, 3).map((c) => ({ ...c, label: info.labels?.[c.index] ?? null }));
    run = { frame, browser: { top, ms, input: inputDigest }, reef: reefResult ? { top: reefResult.top, ms: reefResult.invoke_ms } : null };
    $('browserTop').textContent = 'frame ' + frame + ', ' + ms.toFixed(1) + ' ms in the browser' + device + '\\n' + fmtTop(top);
  }
  tf.dispose([input, ...(out instanceof tf.Tensor ? [out] : Object.values(out))]);
  browser.runs.push(run);
  return run;
};
(async () => {
  try {
    browser.info = await (await fetch('/info')).json();
    if (browser.info.task !== 'classify' && !(browser.info.task === 'detect' && browser.info.detect)) {
      throw new Error('in-browser comparison runs classifiers and TFLite_Detection_PostProcess detectors; this model is for ' + browser.info.task + (browser.info.task === 'detect' ? ' with another output layout' : ''));
    }
    if (browser.info.resize !== 'squash') throw new Error('in-browser comparison feeds squashed frames; this run uses ' + browser.info.resize);
    tflite.setWasmPath('/vendor/tflite-wasm/');
    browser.model = await tflite.loadTFLiteModel('/model.tflite', { numThreads: 1 });
    $('browserTop').textContent = 'ready';
    $('runBrowser').disabled = false;
    $('runBrowser').onclick = () => browser.runFrame().catch((e) => { $('browserTop').textContent = String(e); });
  } catch (e) {
    browser.error = String(e && e.message || e);
    $('browserTop').textContent = 'unavailable: ' + browser.error;
  }
})();
`;
