// A run's page: its event log folded into a RunModel (run_model.js), kept live over server-sent
// events, drawn at most a few times a second. Everything an agent or a model chose is set as text.
'use strict';

const runId = decodeURIComponent(location.pathname.split('/')[2] || '');
const api = '/api/runs/' + encodeURIComponent(runId);
const model = new SwarmRunModel.RunModel();
window.swarmModel = model;  // for the console, and the browser tests
let info = {authorized: false, live: false, budget_usd: 0};
let drawnVersion = -1;
let graphDrawnAt = 0;
let ended = false;

function $(id) {
  return document.getElementById(id);
}
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function svgEl(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}
function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
  return Math.floor(s / 3600) + 'h' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
}
function usd(v) {
  return '$' + Number(v || 0).toFixed(4);
}
function count(n) {
  return n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(0) + 'k' : String(n);
}
function stateClass(s) {
  return 'st-' + String(s || 'PENDING').toLowerCase();
}

// --- The stream -------------------------------------------------------------------------------

function connect() {
  const source = new EventSource(api + '/events' + (model.seq ? '?after=' + model.seq : ''));
  source.onopen = () => {
    retryMs = 500;
    $('stream-state').textContent = ended ? '' : 'live';
  };
  source.onmessage = (m) => {
    model.apply(JSON.parse(m.data));
    schedule();
  };
  source.addEventListener('live', (m) => {
    model.apply(JSON.parse(m.data));
    schedule();
  });
  source.addEventListener('end', () => {
    ended = true;
    source.close();
    $('stream-state').textContent = '';
    $('cancel').hidden = true;
    schedule();
  });
  // After a dropped connection the browser reconnects by itself, sending the last id it saw: nothing
  // is missed or seen twice. After an error answer (503: the server has too many streams) it gives up;
  // then the page reconnects itself, after the last event it has.
  source.onerror = () => {
    if (ended) return;
    $('stream-state').textContent = 'reconnecting...';
    if (source.readyState === EventSource.CLOSED) {
      setTimeout(connect, retryMs);
      retryMs = Math.min(10000, retryMs * 2);
    }
  };
}
let retryMs = 500;

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => {
    scheduled = false;
    requestAnimationFrame(draw);
  }, 200);
}

// --- Drawing ----------------------------------------------------------------------------------

function draw() {
  const now = Date.now();
  const c = model.counts();
  const end = model.finishedMs || (ended ? now : 0);
  $('run-state').textContent = model.state || (info.live ? 'running' : (info.state || ''));
  $('run-state').className = 'state state-' + (model.state || (info.live ? 'running' : info.state || ''));
  if (model.startedMs) $('elapsed').textContent = duration((end || now) - model.startedMs);
  $('progress').textContent = c.landed + ' / ' + c.total + ' landed, ' + c.running + ' running, ' + c.merging +
      ' merging' + (c.failed ? ', ' + c.failed + ' failed' : '');
  $('agent-count').textContent = model.agents.size + ' busy' +
      (model.hosts.size ? ' on ' + model.hosts.size + (model.hosts.size === 1 ? ' host' : ' hosts') : '');
  const budget = model.budgetUsd || info.budget_usd;
  $('cost').textContent = usd(model.spend.costUsd) + (budget ? ' of ' + usd(budget) : '');
  $('tokens').textContent =
      count(model.spend.input) + ' / ' + count(model.spend.cached) + ' / ' + count(model.spend.output);
  $('calls').textContent = model.spend.calls + (model.spend.failed ? ' (' + model.spend.failed + ' failed)' : '');
  // Agents' rows at most twice a second (their times move on each second anyway).
  if (now - agentsDrawnAt >= 500) {
    agentsDrawnAt = now;
    drawAgents(now);
  }
  const changed = drawnVersion !== model.version;
  if (changed || model.underTest.size > 0) drawQueue();  // "under test for ..." moves on without events
  if (changed) {
    drawnVersion = model.version;
    drawList();
    drawEvents();
    heavyDirty = true;
  }
  // The graph and the charts are the heaviest parts: at most once a second.
  if (heavyDirty && now - graphDrawnAt >= 1000) {
    graphDrawnAt = now;
    heavyDirty = false;
    drawGraph();
    drawCharts(budget);
  } else if (heavyDirty) {
    schedule();
  }
}
let agentsDrawnAt = 0;
let heavyDirty = false;

function drawAgents(now) {
  const rows = [...model.agents.values()].sort((a, b) => a.subtask < b.subtask ? -1 : a.subtask > b.subtask ? 1 : 0);
  $('agents-note').textContent = rows.length ? '(' + rows.length + ')' : '(none busy)';
  const trs = rows.map((a) => {
    const tr = el('tr', undefined, 'agent-row');
    tr.dataset.subtaskId = a.subtask;
    const id = el('td');
    id.appendChild(subtaskLink(a.subtask));
    tr.appendChild(id);
    tr.appendChild(el('td', a.attempt));
    tr.appendChild(el('td', a.host));
    tr.appendChild(el('td', a.step || ''));
    tr.appendChild(el('td', a.action || 'starting', 'action'));
    tr.appendChild(el('td', duration(now - (a.action ? a.actionMs : a.startedMs))));
    tr.appendChild(el('td', count(a.tokens)));
    tr.appendChild(el('td', usd(a.costUsd)));
    return tr;
  });
  $('agents').tBodies[0].replaceChildren(...trs);
}

function subtaskLink(id) {
  const a = el('a', id, 'subtask-link');
  a.href = '#' + encodeURIComponent(id);
  a.addEventListener('click', (e) => {
    e.preventDefault();
    openDetail(id);
  });
  return a;
}

function drawQueue() {
  const li = (text, cls) => el('li', text, cls);
  const waiting = [...model.waiting.values()];
  $('waiting-count').textContent = '(' + waiting.length + ')';
  $('queue-waiting').replaceChildren(...waiting.slice(0, 100).map((w) => {
    const item = li(undefined, 'queue-candidate');
    item.dataset.subtaskId = w.subtask;
    item.appendChild(subtaskLink(w.subtask));
    const testing = model.underTest.get(w.subtask);
    let where = w.checked ? ' checked; waiting in the integration queue' : ' waiting for its check on its base';
    if (testing) {
      where = (testing.stage === 'queue' ? ' under test on the integration head' : ' under test alone on its base') +
          ' for ' + duration(Date.now() - testing.sinceMs);
      item.classList.add('testing');
    }
    item.appendChild(el('span', where, 'muted'));
    return item;
  }));
  const tests = model.testing.slice(-30).reverse();
  $('tested-count').textContent = '(' + model.testing.length + ')';
  $('queue-tests')
      .replaceChildren(...tests.map(
          (t) =>
              li(t.stage + ' ' + (t.passed ? 'passed' : 'failed') + ' in ' + duration(t.durationMs) + ': ' +
                     t.subtasks.join(', ') + (t.verdict ? ' (' + t.verdict + ')' : ''),
                 t.passed ? 'ok' : 'bad')));
  $('landed-count').textContent = '(' + model.landed.length + ')';
  $('queue-landed')
      .replaceChildren(...model.landed.slice(-30).reverse().map(
          (l) =>
              li((l.group ? 'group ' + l.group + ': ' : '') + l.subtasks.join(', ') + ' at ' + l.commit.slice(0, 10),
                 'ok')));
  $('rejected-count').textContent = '(' + model.rejected.length + ')';
  $('queue-rejected')
      .replaceChildren(...model.rejected.slice(-30).reverse().map((r) => li(r.subtask + ': ' + r.reason, 'bad')));
}

function drawCharts(budget) {
  const points = model.series();
  chart($('chart-cost'), points, (p) => p.costUsd, {limit: budget, format: usd});
  chart($('chart-tokens'), points, (p) => p.tokens, {format: count});
  chart($('chart-inflight'), points, (p) => p.inFlight, {format: String, step: true});
}

// A line over time in a 320x120 box; `limit` (the budget) as a dashed line the scale includes.
function chart(svg, points, value, opts) {
  const W = 320, H = 120, L = 56, B = 16;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  svg.dataset.points = points.length;
  const parts = [];
  if (points.length === 0) {
    parts.push(Object.assign(svgEl('text', {x: L, y: H / 2, class: 'axis'}), {textContent: 'no model call yet'}));
    svg.replaceChildren(...parts);
    return;
  }
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  let max = opts.limit || 0;
  for (const p of points) max = Math.max(max, value(p));  // not Math.max(...): a long run has too many
  max = max || 1;
  const x = (t) => L + (W - L - 4) * (t - t0) / (t1 - t0);
  const y = (v) => H - B - (H - B - 6) * v / max;
  let d = '';
  let last = null;
  for (const p of points) {
    const px = x(p.t).toFixed(1), py = y(value(p)).toFixed(1);
    if (opts.step && last !== null) d += ' ' + px + ',' + last;
    d += ' ' + px + ',' + py;
    last = py;
  }
  parts.push(svgEl('line', {x1: L, y1: H - B, x2: W - 4, y2: H - B, class: 'axis-line'}));
  parts.push(svgEl('polyline', {points: d.trim(), class: 'series'}));
  if (opts.limit) parts.push(svgEl('line', {x1: L, y1: y(opts.limit), x2: W - 4, y2: y(opts.limit), class: 'limit'}));
  const label = (tx, ty, text, anchor) => {
    const t = svgEl('text', {x: tx, y: ty, class: 'axis', 'text-anchor': anchor || 'end'});
    t.textContent = text;
    return t;
  };
  parts.push(label(L - 4, 10, opts.format(max)));
  parts.push(label(L - 4, H - B, opts.format(0)));
  parts.push(label(W - 4, H - 2, duration(t1 - t0)));
  svg.replaceChildren(...parts);
}

// --- The graph --------------------------------------------------------------------------------

// Up to LABELLED subtasks, each is a box with its id; more are small squares (their id on hover),
// so that a thousand fit on a screen.
const LABELLED = 60;

// Laid out again only when subtasks come or go; otherwise each node's state is updated in place.
let graphShape = -1;
const graphNodes = new Map();  // id -> {rect, title, state, base}

function nodeTitle(s) {
  return s.id + ' (' + s.state.toLowerCase() + ')' + (s.group ? ' group ' + s.group : '') +
      (s.title ? ': ' + s.title : '');
}

function drawGraph() {
  if (graphShape === model.shape) {
    for (const s of model.subtasks.values()) {
      const n = graphNodes.get(s.id);
      if (!n || n.state === s.state) continue;
      n.state = s.state;
      n.rect.setAttribute('class', n.base + ' ' + stateClass(s.state));
      n.rect.dataset.state = s.state;
      n.title.textContent = nodeTitle(s);
    }
    return;
  }
  graphShape = model.shape;
  graphNodes.clear();
  const {layers, critical} = model.layers();
  const labelled = model.subtasks.size <= LABELLED;
  const W = labelled ? 132 : 12, H = labelled ? 22 : 12, GAP = 4, PER_COLUMN = labelled ? 15 : 40;
  const svg = $('graph');
  const pos = new Map();
  let x = 4;
  for (const layer of layers) {
    const columns = Math.max(1, Math.ceil(layer.length / PER_COLUMN));
    layer.forEach((id, i) => {
      const col = Math.floor(i / PER_COLUMN), row = i % PER_COLUMN;
      pos.set(id, {x: x + col * (W + GAP), y: 4 + row * (H + GAP)});
    });
    x += columns * (W + GAP) + (labelled ? 36 : 24);
  }
  const rows = Math.min(PER_COLUMN, Math.max(1, ...layers.map((l) => l.length)));
  const width = Math.max(x, 100), height = 8 + rows * (H + GAP);
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  const edges = [], nodes = [];
  let edgeCount = 0;
  for (const s of model.subtasks.values()) edgeCount += s.deps.length;
  if (edgeCount <= 3000) {
    for (const s of model.subtasks.values()) {
      const to = pos.get(s.id);
      for (const dep of s.deps) {
        const from = pos.get(dep);
        if (!from || !to) continue;
        const hot = critical.has(s.id) && critical.has(dep);
        edges.push(svgEl(
            'line',
            {x1: from.x + W, y1: from.y + H / 2, x2: to.x, y2: to.y + H / 2, class: hot ? 'edge critical' : 'edge'}));
      }
    }
  }
  for (const s of model.subtasks.values()) {
    const p = pos.get(s.id);
    const base = 'node' + (critical.has(s.id) ? ' critical' : '') + (s.group ? ' grouped' : '');
    const rect = svgEl('rect', {x: p.x, y: p.y, width: W, height: H, rx: 2, class: base + ' ' + stateClass(s.state)});
    rect.dataset.subtaskId = s.id;
    rect.dataset.state = s.state;
    const title = svgEl('title');
    title.textContent = nodeTitle(s);
    rect.appendChild(title);
    nodes.push(rect);
    graphNodes.set(s.id, {rect, title, state: s.state, base});
    if (labelled) {
      const label = svgEl('text', {x: p.x + 6, y: p.y + H / 2 + 4, class: 'node-label'});
      label.textContent = s.id.length > 18 ? s.id.slice(0, 17) + '\u2026' : s.id;
      label.dataset.subtaskId = s.id;
      nodes.push(label);
    }
  }
  svg.replaceChildren(...edges, ...nodes);
  $('graph-note').textContent = '(' + model.subtasks.size + ' subtasks in ' + layers.length + ' layers' +
      (critical.size ? '; the critical path of ' + critical.size + ' is outlined' : '') +
      (edgeCount > 3000 ? '; ' + edgeCount + ' dependencies, not drawn' : '') + ')';
}

function drawLegend() {
  const states =
      ['PENDING', 'RUNNING', 'MERGING', 'LANDED', 'NO_CHANGE', 'FIX_UP_PENDING', 'FAILED', 'SKIPPED_DEPENDENCY'];
  $('legend').replaceChildren(
      ...states.map((s) => el('span', s.toLowerCase().replace('_', ' '), 'key ' + stateClass(s))));
}

// --- The subtask list (virtualised: only the rows in view exist) ------------------------------

const ROW = 24;
let listIds = [];

function drawList() {
  const filter = $('filter').value.trim().toLowerCase();
  listIds = [];
  for (const s of model.subtasks.values()) {
    if (!filter || s.id.toLowerCase().includes(filter) || s.title.toLowerCase().includes(filter) ||
        s.state.toLowerCase().includes(filter))
      listIds.push(s.id);
  }
  drawListRows();
}

function drawListRows() {
  const box = $('subtasks');
  const spacer = box.firstElementChild;
  spacer.style.height = (listIds.length * ROW) + 'px';
  box.style.height = Math.min(360, Math.max(2, listIds.length) * ROW + 2) + 'px';
  const first = Math.max(0, Math.floor(box.scrollTop / ROW) - 5);
  const last = Math.min(listIds.length, first + Math.ceil(box.clientHeight / ROW) + 10);
  const rows = [];
  for (let i = first; i < last; i++) {
    const s = model.subtasks.get(listIds[i]);
    const row = el('div', undefined, 'vrow subtask-row');
    row.style.top = (i * ROW) + 'px';
    row.dataset.subtaskId = s.id;
    row.dataset.state = s.state;
    const id = el('span');
    id.appendChild(subtaskLink(s.id));
    row.appendChild(id);
    row.appendChild(el('span', s.state.toLowerCase(), 'state ' + stateClass(s.state)));
    row.appendChild(el('span', s.attempts));
    row.appendChild(el('span', s.group));
    row.appendChild(el('span', s.title, 'title'));
    rows.push(row);
  }
  box.replaceChildren(spacer, ...rows);
}

// --- The event log's tail ---------------------------------------------------------------------

function describe(e) {
  const k = Object.keys(e).find((n) => typeof e[n] === 'object' && n !== 'live');
  const v = e[k] || {};
  switch (k) {
    case 'run_started':
      return 'run started: ' + (v.subtasks || []).length + ' subtasks';
    case 'subtask_leased':
      return v.subtask_id + ' attempt ' + v.attempt + ' leased to ' + v.host_id;
    case 'attempt_finished':
      return v.subtask_id + ' attempt ' + v.attempt + ' ended: ' + (v.outcome || '') +
          (v.error ? ' (' + v.error + ')' : '');
    case 'patch_submitted':
      return v.subtask_id + ' submitted a patch' + (v.summary ? ': ' + v.summary : '');
    case 'test_run':
      return 'tests (' + (v.stage || '') + ') ' + (v.passed ? 'passed' : 'failed') + ' for ' +
          (v.subtask_ids || []).join(', ');
    case 'landed':
      return 'landed ' + (v.subtask_ids || []).join(', ');
    case 'patch_rejected':
      return v.subtask_id + ' rejected: ' + (v.reason || '');
    case 'subtask_finished':
      return v.subtask_id + ' ' + String(v.state || '').toLowerCase() + (v.reason ? ': ' + v.reason : '');
    case 'model_called':
      return 'model call for ' + ((v.call || {}).subtask_id || 'the planner') + ': ' + usd((v.call || {}).cost_usd);
    case 'run_finished':
      return 'run ' + (v.state || 'finished');
    default:
      return (k || 'event').replace(/_/g, ' ');
  }
}

function drawEvents() {
  const items = model.tail.slice(-60).reverse().map((e) => {
    const item = el('li');
    item.appendChild(el('span', e.seq, 'seq'));
    item.appendChild(el('span', new Date(Number(e.time_unix_ms)).toLocaleTimeString(), 'muted'));
    item.appendChild(el('span', describe(e)));
    return item;
  });
  $('events').replaceChildren(...items);
}

// --- A subtask's detail -----------------------------------------------------------------------

let detailId = '';

async function openDetail(id) {
  detailId = id;
  $('detail').hidden = false;
  $('detail-title').textContent = id;
  $('detail-text').textContent = '';
  const r = await fetch(api + '/subtasks/' + encodeURIComponent(id), {cache: 'no-store'});
  const s = await r.json();
  if (!r.ok) {
    $('detail-text').textContent = s.error || r.statusText;
    return;
  }
  const dl = $('detail-fields');
  const fields = [
    ['title', s.title], ['state', String(s.state).toLowerCase()], ['reason', s.reason], ['group', s.group],
    ['after', (s.depends_on || []).join(', ')], ['files', (s.files || []).join(', ')], ['landed as', s.landed_commit],
    ['cost', s.spend ? usd(s.spend.cost_usd) + ' in ' + s.spend.calls + ' calls' : ''],
    ['instructions', s.authorized ? s.instructions : '(needs the token)']
  ];
  dl.replaceChildren();
  for (const [k, v] of fields) {
    if (!v) continue;
    dl.appendChild(el('dt', k));
    dl.appendChild(el('dd', v));
  }
  const rows = (s.attempts || []).map((a) => {
    const tr = el('tr');
    tr.appendChild(el('td', a.attempt));
    tr.appendChild(el('td', a.host_id));
    tr.appendChild(el('td', a.outcome || 'running', a.error ? 'bad' : ''));
    tr.appendChild(el('td', a.started_unix_ms ? new Date(a.started_unix_ms).toLocaleTimeString() : ''));
    tr.appendChild(el('td', a.started_unix_ms ? duration((a.finished_unix_ms || Date.now()) - a.started_unix_ms) : ''));
    const cell = el('td');
    const button = el('button', 'log');
    button.type = 'button';
    button.className = 'log-button';
    button.addEventListener(
        'click', () => showText(api + '/subtasks/' + encodeURIComponent(id) + '/log?attempt=' + a.attempt, false));
    cell.appendChild(button);
    tr.appendChild(cell);
    return tr;
  });
  $('detail-attempts').tBodies[0].replaceChildren(...rows);
}

async function showText(url, transcript) {
  const pre = $('detail-text');
  pre.textContent = 'loading...';
  const r = await fetch(url, {cache: 'no-store'});
  if (r.status === 401) {
    pre.textContent = 'This needs the token (see the notice at the top).';
    return;
  }
  if (!transcript) {
    pre.textContent = await r.text();
    return;
  }
  const body = await r.json();
  if (!r.ok) {
    pre.textContent = body.error || r.statusText;
    return;
  }
  const parts = [];
  for (const c of body.calls) {
    parts.push(
        '--- call ' + c.seq + ' (attempt ' + c.attempt + ', step ' + c.step + ', ' + c.model + ', ' + usd(c.cost_usd) +
        ')');
    parts.push('request:\n' + pretty(c.request));
    parts.push('reply:\n' + pretty(c.response));
  }
  if (!body.complete) parts.push('--- more calls than a page holds: swarm show ' + runId + ' --transcript ' + detailId);
  pre.textContent = parts.join('\n\n') || 'no model call';
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (e) {
    return text;
  }
}

// --- Start ------------------------------------------------------------------------------------

// The run's row; asked again until there is one (a page opened as `swarm run --dashboard` printed its
// URL may come before the run is recorded).
async function loadInfo() {
  for (let wait = 500;; wait = Math.min(5000, wait * 2)) {
    try {
      const r = await fetch(api, {cache: 'no-store'});
      if (r.ok) return await r.json();
      $('run-state').textContent = r.status === 404 ? 'waiting for the run to be recorded...' : (await r.json()).error;
    } catch (e) {
      $('run-state').textContent = 'the server is not answering';
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

async function start() {
  $('run-id').textContent = runId;
  document.title = 'swarm: ' + runId;
  drawLegend();
  $('filter').addEventListener('input', drawList);
  $('subtasks').addEventListener('scroll', () => requestAnimationFrame(drawListRows));
  // One listener for every node of the graph, however many there are.
  $('graph').addEventListener('click', (e) => {
    const node = e.target.closest('[data-subtask-id]');
    if (node) openDetail(node.dataset.subtaskId);
  });
  $('detail-close').addEventListener('click', () => {
    $('detail').hidden = true;
  });
  $('detail-transcript')
      .addEventListener(
          'click', () => showText(api + '/subtasks/' + encodeURIComponent(detailId) + '/transcript', true));
  info = await loadInfo();
  model.budgetUsd = info.budget_usd;
  if (!info.authorized) {
    $('sign-in').hidden = false;
    $('sign-in-url').textContent = location.origin + location.pathname + '?token=TOKEN';
  }
  const cancel = $('cancel');
  cancel.hidden = !(info.authorized && info.live);
  cancel.addEventListener('click', async () => {
    if (!confirm('Cancel run ' + runId + '? What landed stays.')) return;
    const reply = await fetch(api + '/cancel', {method: 'POST', headers: {'X-Swarm-Request': '1'}});
    $('stream-state').textContent = reply.ok ? 'cancelling...' : (await reply.json()).error;
  });
  connect();
  setInterval(() => requestAnimationFrame(draw), 1000);  // elapsed times move on without events
}

start();
