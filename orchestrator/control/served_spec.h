// What a client of `swarm serve` may ask for. A submitted RunSpec is a request, not a configuration:
// the server's owner decides which repositories, read-only binds and sandbox variables runs may use,
// and a client can never turn the sandbox off, pick the agent binary, a model endpoint, a scripted
// model, a state directory or a plan file on the server's disk.
#ifndef SWARM_ORCHESTRATOR_CONTROL_SERVED_SPEC_H_
#define SWARM_ORCHESTRATOR_CONTROL_SERVED_SPEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/run/run_config.h"
#include "orchestrator/run/run_setup.h"
#include "swarm/v1/run.pb.h"

namespace swarm {

// Set by the owner on `swarm serve`'s command line.
struct ServePolicy {
  std::vector<std::string> repo_roots;   // --allow-repo-root: repositories must lie within one; none: no run
  std::vector<std::string> ro_binds;     // --allow-ro-bind: a bind must be one of these or inside one
  std::vector<std::string> sandbox_env;  // --allow-sandbox-env: variable names a run may set
  std::vector<std::string> hidden_paths; // the control socket's and the token's directories
};

// The run configuration for `spec` submitted to a server whose runs live in `state_dir`, or the first
// rule it breaks: PermissionDenied for what only the owner may choose (no_sandbox, agent_binary,
// base_url, a scripted model, a bind, a variable or a repository the policy does not allow),
// InvalidArgument for what has no meaning on a server (state_dir, plan_file, relative paths, a
// NAME-only sandbox_env). Every message names the RunSpec field. The repository comes back
// canonical (links resolved), the state directory and the hidden paths are the server's.
absl::StatusOr<RunConfig> ConfigForServedSpec(const v1::RunSpec& spec, const ServePolicy& policy,
                                              const std::string& state_dir);

// After PrepareRun: PermissionDenied (field `repo`) unless the repository's work tree, git directory
// and object directory all lie within the policy's roots (a `.git` file may point anywhere).
absl::Status CheckServedRepository(const PreparedRun& run, const ServePolicy& policy);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_CONTROL_SERVED_SPEC_H_
