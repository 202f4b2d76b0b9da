/** The status page at `/`: models, versions, states, live request rate and latency (reads /status.json). */
export function statusPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>reef serve</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #123; }
table { border-collapse: collapse; } td, th { padding: 4px 12px; border-bottom: 1px solid #ccd; text-align: left; }
.AVAILABLE { color: #075; } .END { color: #a00; } .LOADING, .UNLOADING { color: #a60; }
</style></head>
<body><h1>reef serve</h1><p id="ready">loading...</p>
<table><thead><tr><th>model</th><th>version</th><th>state</th><th>interpreters</th><th>queued</th><th>in flight</th><th>requests/s</th><th>mean latency ms</th><th>error</th></tr></thead>
<tbody id="models"></tbody></table>
<script>
let last = null;
async function tick() {
  const s = await (await fetch('status.json')).json();
  const now = performance.now();
  document.getElementById('ready').textContent = s.ready ? 'ready' : 'not ready';
  const rows = [];
  for (const m of s.models) {
    const prev = last && last.s.models.find((x) => x.name === m.name);
    const dt = last ? (now - last.t) / 1000 : 0;
    const rate = prev && dt > 0 ? ((m.requests - prev.requests) / dt).toFixed(1) : '-';
    const dn = prev ? m.requests - prev.requests : 0;
    const lat = prev && dn > 0 ? (((m.latencySum - prev.latencySum) / dn) * 1000).toFixed(2) : '-';
    for (const v of m.versions) {
      const tr = document.createElement('tr');
      for (const [text, cls] of [[m.name], [v.version], [v.state, v.state], [v.interpreters], [v.queued], [v.inFlight], [rate], [lat], [v.error]]) {
        const td = document.createElement('td');
        td.textContent = String(text);
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      rows.push(tr);
    }
  }
  document.getElementById('models').replaceChildren(...rows);
  last = { s, t: now };
}
tick(); setInterval(tick, 1000);
</script></body></html>
`;
}
