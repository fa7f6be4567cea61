// What every agent host of a run is told when it registers: the run, the agent command and its
// limits, the sandbox its commands get, how often to heartbeat, and the model, if any. The limits
// are the same ones the coordinator enforces again on what hosts send back.
#ifndef SWARM_ORCHESTRATOR_RUN_HOST_REGISTRATION_H_
#define SWARM_ORCHESTRATOR_RUN_HOST_REGISTRATION_H_

#include <string>

#include "models/model_config.h"
#include "orchestrator/run/run_layout.h"
#include "orchestrator/run/run_setup.h"
#include "swarm/v1/agent.pb.h"

namespace swarm {

// `model` is null for a run without one.
v1::CoordinatorMessage Registration(const PreparedRun& run, const RunLayout& layout,
                                    const std::string& integration_git_dir, bool sandboxed,
                                    const ResolvedModel* model);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_HOST_REGISTRATION_H_
