// The run's agent hosts as processes: how many, with how many slots each, which are still running,
// and stopping them (one whose stream ended, or all that outstay the shutdown). Their connections are
// the LeaseTable's; their processes are this. On the coordinator's executor.
#ifndef SWARM_ORCHESTRATOR_RUN_HOST_SUPERVISOR_H_
#define SWARM_ORCHESTRATOR_RUN_HOST_SUPERVISOR_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "orchestrator/run/host_launcher.h"

namespace swarm {

// `agents` slots spread over `hosts` hosts (0: one host per 256 agents), the first hosts taking the
// remainder.
std::vector<int> SpreadSlots(int agents, int hosts);

class HostSupervisor {
 public:
  using Exited = std::function<void(const std::string& host_id, const HostLauncher::Exit& exit)>;
  // `exited` runs when any host ends, after it is no longer counted as running.
  HostSupervisor(HostLauncher& launcher, Exited exited);

  // Starts the hosts, named host-1, host-2, ... An error when one could not start (those started
  // keep running; the caller cancels the run).
  absl::Status StartAll(int agents, int hosts);

  // A host whose stream ended is of no further use: its process is stopped.
  void Stop(const std::string& host_id);
  // Every host still running is stopped (they outstayed the shutdown).
  void StopAll();

  int running() const { return static_cast<int>(running_.size()); }

 private:
  HostLauncher& launcher_;
  const Exited exited_;
  std::set<std::string> running_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_HOST_SUPERVISOR_H_
