#include "sandbox.h"

namespace swarm {

absl::StatusOr<ProcessResult> RunSandboxed(const Sandbox& sandbox, const SandboxPolicy& policy,
                                           const std::string& command) {
  absl::StatusOr<SandboxedCommand> prepared = sandbox.Prepare(policy, command);
  if (!prepared.ok()) return prepared.status();
  return RunProcess(std::move(prepared->spec));
}

absl::Status StartSandboxed(boost::asio::io_context& io, const Sandbox& sandbox,
                            const SandboxPolicy& policy, const std::string& command,
                            ProcessCallback done) {
  absl::StatusOr<SandboxedCommand> prepared = sandbox.Prepare(policy, command);
  if (!prepared.ok()) return prepared.status();
  // The callback co-owns the scope so the cgroup outlives the command.
  auto scope = prepared->scope;
  return StartProcess(io, std::move(prepared->spec),
                      [scope, done = std::move(done)](absl::StatusOr<ProcessResult> r) { done(std::move(r)); });
}

}  // namespace swarm
