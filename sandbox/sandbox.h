// The sandbox seam: turns a shell command and a SandboxPolicy into a ProcessSpec that runs it under
// that policy. Implementations: BubblewrapSandbox (the default) and UnsandboxedRunner (--no-sandbox).
#ifndef SWARM_SANDBOX_SANDBOX_H_
#define SWARM_SANDBOX_SANDBOX_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sandbox/process.h"
#include "sandbox/resource_scope.h"
#include "sandbox/sandbox_policy.h"

namespace swarm {

// A command ready to start. The scope holds its cgroup and must live until the command has ended.
struct SandboxedCommand {
  ProcessSpec spec;
  std::shared_ptr<ResourceScope> scope;
  // Set (once the command has ended) when it was stopped because the policy's growth_cap tree grew
  // past its limit; null without a growth_cap.
  std::shared_ptr<const std::atomic<bool>> grew_past_limit;
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;
  // Prepares `command` (run by `sh -c` in policy.workdir) under `policy`. Fails when the policy names
  // paths that do not exist. Thread-safe.
  virtual absl::StatusOr<SandboxedCommand> Prepare(const SandboxPolicy& policy,
                                                   const std::string& command) const = 0;
  // Makes `path` (a work tree, a test tree, a socket) writable by the identity sandboxed commands run
  // as (sandbox_identity.h): a no-op unless that identity is another user. Call it before the
  // command starts, after writing what the command should find there.
  virtual absl::Status HandOver(const std::string& path) const = 0;
  // "bubblewrap" or "none".
  virtual std::string Name() const = 0;
};

// `spec` with the policy's time-out, output cap and resource limits applied (for implementations).
SandboxedCommand LimitedCommand(const SandboxPolicy& policy, ProcessSpec spec,
                                std::shared_ptr<ResourceScope> scope = nullptr);

// Prepares and runs `command` to completion on the calling thread.
absl::StatusOr<ProcessResult> RunSandboxed(const Sandbox& sandbox, const SandboxPolicy& policy,
                                           const std::string& command);

// Starts `command` on `io`; `done` runs there when it has ended.
absl::Status StartSandboxed(boost::asio::io_context& io, const Sandbox& sandbox,
                            const SandboxPolicy& policy, const std::string& command,
                            ProcessCallback done);

}  // namespace swarm

#endif  // SWARM_SANDBOX_SANDBOX_H_
