#include "unsandboxed_runner.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace swarm {

absl::StatusOr<SandboxedCommand> UnsandboxedRunner::Prepare(const SandboxPolicy& policy,
                                                            const std::string& command) const {
  if (!std::filesystem::is_directory(policy.workdir)) {
    return absl::NotFoundError(absl::StrCat("work directory ", policy.workdir, " does not exist"));
  }
  SandboxedCommand prepared;
  prepared.scope = ResourceScope::Create(policy.limits);
  prepared.spec.argv = {"/bin/sh", "-c", command};
  prepared.spec.cwd = policy.workdir;
  prepared.spec.env = policy.env;
  prepared.spec.timeout = policy.timeout;
  prepared.spec.output_cap = policy.output_cap;
  prepared.scope->Apply(prepared.spec);
  std::weak_ptr<ResourceScope> scope = prepared.scope;
  prepared.spec.on_timeout = [scope] {
    if (auto s = scope.lock()) s->KillAll();
  };
  return prepared;
}

}  // namespace swarm
