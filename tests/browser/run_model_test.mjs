// The dashboard's RunModel (orchestrator/dashboard/static/run_model.js), folded from events under
// node: no browser, no process. Run by CTest (dashboard_model_test).
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import path from 'node:path';
import test from 'node:test';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const {RunModel} = require(path.join(here, '../../orchestrator/dashboard/static/run_model.js'));

let seq = 0;
function ev(kind, body, time = 1000 + seq) {
  seq++;
  return {schema: 1, seq: String(seq), time_unix_ms: String(time), run_id: 'r', [kind]: body};
}

function started() {
  seq = 0;
  return ev('run_started', {subtasks: [{id: 'a', title: 'A'}, {id: 'b', depends_on: ['a']}, {id: 'c'},
    {id: 'd', depends_on: ['b', 'c']}]});
}

test('a subtask goes from pending through running and merging to landed', () => {
  const m = new RunModel();
  m.apply(started());
  assert.equal(m.counts().pending, 4);
  m.apply(ev('subtask_leased', {subtask_id: 'a', attempt: 1, host_id: 'h'}));
  assert.equal(m.subtasks.get('a').state, 'RUNNING');
  assert.equal(m.agents.size, 1);
  m.apply({live: true, run_id: 'r', time_unix_ms: '5000', agent_activity: {subtask_id: 'a', attempt: 1, step: 2, action: 'run_tests'}});
  assert.equal(m.agents.get('a#1').action, 'run_tests');
  assert.equal(m.agents.get('a#1').step, 2);
  m.apply(ev('model_called', {call: {subtask_id: 'a', attempt: 1, ok: true, cost_usd: 0.5, latency_ms: 100,
    usage: {input_tokens: '10', output_tokens: '5'}}}));
  assert.equal(m.agents.get('a#1').tokens, 15);
  m.apply(ev('attempt_finished', {subtask_id: 'a', attempt: 1, outcome: 'patch'}));
  assert.equal(m.agents.size, 0);
  m.apply(ev('patch_submitted', {subtask_id: 'a', attempt: 1}));
  assert.equal(m.waiting.size, 1);
  m.apply(ev('test_run', {stage: 'check', passed: true, subtask_ids: ['a']}));
  assert.equal(m.waiting.get('a').checked, true);
  m.apply(ev('landed', {subtask_ids: ['a'], commit: 'abc'}));
  assert.equal(m.subtasks.get('a').state, 'LANDED');
  assert.equal(m.waiting.size, 0);
  assert.equal(m.spend.costUsd, 0.5);
  assert.equal(m.applied, m.seq);
});

test('an event seen twice is applied once, and a live update of an ended attempt changes nothing', () => {
  const m = new RunModel();
  const first = started();
  assert.equal(m.apply(first), true);
  assert.equal(m.apply(first), false);
  const v = m.version;
  m.apply({live: true, run_id: 'r', agent_activity: {subtask_id: 'a', attempt: 3, action: 'x'}});
  assert.equal(m.version, v);
  assert.equal(m.applied, 1);
});

test('a rejected patch is reworked unless its subtask finishes, and the run ends', () => {
  const m = new RunModel();
  m.apply(started());
  m.apply(ev('patch_submitted', {subtask_id: 'c', attempt: 1}));
  m.apply(ev('patch_rejected', {subtask_id: 'c', reason: 'conflict', rejection_reason: 'REJECTION_REASON_CONFLICT'}));
  assert.equal(m.subtasks.get('c').state, 'PENDING');
  assert.deepEqual(m.rejected.map((r) => r.reason), ['conflict']);
  m.apply(ev('subtask_finished', {subtask_id: 'c', state: 'CONFLICT_EXHAUSTED', reason: 'still conflicts'}));
  assert.equal(m.counts().failed, 1);
  m.apply(ev('run_finished', {state: 'failed'}));
  assert.equal(m.state, 'failed');
});

test('layers follow dependencies and the critical path is the longest chain', () => {
  const m = new RunModel();
  m.apply(started());
  const {layers, critical} = m.layers();
  assert.deepEqual(layers, [['a', 'c'], ['b'], ['d']]);
  assert.deepEqual([...critical].sort(), ['a', 'b', 'd']);
  const flat = new RunModel();
  seq = 0;
  flat.apply(ev('run_started', {subtasks: [{id: 'x'}, {id: 'y'}]}));
  assert.equal(flat.layers().critical.size, 0);  // nothing depends on anything: no path to mark
});

test('the chart counts calls in flight at each call end', () => {
  const m = new RunModel();
  m.apply(started());
  m.apply(ev('model_called', {call: {ok: true, cost_usd: 1, latency_ms: 1000}}, 2000));  // 1000..2000
  m.apply(ev('model_called', {call: {ok: true, cost_usd: 2, latency_ms: 500}}, 2200));   // 1700..2200
  const points = m.series();
  assert.deepEqual(points.map((p) => p.costUsd), [1, 3]);
  assert.deepEqual(points.map((p) => p.inFlight), [2, 1]);
});

test('an issue planned replaces its lane\'s lone subtask', () => {
  const m = new RunModel();
  seq = 0;
  m.apply(ev('run_started', {subtasks: [{id: 'issue-1', lane: 'issue-1'}]}));
  m.apply(ev('issue_planned', {lane: 'issue-1', subtasks: [{id: 'issue-1.a', lane: 'issue-1'}, {id: 'issue-1.b', lane: 'issue-1'}]}));
  assert.deepEqual([...m.subtasks.keys()], ['issue-1.a', 'issue-1.b']);
});

test('a patch under test is marked until its tests end or it leaves the queue', () => {
  const m = new RunModel();
  m.apply(started());
  m.apply(ev('patch_submitted', {subtask_id: 'a', attempt: 1}));
  m.apply(ev('patch_submitted', {subtask_id: 'c', attempt: 1}));
  const live = (q) => m.apply({live: true, run_id: 'r', time_unix_ms: '9000', queue_testing: q});
  live({stage: 'check', subtask_ids: ['a']});
  live({stage: 'check', subtask_ids: ['zz']});  // not waiting: nothing to mark
  assert.deepEqual([...m.underTest.keys()], ['a']);
  live({stage: 'check', subtask_ids: ['a'], done: true});
  assert.equal(m.underTest.size, 0);
  live({stage: 'queue', subtask_ids: ['a', 'c']});
  assert.equal(m.underTest.get('c').stage, 'queue');
  m.apply(ev('landed', {subtask_ids: ['a', 'c']}));
  assert.equal(m.underTest.size, 0);
});

test('a resumed run runs again after its earlier end, and a failed attempt waits for its retry', () => {
  const m = new RunModel();
  m.apply(started());
  m.apply(ev('subtask_leased', {subtask_id: 'a', attempt: 1, host_id: 'h'}));
  m.apply(ev('attempt_finished', {subtask_id: 'a', attempt: 1, outcome: 'failed', attempt_outcome: 'ATTEMPT_OUTCOME_FAILED'}));
  assert.equal(m.subtasks.get('a').state, 'PENDING');
  m.apply(ev('run_finished', {state: 'cancelled'}));
  assert.equal(m.state, 'cancelled');
  m.apply(ev('run_resumed', {head: 'abc', budget_usd: 3}));
  assert.equal(m.state, '');
  assert.equal(m.finishedMs, 0);
  assert.equal(m.budgetUsd, 3);
});

test('the chart thins a long run to a few hundred points, keeping the last', () => {
  const m = new RunModel();
  m.apply(started());
  for (let i = 0; i < 5000; i++) m.apply(ev('model_called', {call: {ok: true, cost_usd: 0.001, latency_ms: 10}}, 2000 + i));
  const points = m.series();
  assert.equal(points.length, 600);
  assert.ok(Math.abs(points[points.length - 1].costUsd - 5) < 1e-9);
});

test('the run\'s end clears what was under test and waiting, whatever last words were lost', () => {
  const m = new RunModel();
  m.apply(started());
  m.apply(ev('patch_submitted', {subtask_id: 'a', attempt: 1}));
  m.apply({live: true, run_id: 'r', time_unix_ms: '9000', queue_testing: {stage: 'queue', subtask_ids: ['a']}});
  assert.equal(m.underTest.size, 1);
  m.apply(ev('run_finished', {state: 'cancelled'}));
  assert.equal(m.underTest.size, 0);
  assert.equal(m.waiting.size, 0);
});
