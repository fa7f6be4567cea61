// The gRPC Agent API server: accepts host streams and forwards what they say to an AgentHandler on
// the handler's executor. Holds no scheduling logic. Heartbeats are also recorded in the run's
// Liveness by the thread that reads them, before they wait in the executor's queue.
#ifndef SWARM_ORCHESTRATOR_RUN_AGENT_SERVICE_H_
#define SWARM_ORCHESTRATOR_RUN_AGENT_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "orchestrator/run/agent_handler.h"
#include "orchestrator/run/liveness.h"

namespace swarm {

class AgentServer final {
 public:
  // Posts a task to the handler's executor.
  using Post = std::function<void(std::function<void()>)>;

  // Listens on `address` ("unix:/path" or "host:port"). The handler must outlive the server.
  // `liveness` (may be null) is renewed by each heartbeat as it arrives.
  static absl::StatusOr<std::unique_ptr<AgentServer>> Start(const std::string& address, AgentHandler& handler,
                                                            Post post, std::shared_ptr<Liveness> liveness = nullptr);
  ~AgentServer();  // shuts down: open streams are cancelled
  // Answers every unary call still waiting (CANCELLED), so that shutting down does not wait on them.
  void AbortPending();
  AgentServer(const AgentServer&) = delete;
  AgentServer& operator=(const AgentServer&) = delete;

 private:
  struct Impl;
  explicit AgentServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_AGENT_SERVICE_H_
