// The model, as a command agent sees it: an OpenAI-compatible Chat Completions endpoint on a Unix
// socket that the agent's sandbox can reach, for the length of one attempt. Each request goes to the
// coordinator's model gateway under the attempt's lease (model_client.h): a script or an external
// CLI agent gets a model without a key, inside the run's budget and rate limit, and every call is
// recorded. Requests name no model: the run's model answers. A stream is answered at once when the
// reply is whole. The JSON is models/wire/openai_chat.h's, as the gateway's own.
//
//   curl --unix-socket "$SWARM_MODEL_SOCKET" http://swarm/v1/chat/completions -d @request.json
#ifndef SWARM_AGENTS_MODEL_ENDPOINT_H_
#define SWARM_AGENTS_MODEL_ENDPOINT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agents/model_client.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace swarm {

class ModelEndpoint {
 public:
  // Listens on `dir`/model.sock (`dir` exists, and is private). Runs on `io`; `client` must outlive
  // the endpoint.
  static absl::StatusOr<std::unique_ptr<ModelEndpoint>> Start(boost::asio::io_context& io, const std::string& dir,
                                                              ModelClient& client, std::string lease_id,
                                                              std::uint64_t fence);
  ~ModelEndpoint();  // stops listening and closes connections; calls in flight are answered to no one
  ModelEndpoint(const ModelEndpoint&) = delete;
  ModelEndpoint& operator=(const ModelEndpoint&) = delete;

  const std::string& socket_path() const;

 private:
  struct Impl;
  explicit ModelEndpoint(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace swarm

#endif  // SWARM_AGENTS_MODEL_ENDPOINT_H_
