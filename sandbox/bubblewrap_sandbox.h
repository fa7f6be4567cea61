// Runs commands under bubblewrap: every namespace (user, pid, net, ipc, uts, cgroup, mount), no
// capabilities, a cleared environment, a read-only root with the policy's hidden paths replaced by
// empty tmpfs, a private /tmp, and only the work directory writable. Killing bwrap (the init of the
// new PID namespace) kills everything inside it.
#ifndef SWARM_SANDBOX_BUBBLEWRAP_SANDBOX_H_
#define SWARM_SANDBOX_BUBBLEWRAP_SANDBOX_H_

#include <memory>
#include <string>

#include "sandbox.h"

namespace swarm {

class BubblewrapSandbox final : public Sandbox {
 public:
  // Fails with FailedPrecondition when bwrap is not installed or cannot create namespaces here.
  static absl::StatusOr<std::unique_ptr<BubblewrapSandbox>> Create();

  absl::StatusOr<SandboxedCommand> Prepare(const SandboxPolicy& policy,
                                           const std::string& command) const override;
  std::string Name() const override { return "bubblewrap"; }

 private:
  explicit BubblewrapSandbox(std::string bwrap) : bwrap_(std::move(bwrap)) {}

  // Set at construction.
  const std::string bwrap_;
};

}  // namespace swarm

#endif  // SWARM_SANDBOX_BUBBLEWRAP_SANDBOX_H_
