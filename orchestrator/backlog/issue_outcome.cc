#include "orchestrator/backlog/issue_outcome.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "models/budget.h"
#include "orchestrator/merge/check_stage.h"
#include "orchestrator/plan/issue_planner.h"
#include "orchestrator/run/exit_codes.h"

namespace swarm {
namespace {

using Kind = IssueOutcome::Kind;

// The reason an unresolved lane gives, from its subtasks' final states (the first that says most).
std::pair<std::string, const SubtaskRow*> WhyUnresolved(const std::vector<const SubtaskRow*>& rows, bool require_test) {
  for (const SubtaskRow* row : rows) {
    if (row->state == v1::REJECTED_CHECK && absl::StartsWith(row->reason, kNoFailingTest)) {
      return {kNoFailingTest, row};
    }
    // In a lane of several subtasks, the one that was to write the test landed nothing.
    if (require_test && rows.size() > 1 && row->spec.test_first() && row->state == v1::NO_CHANGE) {
      return {kNoFailingTest, row};
    }
  }
  for (const SubtaskRow* row : rows) {
    if (row->state == v1::REJECTED_CHECK || row->state == v1::REJECTED_QUEUE) return {"tests failed", row};
  }
  for (const SubtaskRow* row : rows) {
    // The run's budget (what was cut short by it), or the issue's own (its agents' calls refused).
    if (absl::StartsWith(row->reason, "stopped: the budget") || absl::StrContains(row->reason, kGroupBudgetWords)) {
      return {"budget", row};
    }
  }
  for (const SubtaskRow* row : rows) {
    if (row->state == v1::CONFLICT_EXHAUSTED) return {"conflict", row};
    if (row->state == v1::FAILED || row->state == v1::FAILED_AGENT) return {"agent failed", row};
    if (row->state == v1::CANCELLED) return {"cancelled", row};
  }
  for (const SubtaskRow* row : rows) {
    if (row->state != v1::NO_CHANGE && row->state != v1::LANDED) return {"not finished", row};
  }
  return {"no change", rows.empty() ? nullptr : rows.front()};
}

}  // namespace

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kResolved:
      return "resolved";
    case Kind::kUnresolved:
      return "unresolved";
    case Kind::kFailed:
      return "failed";
    case Kind::kSkipped:
      return "skipped";
  }
  return "failed";
}

absl::StatusOr<std::vector<IssueOutcome>> ReadIssueOutcomes(const Store& store, const std::string& run_id,
                                                            const v1::Backlog& backlog, const Git& integration,
                                                            const std::string& base) {
  absl::StatusOr<std::vector<SubtaskRow>> rows = store.Subtasks(run_id);
  if (!rows.ok()) return rows.status();
  absl::StatusOr<std::vector<v1::Event>> events = store.Events(run_id);
  if (!events.ok()) return events.status();
  absl::StatusOr<std::map<std::string, ModelSpend>> spend = store.SpendBySubtask(run_id);
  if (!spend.ok()) return spend.status();

  std::map<std::string, std::vector<const SubtaskRow*>> by_lane;
  for (const SubtaskRow& row : *rows) by_lane[row.spec.lane()].push_back(&row);
  // From the event log: each lane's end (RunFinished), its landings' summaries, its last passing
  // test on the lane, the base's failing tests, and when its subtasks started and ended.
  std::map<std::string, v1::LaneEnd> ends;
  std::map<std::string, std::string> summary_of;                     // subtask -> its newest patch's summary
  std::map<std::string, std::vector<std::string>> landed_summaries;  // lane -> in landing order
  std::map<std::string, std::string> lane_of;
  for (const SubtaskRow& row : *rows) lane_of[row.spec.id()] = row.spec.lane();
  std::map<std::string, std::vector<std::string>> lane_failing;  // lane -> failing on its last landing
  std::set<std::string> base_failing;
  std::map<std::string, std::vector<std::string>> reproduced_by;  // subtask -> its newest check's new tests
  std::map<std::string, std::set<std::string>> lane_reproduced;   // lane -> the tests its landings brought
  // The base failed its tests when the run ended before any agent started, with a failing head test
  // (with a per-test format, failures at the base are tolerated and the run goes on).
  bool base_failed = false, any_leased = false, ended_early = false;
  int exit_code = 0;                                                   // the run's, as it last ended
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> times;  // lane -> first lease, last outcome
  for (const v1::Event& e : *events) {
    if (e.has_run_finished()) {
      for (const v1::LaneEnd& end : e.run_finished().lanes()) ends[end.lane()] = end;
      ended_early = !e.run_finished().reason().empty();
      exit_code = e.run_finished().exit_code();
    } else if (e.has_patch_submitted()) {
      summary_of[e.patch_submitted().subtask_id()] = e.patch_submitted().summary();
    } else if (e.has_landed()) {
      for (const auto& id : e.landed().subtask_ids()) {
        if (!summary_of[id].empty()) landed_summaries[e.landed().lane()].push_back(summary_of[id]);
        lane_reproduced[e.landed().lane()].insert(reproduced_by[id].begin(), reproduced_by[id].end());
      }
    } else if (e.has_test_run()) {
      const v1::TestRun& t = e.test_run();
      if (t.test_stage() == v1::TEST_STAGE_HEAD && t.subtask_ids_size() == 0) {
        base_failing.insert(t.failing_tests().begin(), t.failing_tests().end());
        base_failed = !t.passed();
      } else if (t.test_stage() == v1::TEST_STAGE_CHECK && t.verdict().empty() && t.subtask_ids_size() > 0) {
        std::vector<std::string>& reproduced = reproduced_by[t.subtask_ids(0)];
        reproduced.assign(t.reproduced_tests().begin(), t.reproduced_tests().end());
      } else if (t.test_stage() == v1::TEST_STAGE_QUEUE && t.verdict().empty() && t.subtask_ids_size() > 0) {
        // The gate let it land (a per-test run passes with the base's failures still failing).
        lane_failing[lane_of[t.subtask_ids(0)]].assign(t.failing_tests().begin(), t.failing_tests().end());
      }
    } else if (e.has_subtask_leased() || e.has_subtask_finished()) {
      const std::string& id =
          e.has_subtask_leased() ? e.subtask_leased().subtask_id() : e.subtask_finished().subtask_id();
      any_leased = any_leased || e.has_subtask_leased();
      auto [it, first] = times.emplace(lane_of[id], std::make_pair(e.time_unix_ms(), e.time_unix_ms()));
      if (!first) it->second.second = e.time_unix_ms();
    }
  }

  std::vector<IssueOutcome> outcomes;
  for (const v1::Issue& issue : backlog.issues()) {
    IssueOutcome& o = outcomes.emplace_back();
    o.issue = issue;
    const std::vector<const SubtaskRow*>& lane_rows = by_lane[issue.id()];
    if (auto s = spend->find(IssuePlannerId(issue.id())); s != spend->end()) {  // planning the issue
      o.model_calls += s->second.calls;
      o.tokens += s->second.input_tokens + s->second.output_tokens;
      o.cost_usd += s->second.cost_usd;
    }
    for (const SubtaskRow* row : lane_rows) {
      o.subtasks.push_back(row->spec.id());
      o.attempts += row->attempts;
      if (auto s = spend->find(row->spec.id()); s != spend->end()) {
        o.model_calls += s->second.calls;
        o.tokens += s->second.input_tokens + s->second.output_tokens;
        o.cost_usd += s->second.cost_usd;
      }
    }
    if (auto t = times.find(issue.id()); t != times.end()) o.wall_s = (t->second.second - t->second.first) / 1000.0;
    auto end = ends.find(issue.id());
    if (end != ends.end() && !end->second.branch().empty()) {
      o.kind = Kind::kResolved;
      o.branch = end->second.branch();
      o.head = end->second.head();
      absl::StatusOr<std::string> names = integration.Run({"diff", "--name-only", "-z", base, o.head});
      if (!names.ok()) return names.status();
      for (absl::string_view name : absl::StrSplit(*names, '\0', absl::SkipEmpty())) o.files.emplace_back(name);
      o.summaries = landed_summaries[issue.id()];
      // Tests that failed at the base and pass now, and the tests its fixes brought (test first).
      // A landing recovered from the ref after a crash has no test record: then nothing is claimed.
      std::set<std::string> fixed = lane_reproduced[issue.id()];
      if (auto now = lane_failing.find(issue.id()); now != lane_failing.end()) {
        for (const std::string& test : base_failing) {
          if (std::find(now->second.begin(), now->second.end(), test) == now->second.end()) fixed.insert(test);
        }
      }
      o.fixed_tests.assign(fixed.begin(), fixed.end());
    } else if (end != ends.end()) {
      o.kind = Kind::kFailed;
      o.reason = "cannot publish its branch";
      o.detail = end->second.publish_error();
    } else if (base_failed && ended_early && !any_leased) {
      o.reason = "base fails its tests";
    } else {
      auto [reason, row] = WhyUnresolved(lane_rows, backlog.require_test());
      o.reason = reason;
      if (row != nullptr) {
        o.detail = row->reason;
        o.log_path = row->log_path;
      }
      // Swarm's own error, not the issue's: the judging could not be set up, or the run ended on a bug.
      const bool swarm_error = (row != nullptr && absl::StrContains(row->reason, kSwarmError)) ||
                               (exit_code == kExitInternal && (reason == "not finished" || reason == "cancelled"));
      if (swarm_error) {
        o.kind = Kind::kFailed;
        o.reason = kSwarmError;
      }
    }
  }
  // Resolved issues whose branches change the same file: their pull requests will conflict. Each
  // issue names at most 20 others (a file every fix touches, a changelog, would name them all).
  std::map<std::string, std::vector<std::size_t>> touching;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    for (const std::string& f : outcomes[i].files) touching[f].push_back(i);
  }
  std::vector<std::set<std::string>> overlaps(outcomes.size());
  for (const auto& [file, issues] : touching) {
    for (std::size_t i : issues) {
      for (std::size_t j : issues) {
        if (overlaps[i].size() >= 20) break;
        if (i != j) overlaps[i].insert(outcomes[j].issue.id());
      }
    }
  }
  for (std::size_t i = 0; i < outcomes.size(); ++i) outcomes[i].overlaps.assign(overlaps[i].begin(), overlaps[i].end());
  for (const v1::SkippedIssue& skipped : backlog.skipped()) {
    IssueOutcome& o = outcomes.emplace_back();
    o.issue = skipped.issue();
    o.kind = Kind::kSkipped;
    o.reason = skipped.reason();
  }
  return outcomes;
}

}  // namespace swarm
