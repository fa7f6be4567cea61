// How an agent asks the coordinator's model gateway for a completion: AgentService.Complete under the
// agent's lease. Agents never hold a provider key; the coordinator does the rest (budget, rate limit,
// retries, records).
#ifndef SWARM_AGENTS_MODEL_CLIENT_H_
#define SWARM_AGENTS_MODEL_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "swarm/v1/model.pb.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace swarm {

class ModelClient {
 public:
  using Done = std::function<void(absl::StatusOr<v1::ChatReply>)>;
  virtual ~ModelClient() = default;
  // `done` is called once, from any thread; the error is the gateway's (model_gateway.h).
  virtual void Complete(const std::string& lease_id, std::uint64_t fence, v1::ChatRequest request, Done done) = 0;
};

// A client over the host's channel to the coordinator. A call gives up after `timeout`.
std::unique_ptr<ModelClient> NewModelClient(std::shared_ptr<grpc::Channel> channel,
                                            std::chrono::seconds timeout = std::chrono::seconds(3600));

}  // namespace swarm

#endif  // SWARM_AGENTS_MODEL_CLIENT_H_
