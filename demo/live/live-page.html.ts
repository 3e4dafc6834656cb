/**
 * The live page: plain HTML, CSS and JavaScript, kept in a TypeScript string so that the demo's
 * `tsc` build carries it without a copy step. It draws the frames of `GET /live/events`.
 *
 * Stable hooks for tests: `#status[data-state]` (connecting, open, closed);
 * `#models [data-model]` rows with `data-used`, `data-limit` and `data-full`;
 * `#recent tr[data-outcome]` rows with `data-model` and `data-task-id`;
 * `#pending-queued` and `#pending-dropped`.
 */
export const LIVE_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Model gateway · live</title>
<style>
  :root {
    --bg: #f5f6f8; --card: #fff; --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec;
    --ok: #2f7de1; --warm: #e59a1a; --full: #d93b3b; --good: #1f9d55;
    font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--bg); color: var(--ink); }
  header {
    display: flex; align-items: center; gap: 16px; padding: 14px 28px;
    background: #1d2330; color: #fff;
  }
  header h1 { margin: 0; font-size: 17px; font-weight: 600; }
  header .sub { color: #aab2c5; font-size: 13px; }
  #status { margin-left: auto; display: flex; align-items: center; gap: 8px; font-size: 13px; }
  #status::before {
    content: ""; width: 9px; height: 9px; border-radius: 50%; background: #8a93a6;
  }
  #status[data-state="open"]::before { background: #3ccf7a; box-shadow: 0 0 0 3px #3ccf7a33; }
  #status[data-state="closed"]::before { background: var(--full); }
  main { max-width: 980px; margin: 24px auto; padding: 0 20px; display: grid; gap: 20px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
  section h2 {
    margin: 0; padding: 12px 18px; font-size: 13px; font-weight: 600; color: var(--muted);
    text-transform: uppercase; letter-spacing: .04em; border-bottom: 1px solid var(--line);
    display: flex; justify-content: space-between; align-items: baseline;
  }
  section h2 small { text-transform: none; letter-spacing: 0; font-weight: 400; }
  #models { padding: 8px 18px 14px; }
  .row {
    display: grid; grid-template-columns: 150px 1fr 80px; align-items: center; gap: 14px;
    padding: 9px 0;
  }
  .row .name { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
  .track { height: 18px; background: #edf0f4; border-radius: 9px; overflow: hidden; }
  .fill {
    height: 100%; width: 0; background: var(--ok); border-radius: 9px;
    transition: width .2s ease;
  }
  .row[data-level="warm"] .fill { background: var(--warm); }
  .row[data-full="true"] .fill { background: var(--full); }
  .numbers { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
  .row[data-full="true"] .numbers { color: var(--full); }
  .waiting { grid-column: 2 / 4; color: var(--muted); font-size: 12px; margin-top: -6px; }
  .waiting:empty { display: none; }
  #error { margin: 0 18px 12px; color: var(--full); }
  #error:empty { display: none; }
  .pending { padding: 12px 18px; display: flex; gap: 28px; }
  .pending b { font-size: 20px; font-variant-numeric: tabular-nums; margin-right: 6px; }
  .pending span { color: var(--muted); }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 7px 18px; border-bottom: 1px solid var(--line); }
  th { font-size: 12px; font-weight: 500; color: var(--muted); }
  tbody tr:last-child td { border-bottom: 0; }
  td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
  td.num, th.num { text-align: right; }
  .badge {
    display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
    background: #eef0f4; color: var(--muted);
  }
  .badge.admitted, .badge.already_held { background: #e3f5eb; color: var(--good); }
  .badge.full, .badge.timed_out { background: #fbe7e7; color: var(--full); }
  .badge.unavailable, .badge.aborted { background: #fdf1dc; color: #a86a00; }
  #recent-empty td { color: var(--muted); text-align: center; padding: 18px; }
</style>
</head>
<body>
<header>
  <h1>Model gateway</h1>
  <span class="sub">nestjs-queue-gate · live</span>
  <span id="status" data-state="connecting">connecting</span>
</header>
<main>
  <section>
    <h2>Slots in use <small>queued + running per model</small></h2>
    <div id="models"></div>
    <p id="error"></p>
  </section>
  <section>
    <h2>Pending releases <small>releases this instance retries while the store is away</small></h2>
    <div class="pending">
      <div><b id="pending-queued">0</b><span>queued</span></div>
      <div><b id="pending-dropped">0</b><span>dropped</span></div>
    </div>
  </section>
  <section>
    <h2>Recent admissions and refusals <small>last 20</small></h2>
    <table>
      <thead>
        <tr><th>Time</th><th>Model</th><th>Task</th><th>Outcome</th><th class="num">Waited</th></tr>
      </thead>
      <tbody id="recent">
        <tr id="recent-empty"><td colspan="5">No requests yet. Try: npm run demo:load</td></tr>
      </tbody>
    </table>
  </section>
</main>
<script>
(() => {
  const models = document.getElementById('models');
  const recent = document.getElementById('recent');
  const status = document.getElementById('status');
  const rows = new Map();

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function rowOf(model) {
    let row = rows.get(model);
    if (!row) {
      row = document.createElement('div');
      row.className = 'row';
      row.dataset.model = model;
      row.innerHTML =
        '<span class="name"></span><div class="track"><div class="fill"></div></div>' +
        '<span class="numbers"></span><span class="waiting"></span>';
      row.querySelector('.name').textContent = model;
      models.appendChild(row);
      rows.set(model, row);
    }
    return row;
  }

  function drawModel({ model, used, limit, waiting }) {
    const row = rowOf(model);
    const share = limit ? Math.min(used / limit, 1) : 0;
    row.dataset.used = String(used);
    row.dataset.limit = limit === null ? '' : String(limit);
    row.dataset.full = String(limit !== null && used >= limit);
    row.dataset.level = share >= 0.75 ? 'warm' : 'ok';
    row.querySelector('.fill').style.width = (share * 100).toFixed(1) + '%';
    row.querySelector('.numbers').textContent = used + ' / ' + (limit === null ? '∞' : limit);
    row.querySelector('.waiting').textContent = waiting > 0 ? waiting + ' waiting' : '';
  }

  function time(at) {
    const d = new Date(at);
    const pad = (n, w = 2) => String(n).padStart(w, '0');
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) +
      '.' + pad(d.getMilliseconds(), 3);
  }

  function drawRecent(entries) {
    if (entries.length === 0) return;
    const body = document.createDocumentFragment();
    for (const entry of entries) {
      const tr = document.createElement('tr');
      tr.dataset.outcome = entry.outcome;
      tr.dataset.model = entry.model;
      tr.dataset.taskId = entry.taskId;
      const badge = document.createElement('span');
      badge.className = 'badge ' + entry.outcome;
      badge.textContent = entry.outcome === 'full' && entry.refusedBy === 'tenant'
        ? 'full (tenant)' : entry.outcome.replace('_', ' ');
      const outcome = cell('');
      outcome.appendChild(badge);
      tr.append(
        cell(time(entry.at), 'mono'),
        cell(entry.model, 'mono'),
        cell(entry.taskId, 'mono'),
        outcome,
        cell(Math.round(entry.waitedMs) + ' ms', 'num'),
      );
      body.appendChild(tr);
    }
    recent.replaceChildren(body);
  }

  function draw(frame) {
    frame.models.forEach(drawModel);
    document.getElementById('error').textContent =
      frame.error ? 'The gate store did not answer: ' + frame.error : '';
    document.getElementById('pending-queued').textContent = String(frame.pending.queued);
    document.getElementById('pending-dropped').textContent = String(frame.pending.dropped);
    drawRecent(frame.recent);
  }

  function state(name, label) {
    status.dataset.state = name;
    status.textContent = label;
  }

  const source = new EventSource('live/events');
  source.onopen = () => state('open', 'live');
  source.onerror = () => state('closed', 'reconnecting…');
  source.onmessage = (event) => draw(JSON.parse(event.data));
})();
</script>
</body>
</html>
`;
