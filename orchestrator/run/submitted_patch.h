// A subtask's patch accepted from its agent and committed, waiting to merge.
#ifndef SWARM_ORCHESTRATOR_RUN_SUBMITTED_PATCH_H_
#define SWARM_ORCHESTRATOR_RUN_SUBMITTED_PATCH_H_

#include <string>

namespace swarm {

struct SubmittedPatch {
  int attempt = 0;
  std::string commit;   // in the integration repository, its parent the attempt's base
  std::string summary;  // the agent's account of it, for the landing's message
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_SUBMITTED_PATCH_H_
