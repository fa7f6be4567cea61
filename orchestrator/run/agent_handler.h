// The coordinator's side of the Agent API as plain interfaces, so the scheduling logic is tested
// without sockets: the gRPC service (agent_service.h) only translates streams into these calls.
#ifndef SWARM_ORCHESTRATOR_RUN_AGENT_HANDLER_H_
#define SWARM_ORCHESTRATOR_RUN_AGENT_HANDLER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"

#include "swarm/v1/agent.pb.h"

namespace swarm {

// One connected agent host. Thread-safe; sending on a closed channel drops the message.
class HostChannel {
 public:
  virtual ~HostChannel() = default;
  virtual std::uint64_t id() const = 0;
  virtual void Send(const v1::CoordinatorMessage& message) = 0;
  // Ends the stream; the host sees it end and exits.
  virtual void Close() = 0;
};

// Receives what hosts say. Every call is made on the handler's executor, one at a time.
class AgentHandler {
 public:
  virtual ~AgentHandler() = default;
  virtual void OnHostMessage(const std::shared_ptr<HostChannel>& host, const v1::HostMessage& message) = 0;
  // The stream ended: the host exited, crashed or lost the connection.
  virtual void OnHostGone(const std::shared_ptr<HostChannel>& host) = 0;
  // A model completion for a leased attempt. `done` may be called later, from any thread, once.
  using CompleteDone = std::function<void(absl::StatusOr<v1::ChatReply>)>;
  virtual void OnComplete(const v1::CompleteRequest& request, CompleteDone done) = 0;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_AGENT_HANDLER_H_
