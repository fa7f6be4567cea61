// When an atomic group fails its tests, which members did it: the files each member changed, looked
// for in the failure output (compiler diagnostics and failing-test locations name files). A member
// whose files are named is a culprit; when none is, the failure is not attributable, and the report
// says so and lists the members.
#ifndef SWARM_ORCHESTRATOR_MERGE_CULPRITS_H_
#define SWARM_ORCHESTRATOR_MERGE_CULPRITS_H_

#include <map>
#include <string>
#include <vector>

#include "git/integration_repo.h"
#include "orchestrator/merge/merge_queue.h"

namespace swarm {

struct Attribution {
  std::map<std::string, std::vector<std::string>> culprits;  // subtask -> its files named in the output
  std::string summary;  // "shard-2 (a_def.c)" or "not attributable to a member (members: a, b)"
};

Attribution AttributeFailure(const IntegrationRepo& repo, const MergeRequest& request, const std::string& log_path);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_CULPRITS_H_
