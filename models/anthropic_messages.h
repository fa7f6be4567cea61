// The Anthropic Messages API: a separate system prompt, content blocks (text, thinking, tool_use,
// tool_result), tool inputs as JSON objects (streamed as partial JSON), usage with cache reads and
// writes, and prompt caching marked on the system prompt and the newest message.
#ifndef SWARM_MODELS_ANTHROPIC_MESSAGES_H_
#define SWARM_MODELS_ANTHROPIC_MESSAGES_H_

#include "models/provider_protocol.h"

namespace swarm {

inline constexpr char kAnthropicVersion[] = "2023-06-01";

class AnthropicMessages final : public ProviderProtocol {
 public:
  std::string endpoint() const override { return "/messages"; }
  std::vector<std::pair<std::string, std::string>> Headers(const std::string& api_key) const override;
  absl::StatusOr<std::string> Encode(const v1::ChatRequest& request, const std::string& model, std::uint32_t max_tokens,
                                     bool stream) const override;
  absl::StatusOr<v1::ChatReply> Decode(std::string_view body) const override;
  std::unique_ptr<StreamDecoder> NewStream() const override;
  std::string ErrorMessage(std::string_view body) const override;
};

}  // namespace swarm

#endif  // SWARM_MODELS_ANTHROPIC_MESSAGES_H_
