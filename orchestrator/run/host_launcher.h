// Starting and stopping the run's agent hosts: a seam, so that the coordinator's tests start none
// (fake_host_launcher.h) and register fake hosts through the AgentHandler instead.
#ifndef SWARM_ORCHESTRATOR_RUN_HOST_LAUNCHER_H_
#define SWARM_ORCHESTRATOR_RUN_HOST_LAUNCHER_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace swarm {

class HostLauncher {
 public:
  struct Exit {
    std::string how;     // "exit 0", "killed by signal 9", or why it could not be waited for
    std::string output;  // what it printed, capped
  };
  using Exited = std::function<void(Exit)>;
  virtual ~HostLauncher() = default;
  // Starts host `host_id` with `slots` agent slots; `exited` runs on the coordinator's executor when
  // it ends, however it ends.
  virtual absl::Status Launch(const std::string& host_id, int slots, Exited exited) = 0;
  // SIGKILLs a running host; its exit is still reported.
  virtual void Kill(const std::string& host_id) = 0;
};

// swarm-agent processes that connect to the run's Agent API socket, recorded in the run's pid ledger
// so that a later resume or cancel finds them. They get no more of the coordinator's environment
// than PATH, HOME, LANG and TMPDIR: no key ever reaches them.
class ProcessHostLauncher final : public HostLauncher {
 public:
  ProcessHostLauncher(boost::asio::io_context& io, std::string agent_binary, std::string socket_path,
                      std::string ledger_dir);
  absl::Status Launch(const std::string& host_id, int slots, Exited exited) override;
  void Kill(const std::string& host_id) override;

 private:
  boost::asio::io_context& io_;
  const std::string agent_binary_;
  const std::string socket_path_;
  const std::string ledger_dir_;
  std::map<std::string, int> pids_;  // host id -> pid, while it runs
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_HOST_LAUNCHER_H_
