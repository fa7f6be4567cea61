#include "orchestrator/run/recovery.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {
namespace {
using State = Scheduler::State;
constexpr char kInterrupted[] = "interrupted:";

State Restored(v1::SubtaskState s) {
  switch (s) {
    case v1::LANDED: return State::kLanded;
    case v1::SKIPPED_DEPENDENCY: return State::kSkipped;
    case v1::NO_CHANGE: return State::kNoChange;
    default: return IsFinal(s) ? State::kFailed : State::kPending;  // pending, running, merging, cancelled
  }
}

}  // namespace

absl::StatusOr<Recovery> Recover(const Store& store, const IntegrationRepo& repo, const Plan& plan,
                                 const std::string& run_id, const std::string& base, const std::string& test_command) {
  Recovery r;
  absl::StatusOr<std::string> head = repo.Head();
  if (!head.ok()) return head.status();
  r.head = *head;
  r.heads[""] = *head;
  for (const auto& s : plan.subtasks) {
    if (s.lane().empty() || r.heads.count(s.lane())) continue;
    // A lane's ref is made as the run starts; a coordinator that died before that left none.
    absl::StatusOr<std::string> lane_head = repo.Head(LaneRef(s.lane()));
    r.heads[s.lane()] = lane_head.ok() ? *lane_head : base;
  }

  absl::StatusOr<std::vector<v1::Event>> events = store.Events(run_id);
  if (!events.ok()) return events.status();
  absl::StatusOr<std::string> base_tree = repo.git().Run({"rev-parse", base + "^{tree}"});
  if (!base_tree.ok()) return base_tree.status();
  *base_tree = TrimNewline(*base_tree);
  std::set<std::string> recorded_landings, finished_events;
  for (const auto& e : *events) {
    if (e.has_landed()) recorded_landings.insert(e.landed().commit());
    if (e.has_subtask_finished()) finished_events.insert(e.subtask_finished().subtask_id());
    if (e.has_patch_submitted()) {
      r.patch_commits[e.patch_submitted().subtask_id()] = {static_cast<int>(e.patch_submitted().attempt()),
                                                           e.patch_submitted().commit(), e.patch_submitted().summary()};
    }
    if (e.has_test_run() && e.test_run().passed() && e.test_run().command() == test_command) {
      r.passed_trees.insert(e.test_run().tree());
      if (e.test_run().subtask_ids_size() == 0) r.base_passed = true;
    }
    if (e.has_test_run() && e.test_run().subtask_ids_size() == 0 && e.test_run().tree() == *base_tree) {
      r.base_failing = std::set<std::string>(e.test_run().failing_tests().begin(), e.test_run().failing_tests().end());
    }
    if (e.has_patch_rejected() && ReasonOf(e.patch_rejected()) == v1::REJECTION_REASON_CONFLICT) {
      ++r.rebases[e.patch_rejected().subtask_id()];
      r.conflicts[e.patch_rejected().subtask_id()] = e.patch_rejected().conflict_json();
    }
    if (e.has_subtask_finished() && e.subtask_finished().state() == v1::FIX_UP_PENDING) {
      ++r.fixups[e.subtask_finished().subtask_id()];
      r.failure_logs[e.subtask_finished().subtask_id()] = e.subtask_finished().log_path();
      r.refusals[e.subtask_finished().subtask_id()] = e.subtask_finished().refused();
    }
    if (e.has_patch_submitted()) {  // a newer patch answers both
      r.conflicts.erase(e.patch_submitted().subtask_id());
      r.failure_logs.erase(e.patch_submitted().subtask_id());
      r.refusals.erase(e.patch_submitted().subtask_id());
    }
    if (e.has_test_run()) ++r.test_runs;
    if (e.has_subtask_leased()) r.last_fence = std::max<std::uint64_t>(r.last_fence, e.subtask_leased().fence());
  }

  absl::StatusOr<std::vector<SubtaskRow>> rows = store.Subtasks(run_id);
  if (!rows.ok()) return rows.status();
  for (const auto& row : *rows) {
    Recovery::Subtask& s = r.subtasks[row.spec.id()];
    s.state = Restored(row.state);
    s.attempts = row.attempts;
    s.forgiven += r.rebases.count(row.spec.id()) ? r.rebases.at(row.spec.id()) : 0;  // rebases use no attempt
    s.forgiven += r.fixups.count(row.spec.id()) ? r.fixups.at(row.spec.id()) : 0;    // nor do fix-ups
    // A submitted patch that has not landed goes back to the merge stage (if its commit survived).
    auto p = r.patch_commits.find(row.spec.id());
    // (A cancel marks such a subtask cancelled; its patch is no less accepted.)
    if ((row.state == v1::MERGING || row.state == v1::CANCELLED) && p != r.patch_commits.end() &&
        p->second.attempt == row.attempts &&
        repo.git().Run({"cat-file", "-e", p->second.commit + "^{commit}"}).ok()) {
      s.state = State::kPatchReady;
    }
    if (row.state == v1::LANDED && !finished_events.count(row.spec.id())) s.needs_finished_event = true;
  }
  for (auto it = r.patch_commits.begin(); it != r.patch_commits.end();) {
    it = r.subtasks[it->first].state == State::kPatchReady ? std::next(it) : r.patch_commits.erase(it);
  }

  absl::StatusOr<std::vector<AttemptRow>> attempts = store.Attempts(run_id);
  if (!attempts.ok()) return attempts.status();
  for (const auto& a : *attempts) {
    // Cut short by a crash, a cancel or the run's end, not failed by the agent: forgiven.
    for (const char* cut_short : {kInterrupted, "cancelled:", "stopped:"}) {
      if (a.error.rfind(cut_short, 0) == 0) ++r.subtasks[a.subtask_id].forgiven;
    }
    if (!a.outcome.empty()) continue;
    v1::Event e;
    auto* f = e.mutable_attempt_finished();
    f->set_subtask_id(a.subtask_id);
    f->set_attempt(a.attempt);
    SetOutcome(*f, v1::ATTEMPT_OUTCOME_FAILED);
    f->set_error(std::string(kInterrupted) + " the coordinator stopped");
    r.missing.push_back(std::move(e));
    ++r.subtasks[a.subtask_id].forgiven;
    ++r.interrupted_attempts;
  }

  // Each lane's ref's first-parent history since the base: one commit per landing, named by its trailers.
  for (const auto& [lane, lane_head] : r.heads) {
    absl::StatusOr<std::string> log =
        repo.git().Run({"log", "--first-parent", "--reverse",
                        "--format=%H%x1f%P%x1f%T%x1f%(trailers:key=swarm-subtask,valueonly,separator=%x2C)%x1f"
                        "%(trailers:key=swarm-group,valueonly,separator=%x2C)%x1e",
                        absl::StrCat(base, "..", lane_head)});
    if (!log.ok()) return log.status();
    for (absl::string_view record : absl::StrSplit(*log, '\x1e', absl::SkipWhitespace())) {
      std::vector<std::string> f = absl::StrSplit(absl::StripLeadingAsciiWhitespace(record), '\x1f');
      if (f.size() < 5 || recorded_landings.count(f[0])) continue;
      std::vector<std::string> ids = absl::StrSplit(TrimNewline(f[3]), ',', absl::SkipWhitespace());
      std::string group(TrimNewline(f[4]));
      if (ids.empty() && plan.groups.count(group)) ids = plan.groups.at(group).members;
      if (ids.empty()) {
        return absl::DataLossError(absl::StrCat("commit ", f[0], " on the integration ref names no subtask"));
      }
      v1::Event e;
      auto* l = e.mutable_landed();
      for (const auto& id : ids) {
        if (!r.subtasks.count(id)) {
          return absl::DataLossError(absl::StrCat("commit ", f[0], " names subtask ", id, ", which the plan lacks"));
        }
        l->add_subtask_ids(id);
        r.subtasks[id].state = State::kLanded;
        r.subtasks[id].needs_finished_event = true;
        r.patch_commits.erase(id);
      }
      l->set_group(group);
      l->set_lane(lane);
      l->set_commit(f[0]);
      l->set_old_head(f[1].substr(0, f[1].find(' ')));  // the first parent: the head it landed on
      l->set_tree(f[2]);
      r.missing.push_back(std::move(e));
      ++r.reconciled_landings;
    }
  }
  return r;
}

}  // namespace swarm
