// An agent host: one process running many agent slots for a coordinator, with no thread per agent.
// It connects over the Agent API, registers its slots, runs every leased attempt as a CommandAgent,
// sends heartbeats and results, and exits when the coordinator ends the stream or goes away; its
// sandboxed commands die with it.
#ifndef SWARM_AGENTS_AGENT_HOST_H_
#define SWARM_AGENTS_AGENT_HOST_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace swarm {

struct AgentHostOptions {
  std::string coordinator;  // "unix:/path" or "host:port"
  int slots = 1;
  std::string host_id;
};

class AgentHost final {
 public:
  explicit AgentHost(AgentHostOptions options);
  ~AgentHost();
  AgentHost(const AgentHost&) = delete;
  AgentHost& operator=(const AgentHost&) = delete;

  // Runs until the coordinator ends the stream (0) or cannot be reached (an error).
  absl::Status Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace swarm

#endif  // SWARM_AGENTS_AGENT_HOST_H_
