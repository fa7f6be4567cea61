// A run's result, whoever closes the run: the coordinator at its end, or `swarm cancel` of a run
// whose coordinator is gone. What landed is published as the branch swarm/<run> in the user's
// repository, and the whole change from the base is written to <run_dir>/result.patch.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_RESULT_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_RESULT_H_

#include <string>

#include "git/git.h"
#include "git/integration_repo.h"

namespace swarm {

struct RunResult {
  std::string head;           // the integration head (the base when nothing landed)
  std::string branch;         // the run's branch (swarm/RUN, or --branch); empty when nothing landed or publishing failed
  std::string publish_error;  // why publishing failed, when it did
  std::string patch_path;     // <run_dir>/result.patch
  std::string patch_error;    // why result.patch could not be written (a full disk), when it could not
};

// Publishes what landed as `branch` (ResultBranch). `move_forward`: a resumed or cancelled run may
// move a branch it published before.
RunResult PublishRunResult(const IntegrationRepo& repo, const Git& user, const std::string& branch,
                           const std::string& base, const std::string& run_dir, bool move_forward);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_RESULT_H_
