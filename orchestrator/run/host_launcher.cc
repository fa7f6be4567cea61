#include "orchestrator/run/host_launcher.h"

#include <signal.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sandbox/pid_ledger.h"
#include "sandbox/process.h"

namespace swarm {

ProcessHostLauncher::ProcessHostLauncher(boost::asio::io_context& io, std::string agent_binary,
                                         std::string socket_path, std::string ledger_dir)
    : io_(io),
      agent_binary_(std::move(agent_binary)),
      socket_path_(std::move(socket_path)),
      ledger_dir_(std::move(ledger_dir)) {}

absl::Status ProcessHostLauncher::Launch(const std::string& host_id, int slots, Exited exited) {
  ProcessSpec spec;
  spec.argv = {agent_binary_, "--coordinator", "unix:" + socket_path_, "--slots", std::to_string(slots),
               "--host-id", host_id, "--exit-with-parent"};
  std::vector<std::string> env;
  // SWARM_DELAYPOINT: the liveness tests slow a host down (base/failpoint.h).
  for (const char* name : {"PATH", "HOME", "LANG", "TMPDIR", "SWARM_DELAYPOINT"}) {
    if (const char* v = getenv(name)) env.push_back(absl::StrCat(name, "=", v));
  }
  spec.env = std::move(env);
  spec.output_cap = 1 << 20;
  spec.on_start = [this, host_id](int pid) {
    pids_[host_id] = pid;
    PidLedger(ledger_dir_).Record(pid, host_id);
  };
  return StartProcess(io_, spec, [this, host_id, exited = std::move(exited)](absl::StatusOr<ProcessResult> r) {
    if (auto pid = pids_.find(host_id); pid != pids_.end()) {
      PidLedger(ledger_dir_).Forget(pid->second);
      pids_.erase(pid);
    }
    exited(r.ok() ? Exit{r->Describe(), r->out + r->err}
                  : Exit{std::string(r.status().message()), std::string(r.status().message())});
  });
}

void ProcessHostLauncher::Kill(const std::string& host_id) {
  if (auto pid = pids_.find(host_id); pid != pids_.end()) kill(pid->second, SIGKILL);  // reaped by its callback
}

}  // namespace swarm
