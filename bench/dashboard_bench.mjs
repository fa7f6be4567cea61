// How the dashboard keeps up with a big run: a real swarm run (bench/swarm_bench.py, one row) served
// with `--dashboard`, watched by headless Chromium (Debian's chromium, playwright-core from
// tests/browser/node_modules) from the moment the run is recorded until it ends.
//
//   node bench/dashboard_bench.mjs --kind command --n 1000 --sleep 10
//   node bench/dashboard_bench.mjs --kind llm --n 300 --steps 5 --delay-ms 1000
//
// Prints one table row: the run's events, how long the page took to catch up on first load, its
// redraws (count, p50/p95/max ms), main-thread tasks over 50 ms (count, longest), how far behind the
// log the page was (now minus the newest applied event's time, sampled each second: p50/max), and
// its JS heap at the end. Other arguments go to swarm_bench.py.
import {spawn} from 'node:child_process';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(path.join(root, 'tests/browser/package.json'));
const {chromium} = require('playwright-core');

const port = 18000 + Math.floor(Math.random() * 2000);
const passed = process.argv.slice(2);
const swarm = path.join(process.env.SWARM_BUILD_DIR || path.join(root, 'build'), 'bin/swarm');
const bench = spawn('python3', [path.join(here, 'swarm_bench.py'), '--swarm', swarm, ...passed,
  '--extra-args', `--dashboard 127.0.0.1:${port}`], {stdio: ['ignore', 'pipe', 'inherit']});
let benchOut = '';
bench.stdout.on('data', (d) => { benchOut += d; });
const benchDone = new Promise((resolve) => bench.on('exit', resolve));

const origin = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let runId = '';
for (let i = 0; i < 600 && !runId; i++) {
  try {
    const runs = await (await fetch(origin + '/api/runs')).json();
    if (runs.runs.length) runId = runs.runs[0].id;
  } catch (e) { /* not up yet */ }
  if (!runId) await sleep(250);
}
if (!runId) throw new Error('no run appeared on ' + origin);

const browser = await chromium.launch({executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox']});
const page = await (await browser.newContext({viewport: {width: 1400, height: 1000}})).newPage();
await page.addInitScript(() => {
  window.benchLong = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.benchLong.push(e.duration);
  }).observe({type: 'longtask', buffered: true});
});
const opened = Date.now();
await page.goto(`${origin}/runs/${runId}`);
// Redraws timed by wrapping the page's draw (a global function of run.js).
await page.evaluate(() => {
  window.benchDraws = [];
  const original = window.draw;
  window.draw = (...a) => {
    const t = performance.now();
    original(...a);
    window.benchDraws.push(performance.now() - t);
  };
});
let caughtUpMs = 0;
const lags = [];
const stats = async () => page.evaluate(() => ({
  seq: window.swarmModel.seq, newest: window.swarmModel.tail.length
    ? Number(window.swarmModel.tail[window.swarmModel.tail.length - 1].time_unix_ms) : 0,
  state: window.swarmModel.state, subtasks: window.swarmModel.subtasks.size,
}));
for (;;) {
  let s;
  try {
    s = await stats();
  } catch (e) {
    break;  // the run ended and its process with it
  }
  if (s.newest) {
    const lag = Date.now() - s.newest;
    lags.push(lag);
    if (!caughtUpMs && lag < 2000) caughtUpMs = Date.now() - opened;
  }
  if (s.state) break;
  await sleep(1000);
}
const end = await page.evaluate(() => ({
  seq: window.swarmModel.seq, applied: window.swarmModel.applied, subtasks: window.swarmModel.subtasks.size,
  draws: window.benchDraws, long: window.benchLong, heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
  state: window.swarmModel.state,
})).catch(() => null);
await browser.close();
await benchDone;
const pct = (a, p) => {
  if (!a.length) return 0;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const f = (x) => x.toFixed(1);
console.log(benchOut.trim());
console.log('');
console.log('| subtasks | events | run end seen | caught up s | redraws | redraw p50/p95/max ms | tasks > 50 ms (longest) | lag p50/max s | heap MiB |');
console.log('|---|---|---|---|---|---|---|---|---|');
if (end) {
  console.log(`| ${end.subtasks} | ${end.seq} (${end.applied} applied) | ${end.state || 'no'} | ${f(caughtUpMs / 1000)} | ` +
    `${end.draws.length} | ${f(pct(end.draws, 0.5))}/${f(pct(end.draws, 0.95))}/${f(Math.max(0, ...end.draws))} | ` +
    `${end.long.length} (${f(Math.max(0, ...end.long))} ms) | ${f(pct(lags, 0.5) / 1000)}/${f(Math.max(0, ...lags) / 1000)} | ` +
    `${f(end.heap / 1048576)} |`);
} else {
  console.log('| the page was gone before the run ended |');
}
