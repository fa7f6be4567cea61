// What agent hosts are told. When one registers: the run, the agent command and its limits, the
// sandbox its commands get, how often to heartbeat, and the model, if any (the limits are the same
// ones the coordinator enforces again on what hosts send back). With each lease: the subtask, its
// attempt and base, and what a rebase or a fix-up must know.
#ifndef SWARM_ORCHESTRATOR_RUN_HOST_REGISTRATION_H_
#define SWARM_ORCHESTRATOR_RUN_HOST_REGISTRATION_H_

#include <string>

#include "models/model_config.h"
#include "orchestrator/run/lease_table.h"
#include "orchestrator/run/run_layout.h"
#include "orchestrator/run/run_setup.h"
#include "swarm/v1/agent.pb.h"

namespace swarm {

// `model` is null for a run without one.
v1::CoordinatorMessage Registration(const PreparedRun& run, const RunLayout& layout,
                                    const std::string& integration_git_dir, bool sandboxed,
                                    const ResolvedModel* model);

// A lease of `spec`; `conflict_json` and `failure_json` empty when there is none.
v1::CoordinatorMessage LeaseMessage(const std::string& lease_id, const Lease& lease, const v1::Subtask& spec,
                                    const std::string& conflict_json, const std::string& failure_json);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_HOST_REGISTRATION_H_
