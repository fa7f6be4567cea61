#include "orchestrator/run/landing_pipeline.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/failpoint.h"
#include "base/terminal_text.h"
#include "base/utf8.h"
#include "orchestrator/run/recovery.h"
#include "orchestrator/run/run_events.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {
namespace {

using State = Scheduler::State;

State FromProto(v1::SubtaskState s) {
  switch (s) {
    case v1::LANDED: return State::kLanded;
    case v1::SKIPPED_DEPENDENCY: return State::kSkipped;
    case v1::NO_CHANGE: return State::kNoChange;
    default: return State::kFailed;
  }
}

std::vector<std::string> SubtaskIds(const MergeRequest& request) {
  std::vector<std::string> ids;
  for (const auto& p : request.patches) ids.push_back(p.subtask_id);
  return ids;
}

// The name of a log about `request`: its lone subtask's, or its group's.
std::string LogName(const MergeRequest& request) {
  return request.group.empty() ? request.patches[0].subtask_id : "group-" + request.group;
}

}  // namespace

LandingPipeline::LandingPipeline(const Plan& plan, Scheduler& scheduler, ReworkPolicy& rework, Settings settings,
                                 Hooks hooks)
    : plan_(plan), scheduler_(scheduler), rework_(rework), settings_(std::move(settings)), hooks_(std::move(hooks)) {}

void LandingPipeline::UseStages(PatchChecker& check, MergeQueue& merge) {
  UseStages(check, [&merge](const std::string&) -> MergeQueue& { return merge; });
}

void LandingPipeline::UseStages(PatchChecker& check, std::function<MergeQueue&(const std::string& lane)> merge_for) {
  check_ = &check;
  merge_for_ = std::move(merge_for);
}

void LandingPipeline::StartAt(const std::string& lane, const std::string& head, std::set<std::string> failing) {
  heads_[lane] = {head, std::move(failing)};
}

void LandingPipeline::FailingAt(const std::string& commit, const std::set<std::string>& failing) {
  for (auto& [lane, head] : heads_) {
    if (head.commit == commit) head.failing = failing;
  }
}

const std::string& LandingPipeline::head(const std::string& lane) const {
  return MustFind(heads_, lane, "lane").commit;
}

const std::set<std::string>& LandingPipeline::head_failing(const std::string& lane) const {
  return MustFind(heads_, lane, "lane").failing;
}

void LandingPipeline::Restore(const Recovery& rec) {
  for (const auto& [id, s] : rec.subtasks) {
    scheduler_.Restore(id, s.state, s.attempts, s.forgiven);
    if (Scheduler::IsTerminal(s.state)) finished_.insert(id);
  }
  patch_commits_ = rec.patch_commits;
  for (const auto& [lane, head] : rec.heads) StartAt(lane, head, {});
  for (const auto& [id, s] : rec.subtasks) {
    if (s.needs_finished_event) FinishSubtask(id, v1::LANDED, "", "");
  }
  std::map<std::string, std::string> failures;
  for (const auto& [id, log] : rec.failure_logs) {
    // The failed patch is the subtask's newest one.
    auto it = rec.subtasks.find(id);
    for (int attempt = it != rec.subtasks.end() ? it->second.attempts : 0; attempt > 0; --attempt) {
      if (hooks_.patch_diff(id, attempt).ok()) {
        auto refused = rec.refusals.find(id);
        failures[id] = FailureJson(id, attempt, log, refused != rec.refusals.end() ? refused->second : "");
        break;
      }
    }
  }
  rework_.Restore(rec.rebases, rec.conflicts, rec.fixups, std::move(failures));
}

void LandingPipeline::Cancel(const std::string& reason) {
  if (!cancelled_) cancelled_ = reason;
}

void LandingPipeline::CountFlaky(const std::vector<std::string>& tests) {
  for (const auto& name : tests) ++flaky_counts_[name];
}

void LandingPipeline::Accept(const Lease& lease, const v1::AttemptResult& result) {
  ++jobs_in_flight_;
  std::string message = absl::StrCat(scheduler_.spec(lease.subtask_id).title(), " (", lease.subtask_id, ")\n");
  hooks_.post_work([this, lease, result, message] {
    absl::StatusOr<std::string> commit = hooks_.commit_patch(result, message);
    hooks_.post([this, lease, result, commit] {
      --jobs_in_flight_;
      OnPatchCommitted(lease, result, commit);
    });
  });
}

void LandingPipeline::OnPatchCommitted(const Lease& lease, const v1::AttemptResult& result,
                                       absl::StatusOr<std::string> commit) {
  if (!commit.ok() || result.base_commit() != lease.base) {
    std::string why = commit.ok() ? "the patch is not on the leased base" : std::string(commit.status().message());
    hooks_.attempt_failed(lease, "invalid patch: " + why);
  } else {
    v1::Event e;
    auto* p = e.mutable_patch_submitted();
    p->set_subtask_id(lease.subtask_id);
    p->set_attempt(lease.attempt);
    p->set_base_commit(lease.base);
    p->set_tree(result.tree());
    p->set_commit(*commit);
    p->set_diff_bytes(result.patch().size());
    std::string summary = ToUtf8(result.summary().substr(0, 4096));
    p->set_summary(summary);
    hooks_.emit(std::move(e), {.patch_diff = result.patch()});
    rework_.PatchSubmitted(lease.subtask_id);  // a fix-up's patch: what the failure asked for
    patch_commits_[lease.subtask_id] = {lease.attempt, *commit, std::move(summary)};
    scheduler_.AttemptSucceeded(lease.subtask_id, /*no_change=*/false);
    SubmitMergeable();
  }
  hooks_.progressed();
}

void LandingPipeline::SubmitMergeable() {
  std::vector<std::string> failed_groups;
  auto batches = scheduler_.TakeMergeable(&failed_groups);
  for (const auto& group : failed_groups) {
    const GroupSpec& spec = MustFind(plan_.groups, group, "group");
    std::string culprits;
    for (const auto& m : spec.members) {
      if (finished_.count(m) && scheduler_.state(m) != State::kNoChange) {
        absl::StrAppend(&culprits, culprits.empty() ? "" : ", ", m);
      }
    }
    for (const auto& m : spec.members) {
      if (!finished_.count(m)) {
        FinishSubtask(m, v1::FAILED, absl::StrCat("group ", group, " cannot land: ", culprits, " did not produce a patch"),
                      "");
      }
    }
  }
  for (auto& batch : batches) {
    if (cancelled_) {
      for (const auto& id : batch) scheduler_.Finish(id, State::kFailed);
      continue;
    }
    MergeRequest request;
    request.group = scheduler_.spec(batch[0]).group();
    if (settings_.require_test && scheduler_.spec(batch[0]).test_first()) request.test_first = settings_.test_globs;
    if (!request.group.empty() && MustFind(plan_.groups, request.group, "group").partial) request.group.clear();
    for (const auto& id : batch) {
      const SubmittedPatch& patch = MustFind(patch_commits_, id, "patch of subtask");
      const v1::Subtask& spec = scheduler_.spec(id);
      request.patches.push_back({id, patch.attempt, patch.commit, spec.title(),
                                 std::vector<std::string>(spec.tests().begin(), spec.tests().end()), patch.summary});
    }
    // Stage 1: the check, alone on its own base, in parallel; then the integration queue.
    SWARM_CHECK(check_ != nullptr) << "a patch was submitted before the merge stages were given";
    ++jobs_in_flight_;
    check_->Submit(request, [this, request](CheckResult result) {
      hooks_.post([this, request, result] {
        --jobs_in_flight_;
        OnChecked(request, result);
      });
    });
  }
  if (!failed_groups.empty()) SkipBlocked();
}

void LandingPipeline::OnChecked(const MergeRequest& request, const CheckResult& result) {
  const std::vector<std::string> ids = SubtaskIds(request);
  if (result.tested) {
    EmitTestRun(result.tree, result.test, ids, result.pass ? "" : result.why, result.flaky_tests, v1::TEST_STAGE_CHECK,
                result.new_tests);
    CountFlaky(result.flaky_tests);
  }
  if (cancelled_) {
    for (const auto& id : ids) FinishSubtask(id, v1::CANCELLED, "cancelled before it finished: " + *cancelled_, "");
  } else if (result.pass) {
    ++jobs_in_flight_;
    MergeRequest merging = request;
    // Test first: the tests the patch brought must pass once it lands, as the plan's named tests do.
    for (MergePatch& p : merging.patches)
      p.tests.insert(p.tests.end(), result.new_tests.begin(), result.new_tests.end());
    merge_for_(scheduler_.spec(ids[0]).lane()).Submit(merging, [this, request = merging](MergeResult merged) {
      hooks_.post([this, request, merged] {
        --jobs_in_flight_;
        OnMerged(request, merged);
      });
    });
  } else {
    std::string log = result.test.log_path;
    if (log.empty()) log = hooks_.write_log(LogName(request) + ".check.log", result.why + "\n");
    // A group that fails is rejected whole; the failure output says which members did it, if it can.
    std::string blame = request.group.empty() || !result.tested ? "" : "; " + hooks_.blame(request, log);
    for (const auto& id : ids) {
      v1::Event e;
      e.mutable_patch_rejected()->set_subtask_id(id);
      SetReason(*e.mutable_patch_rejected(), v1::REJECTION_REASON_CHECK_FAILED);
      e.mutable_patch_rejected()->set_log_path(log);
      hooks_.emit(std::move(e), {});
      // A patch without a failing test is not sent to a debugging sub-agent: its tests did not fail.
      // A patch without a failing test is redone told why (the run without its fix, and its patch).
      if (request.group.empty() && !result.swarm_error &&
          TryFixUp(id, request.patches[0].attempt, result.no_failing_test ? result.test_first_log : log, result.tested,
                   result.no_failing_test ? result.why : "")) {
        continue;
      }
      const std::string why = result.swarm_error ? absl::StrCat(kSwarmError, ": ", result.why) : result.why;
      FinishSubtask(id, v1::REJECTED_CHECK,
                    request.group.empty() ? why : absl::StrCat("group ", request.group, ": ", why, blame), log);
    }
    SkipBlocked();
  }
  hooks_.progressed();
}

void LandingPipeline::OnMerged(const MergeRequest& request, const MergeResult& result) {
  using Outcome = MergeResult::Outcome;
  if (result.tested) {
    EmitTestRun(result.tree, result.test, SubtaskIds(request), result.outcome == Outcome::kLanded ? "" : result.detail,
                result.flaky_tests, v1::TEST_STAGE_QUEUE);
    CountFlaky(result.flaky_tests);
  }
  if (result.outcome == Outcome::kLanded) {
    // A candidate lands several requests at once; only its last commit, the one tested, becomes the
    // base that new leases start from.
    const std::string& lane = scheduler_.spec(request.patches[0].subtask_id).lane();
    if (result.tested) {
      heads_[lane] = {result.commit, result.test.results.Failing()};
      check_->RecordHead(result.commit, result.test);
    }
    v1::Event e;
    auto* l = e.mutable_landed();
    l->set_lane(lane);
    for (const auto& p : request.patches) l->add_subtask_ids(p.subtask_id);
    l->set_group(request.group);
    l->set_commit(result.commit);
    l->set_old_head(result.old_head);
    l->set_tree(result.tree);
    hooks_.emit(std::move(e), {});
    Failpoint("landed");
    for (const auto& p : request.patches) FinishSubtask(p.subtask_id, v1::LANDED, "", result.log_path);
  } else if (cancelled_) {
    for (const auto& p : request.patches) {
      FinishSubtask(p.subtask_id, v1::CANCELLED, "cancelled before it finished: " + *cancelled_, "");
    }
  } else if (result.outcome == Outcome::kAlreadyPresent) {
    for (const auto& p : request.patches) FinishSubtask(p.subtask_id, v1::NO_CHANGE, result.detail, "");
  } else {
    const v1::RejectionReason reason = result.outcome == Outcome::kConflict      ? v1::REJECTION_REASON_CONFLICT
                                       : result.outcome == Outcome::kTestsFailed ? v1::REJECTION_REASON_TESTS_FAILED
                                                                                 : v1::REJECTION_REASON_MERGE_ERROR;
    std::string summary = result.detail.substr(0, result.detail.find('\n'));
    std::string log = result.log_path;
    if (log.empty()) {
      log = hooks_.write_log(absl::StrCat(LogName(request), ".", request.patches[0].attempt, ".merge.log"),
                             result.detail + "\n");
    }
    for (const auto& p : request.patches) {
      v1::Event e;
      auto* r = e.mutable_patch_rejected();
      r->set_subtask_id(p.subtask_id);
      SetReason(*r, reason);
      r->set_log_path(log);
      if (request.group.empty()) r->set_conflict_json(result.conflict_json);
      hooks_.emit(std::move(e), {});
    }
    const std::string& id = request.patches[0].subtask_id;
    const bool lone = request.group.empty();
    const bool conflict = result.outcome == Outcome::kConflict;
    if (conflict && rework_.Decide(id, ReworkPolicy::Rejection::kConflict, lone, result.tested, false) ==
                        ReworkPolicy::Rework::kRebase) {
      // A lone patch that conflicts is redone on the current head, as another attempt that is told
      // what conflicted (SWARM_CONFLICT_JSON for a command agent).
      int round = rework_.Rebase(id, result.conflict_json);
      if (!settings_.json) {
        hooks_.say(absl::StrCat("swarm: ", id, " conflicts with what landed (", TerminalSafe(summary), "); rebase ",
                                round, " of ", rework_.max_rebases(), " on the new head"));
      }
      scheduler_.Rebase(id);
    } else if (result.outcome == Outcome::kTestsFailed && lone &&
               TryFixUp(id, request.patches[0].attempt, log, /*tested=*/true)) {
      // A debugging sub-agent takes it from here.
    } else if (conflict && lone) {
      FinishSubtask(id, v1::CONFLICT_EXHAUSTED,
                    absl::StrCat("still conflicting after ", rework_.rebases(id), " rebases: ", summary), log);
    } else {
      const std::string blame = lone || !result.tested ? "" : "; " + hooks_.blame(request, log);
      const std::string why = lone ? summary : absl::StrCat("group ", request.group, ": ", summary, blame);
      for (const auto& p : request.patches) {
        FinishSubtask(p.subtask_id, result.outcome == Outcome::kTestsFailed ? v1::REJECTED_QUEUE : v1::FAILED, why,
                      log);
      }
    }
  }
  SkipBlocked();
  hooks_.progressed();
}

std::string LandingPipeline::FailureJson(const std::string& id, int attempt, const std::string& log_path,
                                         const std::string& refused) const {
  absl::StatusOr<std::string> patch = hooks_.patch_diff(id, attempt);
  std::string log;
  if (std::ifstream in(log_path, std::ios::binary); in) {
    std::ostringstream s;
    s << in.rdbuf();
    log = s.str();
  }
  constexpr std::size_t kMaxLog = 12000;  // the end of a test log is where failures are reported
  if (log.size() > kMaxLog) log = "[...]\n" + log.substr(log.size() - kMaxLog);
  nlohmann::json failure = {{"log", ToUtf8(log)}, {"patch", ToUtf8(patch.ok() ? *patch : "")}};
  if (!refused.empty()) failure["refused"] = ToUtf8(refused);  // it passed the tests, but was not accepted
  return failure.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool LandingPipeline::TryFixUp(const std::string& id, int attempt, const std::string& log_path, bool tested,
                               const std::string& refused) {
  if (rework_.Decide(id, ReworkPolicy::Rejection::kTestsFailed, /*lone=*/true, tested, hooks_.can_fix_up()) !=
      ReworkPolicy::Rework::kFixUp) {
    return false;
  }
  const int round = rework_.FixUp(id, FailureJson(id, attempt, log_path, refused));
  const std::string what = refused.empty() ? "its patch failed the tests" : "its patch was refused (" + refused + ")";
  if (!settings_.json) {
    hooks_.say(absl::StrCat("swarm: ", id, "'s patch ",
                            refused.empty() ? "failed the tests; a debugging sub-agent fixes it"
                                            : "was refused (" + refused + "); a debugging sub-agent redoes it",
                            " (", round, " of ", rework_.max_fixups(), ")"));
  }
  v1::Event pending = SubtaskFinishedEvent(
      id, v1::FIX_UP_PENDING, absl::StrCat(what, "; fix-up ", round, " of ", rework_.max_fixups()), log_path);
  pending.mutable_subtask_finished()->set_refused(refused);
  hooks_.emit(std::move(pending), {});
  Failpoint("fixup", id);
  scheduler_.Rebase(id);
  return true;
}

void LandingPipeline::FinishSubtask(const std::string& id, v1::SubtaskState state, const std::string& reason,
                                    const std::string& log_path) {
  scheduler_.Finish(id, FromProto(state));
  finished_.insert(id);
  hooks_.emit(SubtaskFinishedEvent(id, state, reason, log_path), {});
}

void LandingPipeline::SkipBlocked() {
  for (const auto& id : scheduler_.TakeBlocked()) {
    std::string blocker;
    for (const auto& d : scheduler_.spec(id).depends_on()) {
      State s = scheduler_.state(d);
      if (s == State::kFailed || s == State::kSkipped) {
        blocker = d;
        break;
      }
    }
    FinishSubtask(id, v1::SKIPPED_DEPENDENCY, absl::StrCat("dependency ", blocker, " did not land"), "");
  }
}

void LandingPipeline::EmitTestRun(const std::string& tree, const TestOutcome& outcome,
                                  const std::vector<std::string>& ids, const std::string& verdict,
                                  const std::vector<std::string>& flaky, v1::TestStage stage,
                                  const std::vector<std::string>& reproduced) {
  v1::Event e = TestRunEvent(settings_.test_command, settings_.test_format, tree, outcome, ids, verdict, flaky, stage);
  for (const std::string& test : reproduced) e.mutable_test_run()->add_reproduced_tests(test);
  hooks_.emit(std::move(e), {});
}

}  // namespace swarm
