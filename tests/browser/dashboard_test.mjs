// The dashboard in a real browser (Debian's chromium, driven by playwright-core): a run of the
// bundled example by LLM agents whose scripted model answers slowly, watched live from
// `swarm run --dashboard`. Screenshots go to $SWARM_BUILD_DIR/test-artifacts/dashboard/.
//
// Run by CTest (dashboard_browser_test); by hand: SWARM_BUILD_DIR=build node tests/browser/dashboard_test.mjs
import assert from 'node:assert/strict';
import {spawn, execFileSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = process.env.SWARM_SOURCE_DIR || path.resolve(here, '../..');
const build = process.env.SWARM_BUILD_DIR || path.join(source, 'build');
const swarm = path.join(build, 'bin', 'swarm');
const artifacts = path.join(build, 'test-artifacts', 'dashboard');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 700;  // each model answer takes this long: the run lasts long enough to watch
const XSS_TITLE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
const XSS_FILE = 'docs/<script>alert(1)</script>.md';

function fixture() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'swarm-dashboard-'));
  const repo = path.join(work, 'geometry');
  fs.cpSync(path.join(source, 'examples/demo/geometry'), repo, {recursive: true});
  const git = (...args) => execFileSync('git', ['-C', repo, ...args], {stdio: 'pipe'});
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'initial');
  const docs = [['guide', 'docs/GUIDE.md', 'Write a guide'], ['faq', 'docs/FAQ.md', 'Write a FAQ'],
    ['notes', 'docs/NOTES.md', 'Write release notes'], ['xss', XSS_FILE, XSS_TITLE]];
  const plan = {subtasks: docs.map(([id, file, title]) => ({id, title, instructions: 'Write ' + file, files: [file]}))};
  plan.subtasks.push({id: 'index', title: 'Index the docs', instructions: 'Write docs/INDEX.md',
    files: ['docs/INDEX.md'], depends_on: ['guide', 'faq', 'notes', 'xss']});
  docs.push(['index', 'docs/INDEX.md', 'Index the docs']);
  const conversations = {};
  for (const [id, file] of docs) {
    conversations[id] = [
      {delay_ms: STEP_MS, content: 'Looking first.', tool_calls: [{name: 'read_file', arguments: {path: 'Makefile'}}],
        usage: {input: 2000, cached: 0, output: 40}},
      {delay_ms: STEP_MS, tool_calls: [{name: 'create_file', arguments: {path: file, content: '# ' + id + '\n'}}],
        usage: {input: 2300, cached: 2000, output: 90}},
      {delay_ms: STEP_MS, tool_calls: [{name: 'run_tests', arguments: {}}], usage: {input: 2400, cached: 2300, output: 15}},
      {delay_ms: STEP_MS, tool_calls: [{name: 'submit', arguments: {summary: 'Wrote ' + file}}],
        usage: {input: 2500, cached: 2400, output: 20}},
    ];
  }
  fs.writeFileSync(path.join(work, 'plan.json'), JSON.stringify(plan));
  fs.writeFileSync(path.join(work, 'script.json'), JSON.stringify({conversations}));
  return {work, repo};
}

// Starts the run; resolves with the dashboard's URL once it is printed.
function startRun(f, token) {
  const child = spawn(swarm, ['run', '--repo', f.repo, '--state-dir', path.join(f.work, 'state'), '--agents', '2',
    '--plan', path.join(f.work, 'plan.json'), '--model', 'scripted:' + path.join(f.work, 'script.json'),
    '--budget-usd', '1', '--test-cmd', 'sleep 1 && make -s test', '--dashboard'],
  {env: {...process.env, SWARM_TOKEN: token}, stdio: ['ignore', 'pipe', 'pipe']});
  let err = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /dashboard at (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]);
    });
    exited.then((code) => reject(new Error('swarm run exited ' + code + ' before its dashboard:\n' + err)));
  });
  child.stdout.resume();
  return {child, url, exited, stderr: () => err};
}

async function main() {
  let chromium;
  try {
    ({chromium} = await import('playwright-core'));
  } catch (e) {
    throw new Error('playwright-core is not installed in tests/browser: run scripts/install-deps.sh (' + e.message + ')');
  }
  fs.mkdirSync(artifacts, {recursive: true});
  const f = fixture();
  const token = randomBytes(32).toString('hex');
  const run = startRun(f, token);
  const url = await run.url;  // http://127.0.0.1:PORT/runs/RUN
  const origin = new URL(url).origin;
  const runId = new URL(url).pathname.split('/')[2];
  const browser = await chromium.launch({executablePath: browserPath, args: ['--no-sandbox']});
  try {
    // Without the token: status only; logs, transcripts and cancel answer 401 and change nothing.
    const anonymous = await (await browser.newContext()).newPage();
    await anonymous.goto(url);
    await anonymous.waitForSelector('#sign-in:not([hidden])');
    await anonymous.waitForSelector('rect.node');
    const refused = await anonymous.evaluate(async (api) => {
      const log = await fetch(api + '/subtasks/guide/log?attempt=1');
      const transcript = await fetch(api + '/subtasks/guide/transcript');
      const cancel = await fetch(api + '/cancel', {method: 'POST', headers: {'X-Swarm-Request': '1'}});
      const subtask = await (await fetch(api + '/subtasks/guide')).json();
      return [log.status, transcript.status, cancel.status, 'instructions' in subtask];
    }, '/api/runs/' + runId);
    assert.deepEqual(refused, [401, 401, 401, false]);
    assert.equal(await anonymous.isHidden('#cancel'), true);
    // The runs page links to the run.
    await anonymous.goto(origin + '/');
    await anonymous.waitForSelector(`#runs a[href="/runs/${runId}"]`);

    // With the token, once in the URL: a cookie from then on, and the URL without it.
    const page = await (await browser.newContext({viewport: {width: 1400, height: 1300}})).newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(url + '?token=' + token);
    assert.equal(page.url(), url);
    await page.waitForSelector('#sign-in', {state: 'hidden'});
    await page.waitForSelector('#cancel:not([hidden])');
    const pointsAtFirst = Number(await page.getAttribute('#chart-cost', 'data-points'));
    // An agent's row shows its tool call as it happens.
    await page.waitForFunction(() => [...document.querySelectorAll('#agents .agent-row td.action')]
      .some((td) => /read_file|create_file|run_tests/.test(td.textContent)), null, {timeout: 60000});
    // The queue shows a candidate under test (its test command takes a second at least).
    await page.waitForSelector('.queue-candidate.testing', {timeout: 60000});
    // The cost chart gains points as model calls are made.
    await page.waitForFunction((n) => Number(document.getElementById('chart-cost').dataset.points) > n,
      pointsAtFirst, {timeout: 60000});
    // A name an agent or a plan chose is text, never HTML.
    await page.click('#subtasks .subtask-row[data-subtask-id="xss"] a');
    await page.waitForFunction((file) => [...document.querySelectorAll('#detail-fields dd')]
      .some((dd) => dd.textContent.includes(file)), XSS_FILE);
    await page.click('#detail-close');
    await page.screenshot({path: path.join(artifacts, 'run-live.png'), fullPage: true});
    // The top of the page, small enough for the README (docs/dashboard.png is one of these).
    await page.screenshot({path: path.join(artifacts, 'run-live-top.png'), clip: {x: 0, y: 0, width: 1400, height: 940}});

    // Reloaded mid-run, the page misses nothing and sees nothing twice.
    await page.waitForFunction(() => window.swarmModel.landed.length > 0, null, {timeout: 120000});
    const landedBefore = await page.evaluate(() => window.swarmModel.counts().landed);
    const total = await page.evaluate(() => window.swarmModel.subtasks.size);
    assert.ok(landedBefore < total, 'the run ended before the reload: nothing to test');
    await page.reload();
    try {
      await page.waitForFunction(() => window.swarmModel.state !== '', null, {timeout: 180000});
    } catch (e) {
      console.error(await page.evaluate(() => JSON.stringify({seq: window.swarmModel.seq,
        stream: document.getElementById('stream-state').textContent, counts: window.swarmModel.counts()})));
      console.error(run.stderr());
      throw e;
    }
    const end = await page.evaluate(() => ({
      state: window.swarmModel.state, seq: window.swarmModel.seq, applied: window.swarmModel.applied,
      rows: document.querySelectorAll('#subtasks .subtask-row').length,
      pwned: window.__pwned, scripts: document.querySelectorAll('script').length,
    }));
    // The graph is redrawn at most once a second: every node lands on it soon after the end.
    await page.waitForFunction(() => document.querySelectorAll('rect.node[data-state="LANDED"]').length ===
        window.swarmModel.subtasks.size, null, {timeout: 10000});
    await page.screenshot({path: path.join(artifacts, 'run-finished.png'), fullPage: true});
    assert.equal(end.state, 'completed');
    assert.equal(end.applied, end.seq, 'every event once: ' + JSON.stringify(end));
    assert.equal(end.pwned, undefined);
    assert.equal(end.scripts, 2);
    const landed = await page.evaluate(() => document.querySelectorAll('rect.node[data-state="LANDED"]').length);
    assert.equal(landed, total);
    const title = await page.textContent('#subtasks .subtask-row[data-subtask-id="xss"] .title');
    assert.equal(title, XSS_TITLE);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
  const code = await run.exited;
  assert.equal(code, 0, 'swarm run: ' + run.stderr());
  fs.rmSync(f.work, {recursive: true, force: true});
  console.log('dashboard_test: ok (screenshots in ' + artifacts + ')');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
