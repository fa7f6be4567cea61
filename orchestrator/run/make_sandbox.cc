#include "orchestrator/run/make_sandbox.h"

#include "sandbox/bubblewrap_sandbox.h"
#include "sandbox/unsandboxed_runner.h"

namespace swarm {

absl::StatusOr<std::unique_ptr<Sandbox>> MakeSandbox(const RunConfig& config) {
  if (config.no_sandbox) return std::make_unique<UnsandboxedRunner>();
  absl::StatusOr<std::unique_ptr<BubblewrapSandbox>> bwrap = BubblewrapSandbox::Create();
  if (!bwrap.ok()) return bwrap.status();
  // Before any agent starts: an agent host would only find out at its first command.
  if (absl::Status st = (*bwrap)->CheckProcessLimit(config.limits); !st.ok()) return st;
  if (config.agent_network) {
    if (absl::Status st = (*bwrap)->CheckNetwork(); !st.ok()) return st;
  }
  return std::unique_ptr<Sandbox>(std::move(*bwrap));
}

}  // namespace swarm
