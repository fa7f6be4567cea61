// Whether a finished run holds work its user has not yet taken: `swarm rm` and `swarm gc` keep such
// runs unless forced, and `swarm resume` of such a run publishes the branch again.
#ifndef SWARM_ORCHESTRATOR_RUN_UNPUBLISHED_WORK_H_
#define SWARM_ORCHESTRATOR_RUN_UNPUBLISHED_WORK_H_

#include "orchestrator/store/store.h"

namespace swarm {

// Landed work that exists only in the run's private repository: its ref is ahead of the base and no
// ref of the user's repository holds it. Removing the private repository would lose it.
bool HasUnpublishedWork(const RunRow& run);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_UNPUBLISHED_WORK_H_
