// An agent host: one process running many agent slots for a coordinator, with no thread per agent.
// It connects over the Agent API, registers its slots, asks for as many leases as it can start now,
// runs each as a CommandAgent or LlmAgent, sends heartbeats (from a thread of their own) and
// results, and exits when the coordinator ends the stream or goes away; its sandboxed commands die
// with it.
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
  // Attempts set up (their workspaces made) at once; a host asks for a lease only when it can start
  // it. 0: the number of cores, at least 2.
  int parallel_starts = 0;
  std::string host_id;
  // Why this process cannot mount overlay workspaces (empty: it entered a mount namespace of its
  // own and can; overlay_mount.h). Set by main, before any thread starts.
  std::string overlay_error = "not probed";
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
