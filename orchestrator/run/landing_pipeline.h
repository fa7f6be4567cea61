// The way from an agent's patch to the integration ref. The patch is made a commit on its base and
// checked again against the path policy and the size limits (off the executor: it is git work);
// then, once its subtask (or its whole atomic group) is ready, it goes to stage 1, the check alone
// on its own base, and stage 2, the integration queue. What lands moves the head that new leases
// start from. What is rejected is finished with the reason and its log, unless it is a lone patch
// that ReworkPolicy sends back: a conflict for a rebase, failing tests for a fix-up by a debugging
// sub-agent. Every subtask's outcome is recorded here, once, and whatever can no longer run because
// a dependency did not land is skipped.
//
// On the coordinator's executor. What it needs of the run around it (its event log, its logs, the
// git work and the executor itself) comes through Hooks, so its tests drive it without processes.
#ifndef SWARM_ORCHESTRATOR_RUN_LANDING_PIPELINE_H_
#define SWARM_ORCHESTRATOR_RUN_LANDING_PIPELINE_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/merge/check_stage.h"
#include "orchestrator/merge/merge_queue.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/run/lease_table.h"
#include "orchestrator/run/rework_policy.h"
#include "orchestrator/run/scheduler.h"
#include "orchestrator/run/submitted_patch.h"
#include "orchestrator/store/store.h"
#include "swarm/v1/agent.pb.h"

namespace swarm {

struct Recovery;

class LandingPipeline {
 public:
  struct Hooks {
    // On the executor.
    std::function<void(v1::Event, const EventBodies&)> emit;
    // Writes a log of the run; its path, or "" when it could not be written (the user was told).
    std::function<std::string(const std::string& name, const std::string& content)> write_log;
    std::function<void(const std::string& line)> say;  // a line for the user
    std::function<bool()> can_fix_up;                  // a model that may still spend
    // The diff of a subtask's attempt, as submitted (the store keeps it).
    std::function<absl::StatusOr<std::string>(const std::string& id, int attempt)> patch_diff;
    // The patch could not be committed: the attempt failed (the coordinator retries or finishes it).
    std::function<void(const Lease& lease, const std::string& reason)> attempt_failed;
    // A step ended: leases may be given out, the run may be done.
    std::function<void()> progressed;
    // Which members of a group did what failed its tests, for people (git work, on the executor).
    std::function<std::string(const MergeRequest& request, const std::string& log_path)> blame;
    // From any thread: runs `task` on the executor.
    std::function<void(std::function<void()>)> post;
    // Runs `work` off the executor, on a worker for git work.
    std::function<void(std::function<void()>)> post_work;
    // On a worker: the patch as a commit on its base, checked against the policy and the limits.
    std::function<absl::StatusOr<std::string>(const v1::AttemptResult& result, const std::string& message)>
        commit_patch;
  };
  struct Settings {
    std::string test_command;
    TestFormat test_format = TestFormat::kExit;
    bool json = false;  // --json: no lines for people about rebases and fix-ups
    // A backlog's --require-test: the patch of a lane's test-first subtask must bring a test that fails
    // without its fix.
    bool require_test = false;
    std::vector<std::string> test_globs = {};
  };

  // `plan`, `scheduler` and `rework` must outlive the pipeline.
  LandingPipeline(const Plan& plan, Scheduler& scheduler, ReworkPolicy& rework, Settings settings, Hooks hooks);

  // The merge stages, before the first patch is submitted; they must outlive the pipeline's work.
  // Every lane's patches go to `merge`.
  void UseStages(PatchChecker& check, MergeQueue& merge);
  // A lane's patches go to `merge_for(lane)` (a backlog: each lane has its own queue and ref).
  void UseStages(PatchChecker& check, std::function<MergeQueue&(const std::string& lane)> merge_for);
  // Where a lane starts: its head (the base, or a resumed run's integration head), and what fails there.
  void StartAt(const std::string& lane, const std::string& head, std::set<std::string> failing);
  // A resumed run: the subtasks' states and attempts, the patches accepted and not landed, the
  // outcomes recorded (a landing found on the ref without its event is recorded now), the head, and
  // the rebases and fix-ups with what their next leases are told.
  void Restore(const Recovery& recovery);

  // An agent's patch (outcome PATCH) under `lease`: committed off the executor, then submitted.
  void Accept(const Lease& lease, const v1::AttemptResult& result);
  // Submits what is ready to merge: a lone patch, or an atomic group once every member is done with
  // its agent; a group with a failed member fails whole.
  void SubmitMergeable();
  // Records a subtask's outcome.
  void FinishSubtask(const std::string& id, v1::SubtaskState state, const std::string& reason,
                     const std::string& log_path);
  // Finishes the subtasks that can no longer run because a dependency did not land.
  void SkipBlocked();
  // From now on, nothing new goes to the stages, and what comes back is cancelled with `reason`.
  void Cancel(const std::string& reason);
  // Tests that failed on a first run and passed on the re-run, counted for the report.
  void CountFlaky(const std::vector<std::string>& tests);
  // What a fix-up is told: the end of the failing log and the patch of `attempt`, as JSON; and, for a
  // patch that passed its tests but was refused (no failing test), why.
  std::string FailureJson(const std::string& id, int attempt, const std::string& log_path,
                          const std::string& refused = "") const;

  // Every lane at `commit` starts with `failing` there (the head's tests, once they ran).
  void FailingAt(const std::string& commit, const std::set<std::string>& failing);
  // A lane's head (the run's one lane: ""): what its new leases start from.
  const std::string& head(const std::string& lane = "") const;
  const std::set<std::string>& head_failing(const std::string& lane = "") const;
  const std::map<std::string, int>& flaky_counts() const { return flaky_counts_; }
  // Patch commits and merges not yet back.
  int jobs_in_flight() const { return jobs_in_flight_; }
  bool finished(const std::string& id) const { return finished_.count(id) > 0; }

 private:
  void OnPatchCommitted(const Lease& lease, const v1::AttemptResult& result, absl::StatusOr<std::string> commit);
  void OnChecked(const MergeRequest& request, const CheckResult& result);
  void OnMerged(const MergeRequest& request, const MergeResult& result);
  // A lone patch that failed its tests, or was `refused` for want of a failing test, goes to a
  // debugging sub-agent, if one is due.
  bool TryFixUp(const std::string& id, int attempt, const std::string& log_path, bool tested,
                const std::string& refused = "");
  void EmitTestRun(const std::string& tree, const TestOutcome& outcome, const std::vector<std::string>& ids,
                   const std::string& verdict, const std::vector<std::string>& flaky, v1::TestStage stage,
                   const std::vector<std::string>& reproduced = {});

  // Set at construction.
  const Plan& plan_;
  Scheduler& scheduler_;
  ReworkPolicy& rework_;
  const Settings settings_;
  const Hooks hooks_;
  PatchChecker* check_ = nullptr;
  std::function<MergeQueue&(const std::string& lane)> merge_for_;

  // Owned by the executor.
  std::map<std::string, SubmittedPatch> patch_commits_;  // subtask -> its patch ready to merge
  std::set<std::string> finished_;                                    // subtasks whose outcome is recorded
  struct LaneHead {
    std::string commit;
    std::set<std::string> failing;  // per-test formats: for the report
  };
  std::map<std::string, LaneHead> heads_;    // lane -> its head
  std::map<std::string, int> flaky_counts_;  // test -> times it failed and then passed
  int jobs_in_flight_ = 0;
  std::optional<std::string> cancelled_;  // why, once the run is cancelled
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_LANDING_PIPELINE_H_
