// The sandbox a run asks for: bubblewrap, or none with --no-sandbox. Shared by `swarm run` and the
// served runs of `swarm serve`.
#ifndef SWARM_ORCHESTRATOR_RUN_MAKE_SANDBOX_H_
#define SWARM_ORCHESTRATOR_RUN_MAKE_SANDBOX_H_

#include <memory>

#include "absl/status/statusor.h"
#include "orchestrator/run/run_config.h"
#include "sandbox/sandbox.h"

namespace swarm {

// FailedPrecondition (exit 3) when bubblewrap is missing or cannot make a sandbox here, or, with
// --agent-network, when slirp4netns is missing or cannot give a sandbox its network.
absl::StatusOr<std::unique_ptr<Sandbox>> MakeSandbox(const RunConfig& config);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_MAKE_SANDBOX_H_
