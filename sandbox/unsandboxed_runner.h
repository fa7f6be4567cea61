// --no-sandbox: runs commands directly, with the policy's cleared environment, work directory,
// time-out and resource limits, but no isolation. Only on the user's explicit request.
#ifndef SWARM_SANDBOX_UNSANDBOXED_RUNNER_H_
#define SWARM_SANDBOX_UNSANDBOXED_RUNNER_H_

#include "sandbox/sandbox.h"

namespace swarm {

class UnsandboxedRunner final : public Sandbox {
 public:
  absl::StatusOr<SandboxedCommand> Prepare(const SandboxPolicy& policy,
                                           const std::string& command) const override;
  absl::Status HandOver(const std::string&) const override { return absl::OkStatus(); }
  std::string Name() const override { return "none"; }
};

}  // namespace swarm

#endif  // SWARM_SANDBOX_UNSANDBOXED_RUNNER_H_
