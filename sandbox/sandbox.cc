#include "sandbox/sandbox.h"

namespace swarm {

SandboxedCommand LimitedCommand(const SandboxPolicy& policy, ProcessSpec spec) {
  SandboxedCommand prepared;
  prepared.scope = ResourceScope::Create(policy.limits);
  prepared.spec = std::move(spec);
  prepared.spec.timeout = policy.timeout;
  prepared.spec.output_cap = policy.output_cap;
  prepared.scope->Apply(prepared.spec);
  std::weak_ptr<ResourceScope> scope = prepared.scope;
  prepared.spec.on_timeout = [scope] {
    if (auto s = scope.lock()) s->KillAll();
  };
  return prepared;
}

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
