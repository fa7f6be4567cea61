#include "sandbox/unsandboxed_runner.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace swarm {

absl::StatusOr<SandboxedCommand> UnsandboxedRunner::Prepare(const SandboxPolicy& policy,
                                                            const std::string& command) const {
  if (!std::filesystem::is_directory(policy.workdir)) {
    return absl::NotFoundError(absl::StrCat("work directory ", policy.workdir, " does not exist"));
  }
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", command};
  spec.cwd = policy.workdir;
  spec.env = policy.env;
  spec.umask = 022;
  return LimitedCommand(policy, std::move(spec));
}

}  // namespace swarm
