#include "orchestrator/run/host_supervisor.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace swarm {

std::vector<int> SpreadSlots(int agents, int hosts) {
  if (hosts <= 0) hosts = (agents + 255) / 256;
  std::vector<int> slots;
  for (int i = 0; i < hosts; ++i) slots.push_back(agents / hosts + (i < agents % hosts ? 1 : 0));
  return slots;
}

HostSupervisor::HostSupervisor(HostLauncher& launcher, Exited exited)
    : launcher_(launcher), exited_(std::move(exited)) {}

absl::Status HostSupervisor::StartAll(int agents, int hosts) {
  std::vector<int> slots = SpreadSlots(agents, hosts);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::string host_id = absl::StrCat("host-", i + 1);
    absl::Status st = launcher_.Launch(host_id, slots[i], [this, host_id](HostLauncher::Exit exit) {
      running_.erase(host_id);
      exited_(host_id, exit);
    });
    if (!st.ok()) return st;
    running_.insert(host_id);
  }
  return absl::OkStatus();
}

void HostSupervisor::Stop(const std::string& host_id) {
  if (running_.count(host_id)) launcher_.Kill(host_id);
}

void HostSupervisor::StopAll() {
  for (const std::string& host_id : std::set<std::string>(running_)) launcher_.Kill(host_id);
}

}  // namespace swarm
