// What a resumed run starts from. The store says what was leased, submitted and recorded; the
// integration ref says what landed, and it is the authority: a landing the ref holds without its
// event (the coordinator died between the compare-and-swap and the write) is found from the commit's
// trailers and recorded now. Attempts that were running when the coordinator died are closed as
// interrupted and do not count against --max-attempts. Patches that were submitted and had not
// landed go back to the merge stage as they are: accepted work is never redone.
#ifndef SWARM_ORCHESTRATOR_RUN_RECOVERY_H_
#define SWARM_ORCHESTRATOR_RUN_RECOVERY_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "git/integration_repo.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/run/scheduler.h"
#include "orchestrator/run/submitted_patch.h"
#include "orchestrator/store/store.h"

namespace swarm {

struct Recovery {
  std::string head;                          // the integration ref (of the run's one lane)
  std::map<std::string, std::string> heads;  // lane -> its ref's head ("" included)
  std::vector<v1::Event> missing;           // to record first, in order (interrupted attempts, landings)
  struct Subtask {
    Scheduler::State state = Scheduler::State::kPending;
    int attempts = 0;
    int forgiven = 0;
    bool needs_finished_event = false;      // landed, without its SubtaskFinished
  };
  std::map<std::string, Subtask> subtasks;  // every subtask of the plan, after `missing`
  std::map<std::string, SubmittedPatch> patch_commits;  // patch-ready subtasks' patches
  std::set<std::string> passed_trees;       // trees that passed the run's test command
  std::uint64_t last_fence = 0;             // fences stay unique across coordinators
  unsigned test_runs = 0;                   // test runs recorded (SWARM_TEST_RUN_INDEX goes on from here)
  bool base_passed = false;                 // the base test passed before the crash
  std::set<std::string> base_failing;       // per-test formats: the tests that failed on the base
  std::map<std::string, int> rebases;            // subtask -> conflict rounds so far
  std::map<std::string, std::string> conflicts;  // subtask -> the conflict its next attempt is told
  std::map<std::string, int> fixups;              // subtask -> fix-up rounds so far
  std::map<std::string, std::string> failure_logs;  // subtask -> the failing log its pending fix-up is told
  std::map<std::string, std::string> refusals;      // subtask -> why its patch was refused, if it was
  int reconciled_landings = 0;
  int interrupted_attempts = 0;
};

absl::StatusOr<Recovery> Recover(const Store& store, const IntegrationRepo& repo, const Plan& plan,
                                 const std::string& run_id, const std::string& base, const std::string& test_command);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RECOVERY_H_
