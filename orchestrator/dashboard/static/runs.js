// The runs page: every run of the state directory, newest first, refreshed every few seconds.
'use strict';

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;  // text, never HTML: names here come from anywhere
  if (cls) e.className = cls;
  return e;
}

function age(ms) {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return (s / 3600).toFixed(1) + ' h';
  return Math.round(s / 86400) + ' d';
}

async function refresh() {
  let body;
  try {
    const r = await fetch('/api/runs', {cache: 'no-store'});
    body = await r.json();
  } catch (e) {
    document.getElementById('where').textContent = 'the server is not answering';
    return;
  }
  document.getElementById('where').textContent = body.state_dir || '';
  document.getElementById('empty').hidden = body.runs.length > 0;
  const tbody = document.querySelector('#runs tbody');
  const rows = [];
  for (const run of body.runs) {
    const tr = el('tr');
    tr.dataset.runId = run.id;
    const link = el('a', run.id);
    link.href = '/runs/' + encodeURIComponent(run.id);
    const id = el('td');
    id.appendChild(link);
    tr.appendChild(id);
    const state = run.finished_unix_ms ? run.state : (run.live ? 'running' : 'interrupted');
    tr.appendChild(el('td', state, 'state state-' + state));
    tr.appendChild(
        el('td', run.landed + ' / ' + run.subtasks + ' landed' + (run.failed ? ', ' + run.failed + ' failed' : '')));
    tr.appendChild(el('td', '$' + Number(run.cost_usd || 0).toFixed(4)));
    tr.appendChild(el('td', age(run.created_unix_ms)));
    tr.appendChild(el('td', run.repo, 'path'));
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}

refresh();
setInterval(refresh, 3000);
