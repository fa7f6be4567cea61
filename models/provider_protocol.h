// What differs between model APIs: how a ChatRequest is written as a request body, and how a reply
// (whole, or streamed as server-sent events) is read back into a ChatReply with its usage. Pure
// translation, no I/O: the gateway does the HTTP. One implementation per API style.
#ifndef SWARM_MODELS_PROVIDER_PROTOCOL_H_
#define SWARM_MODELS_PROVIDER_PROTOCOL_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "models/model_config.h"
#include "swarm/v1/model.pb.h"

namespace swarm {

// Assembles one streamed reply. A stream that ends before the API's end marker is DataLoss.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // An error event from the provider, or an event that is not what the API sends, fails the call.
  virtual absl::Status OnEvent(std::string_view event, std::string_view data) = 0;
  virtual absl::StatusOr<v1::ChatReply> Finish() = 0;
};

class ProviderProtocol {
 public:
  virtual ~ProviderProtocol() = default;
  // Appended to the provider's base URL path.
  virtual std::string endpoint() const = 0;
  // Authentication and API headers. The key goes only here, never into a body.
  virtual std::vector<std::pair<std::string, std::string>> Headers(const std::string& api_key) const = 0;
  // The request body. InvalidArgument for a request that cannot be expressed (a tool whose
  // parameters are not a JSON object).
  virtual absl::StatusOr<std::string> Encode(const v1::ChatRequest& request, const std::string& model,
                                             std::uint32_t max_tokens, bool stream) const = 0;
  // A whole (non-streamed) reply. DataLoss when the body is not the JSON the API sends.
  virtual absl::StatusOr<v1::ChatReply> Decode(std::string_view body) const = 0;
  virtual std::unique_ptr<StreamDecoder> NewStream() const = 0;
  // The provider's own words from an error body, or the body's start.
  virtual std::string ErrorMessage(std::string_view body) const = 0;
};

std::unique_ptr<ProviderProtocol> MakeProtocol(const ProviderConfig& provider);

// Sets ToolCall::error when the arguments are not a JSON object.
void CheckToolArguments(v1::ToolCall& call);

// For the protocols: a tool's parameters as a JSON Schema object (an empty one is {"type":
// "object"}), InvalidArgument when they are not an object; a reply body as a JSON object, DataLoss
// (quoting its start) when it is not one.
absl::StatusOr<nlohmann::json> ToolParameters(const v1::ToolSpec& tool);
absl::StatusOr<nlohmann::json> ReplyObject(std::string_view body);

}  // namespace swarm

#endif  // SWARM_MODELS_PROVIDER_PROTOCOL_H_
