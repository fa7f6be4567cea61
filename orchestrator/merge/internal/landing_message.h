// The commit message of a landing, and the trailers `swarm resume` reads back from it.
#ifndef SWARM_ORCHESTRATOR_MERGE_INTERNAL_LANDING_MESSAGE_H_
#define SWARM_ORCHESTRATOR_MERGE_INTERNAL_LANDING_MESSAGE_H_

#include <string>

#include "orchestrator/merge/merge_queue.h"

namespace swarm {

// The commit message of a landing: subtask title and id, or the group and its members.
std::string LandingMessage(const MergeRequest& request, const std::string& run_id);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_INTERNAL_LANDING_MESSAGE_H_
