#include "orchestrator/run/run_timing.h"
#include "orchestrator/store/event_kinds.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace swarm {
namespace {

StageTiming Summarize(std::vector<double> v) {
  StageTiming t;
  t.count = static_cast<int>(v.size());
  if (v.empty()) return t;
  std::sort(v.begin(), v.end());
  auto rank = [&](double p) {  // nearest rank
    std::size_t i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  t.p50_s = rank(0.50);
  t.p99_s = rank(0.99);
  for (double x : v) t.total_s += x;
  return t;
}

}  // namespace

RunTiming MeasureRun(const std::vector<v1::Event>& events) {
  RunTiming r;
  if (events.empty()) return r;
  double start = static_cast<double>(events.front().time_unix_ms()) / 1000, end = start;
  for (const v1::Event& e : events) {
    start = std::min(start, static_cast<double>(e.time_unix_ms()) / 1000);
    end = std::max(end, static_cast<double>(e.time_unix_ms()) / 1000);
  }
  r.wall_s = end - start;

  std::map<std::string, std::vector<std::string>> depends_on;
  std::map<std::string, double> leased_at, ended_at, committed_at;  // by "subtask#attempt"
  std::map<std::string, double> done_at;        // subtask: landed or needed no change
  std::map<std::string, double> last_end;       // subtask: when it last went back for another attempt
  std::map<std::string, double> first_lease;    // subtask
  std::map<std::string, double> last_patch;     // subtask: its last patch committed
  std::vector<double> lease_wait, agent, patch, merge;
  std::vector<std::pair<double, double>> calls;  // model calls: start, end
  auto key = [](const std::string& id, std::uint32_t attempt) { return id + "#" + std::to_string(attempt); };
  auto ready_at = [&](const std::string& id) {
    double t = start;
    for (const auto& d : depends_on[id]) {
      if (auto it = done_at.find(d); it != done_at.end()) t = std::max(t, it->second);
    }
    if (auto it = last_end.find(id); it != last_end.end()) t = std::max(t, it->second);
    return t;
  };
  for (const v1::Event& e : events) {
    const double t = static_cast<double>(e.time_unix_ms()) / 1000;
    switch (e.kind_case()) {
      case v1::Event::kRunStarted:
        r.agents = std::max<int>(r.agents, static_cast<int>(e.run_started().agents()));
        for (const auto& s : e.run_started().subtasks()) {
          depends_on[s.id()].assign(s.depends_on().begin(), s.depends_on().end());
        }
        break;
      case v1::Event::kModelCalled:
        calls.emplace_back(t - e.model_called().call().latency_ms() / 1000.0, t);
        for (const auto& [kind, n] : e.model_called().call().faults()) r.model_faults[kind] += n;
        break;
      case v1::Event::kSubtaskLeased: {
        const auto& l = e.subtask_leased();
        leased_at[key(l.subtask_id(), l.attempt())] = t;
        lease_wait.push_back(std::max(0.0, t - ready_at(l.subtask_id())));
        first_lease.emplace(l.subtask_id(), t);
        break;
      }
      case v1::Event::kAttemptFinished: {
        const auto& f = e.attempt_finished();
        const std::string k = key(f.subtask_id(), f.attempt());
        if (auto it = leased_at.find(k); it != leased_at.end()) {
          agent.push_back(std::max(0.0, t - it->second));
          r.agent_busy_s += std::max(0.0, t - it->second);
        }
        ended_at[k] = t;
        last_end[f.subtask_id()] = t;  // a failed attempt is ready again now
        if (OutcomeOf(f) == v1::ATTEMPT_OUTCOME_NO_CHANGE) done_at[f.subtask_id()] = t;
        break;
      }
      case v1::Event::kPatchSubmitted: {
        const auto& p = e.patch_submitted();
        if (auto it = ended_at.find(key(p.subtask_id(), p.attempt())); it != ended_at.end()) {
          patch.push_back(std::max(0.0, t - it->second));
        }
        last_patch[p.subtask_id()] = t;
        last_end[p.subtask_id()] = t;  // a patch rejected later is ready again only after its check
        break;
      }
      case v1::Event::kPatchRejected:
        // A conflict or a failed test sends it back: ready for the next attempt from here.
        last_end[e.patch_rejected().subtask_id()] = t;
        break;
      case v1::Event::kLanded:
        for (const auto& id : e.landed().subtask_ids()) {
          if (auto it = last_patch.find(id); it != last_patch.end()) merge.push_back(std::max(0.0, t - it->second));
          done_at[id] = t;
        }
        break;
      default:
        break;
    }
  }
  r.stages["lease_wait"] = Summarize(lease_wait);
  r.stages["agent"] = Summarize(agent);
  r.stages["patch"] = Summarize(patch);
  r.stages["merge"] = Summarize(merge);
  const double capacity = static_cast<double>(r.agents) * r.wall_s;
  if (capacity > 0) {
    // Not capped: above 1 means more slots ran than --agents said (hosts that joined on their own).
    r.efficiency = r.agent_busy_s / capacity;
    r.agent_idle_s = std::max(0.0, capacity - r.agent_busy_s);
  }
  // The critical path: from the subtask done last, back through the dependency done last.
  std::string at;
  for (const auto& [id, t] : done_at) {
    if (at.empty() || t > done_at[at]) at = id;
  }
  std::set<std::string> seen;
  while (!at.empty() && seen.insert(at).second) {
    r.critical_path.push_back(at);
    std::string next;
    for (const auto& d : depends_on[at]) {
      if (done_at.count(d) && (next.empty() || done_at[d] > done_at[next])) next = d;
    }
    at = next;
  }
  std::reverse(r.critical_path.begin(), r.critical_path.end());
  for (const auto& id : r.critical_path) {
    if (auto lease = first_lease.find(id); lease != first_lease.end()) r.critical_path_s += done_at[id] - lease->second;
  }
  if (!calls.empty()) {
    // At most 120 slices of at least a second; a sweep over the calls' starts and ends.
    r.in_flight_slice_s = std::max(1.0, r.wall_s / 120);
    const auto slice = [&](double at) {
      return static_cast<std::size_t>(std::max(0.0, (at - start) / r.in_flight_slice_s));
    };
    r.model_in_flight.assign(slice(end) + 1, 0);
    std::vector<std::pair<double, int>> edges;
    for (const auto& [from, to] : calls) {
      edges.emplace_back(std::max(from, start), +1);
      edges.emplace_back(to, -1);
    }
    std::sort(edges.begin(), edges.end());  // at a tie, an end (-1) before a start
    int in_flight = 0;
    for (std::size_t i = 0; i < edges.size(); ++i) {
      in_flight += edges[i].second;
      if (in_flight <= 0 || i + 1 == edges.size()) continue;
      // Constant from this edge to the next: every slice the span touches saw at least this many.
      // Half-open: a span that ends on a slice's first instant does not reach into it.
      const double until = edges[i + 1].first;
      std::size_t last = std::min(slice(until), r.model_in_flight.size() - 1);
      if (last > slice(edges[i].first) && start + static_cast<double>(last) * r.in_flight_slice_s >= until) --last;
      for (std::size_t k = slice(edges[i].first); k <= last; ++k) {
        r.model_in_flight[k] = std::max(r.model_in_flight[k], in_flight);
      }
    }
  }
  return r;
}

}  // namespace swarm
