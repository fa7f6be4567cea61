// How a run is closed, whoever closes it: the coordinator at its end, or `swarm cancel` of a run
// whose coordinator is gone. What landed is published (the branch and result.patch: run_result.h);
// the run's state and exit status follow from how it ended and whether publishing worked; the
// RunFinished event records both with the counts. The coordinator then writes the report.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_CLOSER_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_CLOSER_H_

#include <string>
#include <vector>

#include "git/git.h"
#include "git/integration_repo.h"
#include "orchestrator/run/run_result.h"
#include "orchestrator/run/scheduler.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

// How the run ended, and the subtasks' outcomes.
struct RunEnding {
  int cancel_exit = 0;          // non-zero: cancelled, with this exit status
  bool budget_stopped = false;  // stopped on its budget (a resume with a larger one goes on)
  int total = 0;
  int landed = 0;
  int failed = 0;
  int skipped = 0;
  int no_change = 0;
};

// A lane whose work is published at the run's end (a backlog's resolved issue).
struct LaneToPublish {
  std::string lane;
  std::string branch;    // refs/heads/... is added
  bool replace = false;  // the branch exists and the user asked for it to be made again
};

// A backlog's lanes to publish: those whose every subtask landed or needed no change, one of them
// landed and, under test first, its test-first subtask landed; in the backlog's order, each on
// PREFIX<id> (moved if the backlog was told --redo).
std::vector<LaneToPublish> ResolvedLanes(const Scheduler& scheduler, const v1::Backlog& backlog);

struct ClosedRun {
  RunResult result;
  int exit_code = 0;
  v1::Event finished;  // RunFinished, to be recorded
};

// The run's exit status: a cancel's, else 0 when every subtask landed or needed no change, else
// kExitBudget when the budget stopped it, else kExitIncomplete; a success whose result could not be
// published is kExitEnvironment.
int RunExitCode(const RunEnding& ending, bool publish_failed);
// Its final state: cancelled, budget (resumable with a larger one) or completed.
v1::RunState RunEndState(const RunEnding& ending, int exit_code);

// Publishes what landed on `repo`'s integration ref as `branch` (`move_forward`: a branch published by an
// earlier session of the run may move), and each of `lanes` on its own branch, and decides the run's
// state and exit status. A result that cannot be published (result.publish_error, or a lane's) turns
// a success into kExitEnvironment.
ClosedRun CloseRun(const RunEnding& ending, const IntegrationRepo& repo, const Git& user, const std::string& branch,
                   const std::string& base, const std::string& run_dir, bool move_forward,
                   const std::vector<LaneToPublish>& lanes = {});

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_CLOSER_H_
