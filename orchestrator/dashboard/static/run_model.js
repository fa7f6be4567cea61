// A run as the dashboard shows it, folded from its events in order (the same whether they come at
// page load or live). No DOM here: run.js draws it; tests run it under node.
'use strict';

(function(exports) {
const FINAL = new Set([
  'LANDED', 'FAILED', 'SKIPPED_DEPENDENCY', 'NO_CHANGE', 'REJECTED_CHECK', 'REJECTED_QUEUE', 'CONFLICT_EXHAUSTED',
  'FAILED_AGENT'
]);
const MAX_TAIL = 200;
const MAX_FINISHED = 200;  // landed and rejected entries the queue keeps

function num(v) {
  return v === undefined ? 0 : Number(v);
}

class RunModel {
  constructor() {
    this.seq = 0;
    this.applied = 0;  // stored events applied: equal to seq when none was missed or seen twice
    this.state = '';   // the run's, once it finished
    this.startedMs = 0;
    this.finishedMs = 0;
    this.budgetUsd = 0;
    this.subtasks = new Map();  // id -> {id, title, group, deps, files, lane, estimate, state, attempts, reason}
    this.agents =
        new Map();  // "id#attempt" -> {subtask, attempt, host, startedMs, step, action, actionMs, tokens, costUsd}
    this.waiting = new Map();  // subtask id -> {subtask, attempt, submittedMs, summary, checked}
    this.underTest = new Map();  // subtask id -> {stage, sinceMs}: its patch's tests are running now (live)
    this.testing = [];         // the queue's latest test runs: {stage, subtasks, passed, result, ms, verdict}
    this.landed = [];          // {subtasks, group, commit, ms}
    this.rejected = [];        // {subtask, reason, ms}
    this.spend = {calls: 0, failed: 0, input: 0, cached: 0, output: 0, costUsd: 0};
    this.calls = [];         // {startMs, endMs, costUsd, tokens}: the chart's points
    this.hosts = new Map();  // host id -> slots
    this.tail = [];          // the latest events, newest last
    this.version = 0;        // bumped by every change: the view redraws when it moved
    this.shape = 0;          // bumped when subtasks come or go: the graph is laid out again
  }

  // One event as the stream sends it (proto3 JSON). Live ones (agent_activity) change the agent's
  // row only. Returns false for a stored event already applied (seq not newer).
  apply(e) {
    if (e.live) {
      this.applyLive(e);
      return true;
    }
    const seq = num(e.seq);
    if (seq <= this.seq) return false;
    this.seq = seq;
    this.applied++;
    const t = num(e.time_unix_ms);
    this.version++;
    this.tail.push(e);
    if (this.tail.length > MAX_TAIL) this.tail.splice(0, this.tail.length - MAX_TAIL);
    if (e.run_started)
      this.started(e.run_started, t);
    else if (e.issue_planned)
      this.planned(e.issue_planned);
    else if (e.agent_registered)
      this.hosts.set(e.agent_registered.host_id, num(e.agent_registered.slots));
    else if (e.subtask_leased)
      this.leased(e.subtask_leased, t);
    else if (e.attempt_finished)
      this.attemptFinished(e.attempt_finished);
    else if (e.lease_expired)
      this.expired(e.lease_expired);
    else if (e.patch_submitted)
      this.submitted(e.patch_submitted, t);
    else if (e.test_run)
      this.tested(e.test_run, t);
    else if (e.landed)
      this.landedEvent(e.landed, t);
    else if (e.patch_rejected)
      this.rejectedEvent(e.patch_rejected, t);
    else if (e.subtask_finished)
      this.finishedSubtask(e.subtask_finished);
    else if (e.model_called)
      this.called(e.model_called.call || {}, t);
    else if (e.run_resumed)
      this.resumed(e.run_resumed);
    else if (e.run_finished) {
      this.state = e.run_finished.state || 'finished';
      this.finishedMs = t;
      // Nothing runs any more, whatever last words were lost with a cancel or a crash.
      this.agents.clear();
      this.underTest.clear();
      this.waiting.clear();
    }
    return true;
  }

  applyLive(e) {
    const q = e.queue_testing;
    if (q) {
      for (const id of q.subtask_ids || []) {
        if (q.done) {
          this.underTest.delete(id);
        } else if (this.waiting.has(id)) {  // a late word of a patch that already left the queue: nothing
          this.underTest.set(id, {stage: q.stage || '', sinceMs: num(e.time_unix_ms)});
        }
      }
      this.version++;
      return;
    }
    const a = e.agent_activity;
    if (!a) return;
    const row = this.agents.get(key(a.subtask_id, a.attempt));
    if (!row) return;  // an attempt that ended before its last word arrived
    row.step = num(a.step);
    if (row.action !== (a.action || '')) row.actionMs = num(e.time_unix_ms);
    row.action = a.action || '';
    this.version++;
  }

  started(r, t) {
    this.startedMs = this.startedMs || t;
    for (const s of r.subtasks || []) this.addSubtask(s);
  }

  addSubtask(s) {
    this.shape++;
    const old = this.subtasks.get(s.id);
    this.subtasks.set(s.id, {
      id: s.id,
      title: s.title || '',
      group: s.group || '',
      deps: s.depends_on || [],
      files: s.files || [],
      lane: s.lane || '',
      estimate: num(s.estimate_s),
      state: old ? old.state : 'PENDING',
      attempts: old ? old.attempts : 0,
      reason: old ? old.reason : '',
    });
  }

  planned(p) {
    // The lane's lone subtask (named after it) is replaced by its plan.
    if (p.subtasks && p.subtasks.length) {
      this.subtasks.delete(p.lane);
      this.shape++;
      for (const s of p.subtasks) this.addSubtask(s);
    }
  }

  leased(l, t) {
    const s = this.subtasks.get(l.subtask_id);
    if (s) {
      s.state = 'RUNNING';
      s.attempts = Math.max(s.attempts, num(l.attempt));
    }
    this.agents.set(key(l.subtask_id, l.attempt), {
      subtask: l.subtask_id,
      attempt: num(l.attempt),
      host: l.host_id || '',
      startedMs: t,
      step: 0,
      action: '',
      actionMs: t,
      tokens: 0,
      costUsd: 0,
    });
  }

  attemptFinished(a) {
    this.agents.delete(key(a.subtask_id, a.attempt));
    // A patch goes on to the queue (patch_submitted follows); otherwise it waits for a retry or its end.
    const s = this.subtasks.get(a.subtask_id);
    const patch = a.attempt_outcome === 'ATTEMPT_OUTCOME_PATCH' || a.outcome === 'patch';
    if (s && s.state === 'RUNNING' && !patch) s.state = 'PENDING';
  }

  expired(l) {
    this.agents.delete(key(l.subtask_id, l.attempt));
    const s = this.subtasks.get(l.subtask_id);
    if (s && s.state === 'RUNNING') s.state = 'PENDING';
  }

  submitted(p, t) {
    const s = this.subtasks.get(p.subtask_id);
    if (s) s.state = 'MERGING';
    this.waiting.set(
        p.subtask_id,
        {subtask: p.subtask_id, attempt: num(p.attempt), submittedMs: t, summary: p.summary || '', checked: false});
  }

  tested(r, t) {
    const stage = r.test_stage ? r.test_stage.replace('TEST_STAGE_', '').toLowerCase() : (r.stage || '');
    if (stage === 'head') return;
    for (const id of r.subtask_ids || []) {
      const w = this.waiting.get(id);
      if (w && stage === 'check' && r.passed) w.checked = true;
    }
    this.testing.push({
      stage,
      subtasks: r.subtask_ids || [],
      passed: !!r.passed,
      result: r.result || '',
      ms: t,
      durationMs: num(r.duration_ms),
      verdict: r.verdict || ''
    });
    if (this.testing.length > MAX_FINISHED) this.testing.shift();
  }

  landedEvent(l, t) {
    for (const id of l.subtask_ids || []) {
      this.waiting.delete(id);
      this.underTest.delete(id);
      const s = this.subtasks.get(id);
      if (s) s.state = 'LANDED';
    }
    this.landed.push({subtasks: l.subtask_ids || [], group: l.group || '', commit: l.commit || '', ms: t});
    if (this.landed.length > MAX_FINISHED) this.landed.shift();
  }

  rejectedEvent(r, t) {
    this.waiting.delete(r.subtask_id);
    this.underTest.delete(r.subtask_id);
    const reason =
        r.rejection_reason ? r.rejection_reason.replace('REJECTION_REASON_', '').toLowerCase() : (r.reason || '');
    this.rejected.push({subtask: r.subtask_id, reason, ms: t});
    if (this.rejected.length > MAX_FINISHED) this.rejected.shift();
    const s = this.subtasks.get(r.subtask_id);
    if (s && s.state === 'MERGING') s.state = 'PENDING';  // reworked, unless its finish follows
  }

  finishedSubtask(f) {
    this.underTest.delete(f.subtask_id);
    const s = this.subtasks.get(f.subtask_id);
    if (!s) return;
    s.state = f.state || 'FAILED';
    s.reason = f.reason || '';
    if (FINAL.has(s.state)) this.waiting.delete(f.subtask_id);
  }

  called(c, t) {
    const u = c.usage || {};
    const input = num(u.input_tokens), cached = num(u.cached_input_tokens), output = num(u.output_tokens);
    const cost = Number(c.cost_usd || 0);
    this.spend.calls++;
    if (!c.ok) this.spend.failed++;
    this.spend.input += input;
    this.spend.cached += cached;
    this.spend.output += output;
    this.spend.costUsd += cost;
    this.calls.push({startMs: t - num(c.latency_ms), endMs: t, costUsd: cost, tokens: input + output});
    const row = this.agents.get(key(c.subtask_id, c.attempt));
    if (row) {
      row.tokens += input + output;
      row.costUsd += cost;
    }
  }

  resumed(r) {
    if (Number(r.budget_usd || 0) > 0) this.budgetUsd = Number(r.budget_usd);
    this.state = '';  // running again: the log goes on after its earlier end
    this.finishedMs = 0;
    this.underTest.clear();  // the old coordinator's tests ended with it
    this.agents.clear();  // the old coordinator's attempts ended with it
    for (const s of this.subtasks.values())
      if (s.state === 'RUNNING') s.state = 'PENDING';
  }

  counts() {
    const c = {total: this.subtasks.size, landed: 0, running: 0, merging: 0, pending: 0, failed: 0, other: 0};
    for (const s of this.subtasks.values()) {
      if (s.state === 'LANDED')
        c.landed++;
      else if (s.state === 'RUNNING')
        c.running++;
      else if (s.state === 'MERGING')
        c.merging++;
      else if (s.state === 'PENDING' || s.state === 'FIX_UP_PENDING' || s.state === 'CANCELLED')
        c.pending++;
      else if (FINAL.has(s.state) && s.state !== 'NO_CHANGE')
        c.failed++;
      else
        c.other++;
    }
    return c;
  }

  // Subtasks by depth (the longest chain of dependencies before each), and the critical path: the
  // longest chain by estimated time (1 each without estimates), as a set of ids.
  layers() {
    const depth = new Map(), length = new Map(), via = new Map();
    const visiting = new Set();
    const visit = (id) => {
      if (depth.has(id)) return;
      const s = this.subtasks.get(id);
      if (!s || visiting.has(id)) {
        depth.set(id, 0);
        length.set(id, 0);
        return;
      }  // a cycle: plans refuse them
      visiting.add(id);
      let d = 0, best = 0, from = null;
      for (const dep of s.deps) {
        if (!this.subtasks.has(dep)) continue;
        visit(dep);
        d = Math.max(d, depth.get(dep) + 1);
        if (length.get(dep) > best) {
          best = length.get(dep);
          from = dep;
        }
      }
      visiting.delete(id);
      depth.set(id, d);
      length.set(id, best + (s.estimate || 1));
      via.set(id, from);
    };
    for (const id of this.subtasks.keys()) visit(id);
    const layers = [];
    for (const id of this.subtasks.keys()) {
      const d = depth.get(id);
      while (layers.length <= d) layers.push([]);
      layers[d].push(id);
    }
    let end = null;
    for (const [id, l] of length)
      if (end === null || l > length.get(end)) end = id;
    const critical = new Set();
    // A graph without a dependency has no path worth marking.
    if (end !== null && layers.length > 1)
      for (let id = end; id; id = via.get(id)) critical.add(id);
    return {layers, critical};
  }

  // The chart's series: at each call's end, the cost and tokens so far and the calls in flight.
  // At most `max` points (evenly thinned; the last always kept), so a long run draws as fast as a short one.
  series(max = 600) {
    const all = this.allPoints();
    if (all.length <= max) return all;
    const points = [];
    const step = all.length / max;
    for (let i = 0; i < max - 1; i++) points.push(all[Math.floor(i * step)]);
    points.push(all[all.length - 1]);
    return points;
  }

  allPoints() {
    const points = [];
    const ends = this.calls.map((c) => c.endMs).sort((a, b) => a - b);
    const starts = this.calls.map((c) => c.startMs).sort((a, b) => a - b);
    let cost = 0, tokens = 0, s = 0, e = 0;
    const byEnd = [...this.calls].sort((a, b) => a.endMs - b.endMs);
    for (const c of byEnd) {
      cost += c.costUsd;
      tokens += c.tokens;
      while (s < starts.length && starts[s] <= c.endMs) s++;
      while (e < ends.length && ends[e] < c.endMs) e++;
      points.push({t: c.endMs, costUsd: cost, tokens, inFlight: Math.max(0, s - e)});
    }
    return points;
  }
}

function key(subtask, attempt) {
  return subtask + '#' + num(attempt);
}

exports.RunModel = RunModel;
exports.FINAL = FINAL;
})(typeof module !== 'undefined' ? module.exports : (window.SwarmRunModel = {}));
