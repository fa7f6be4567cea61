// What differs between model APIs, as the gateway calls them: the endpoint's path, the headers (the
// key goes only there), and the codec that writes a ChatRequest as a request body and reads the reply
// (whole, or streamed as server-sent events) back into a ChatReply with its usage (models/wire/).
// Pure translation, no I/O: the gateway does the HTTP. One implementation per API style.
#ifndef SWARM_MODELS_PROVIDER_PROTOCOL_H_
#define SWARM_MODELS_PROVIDER_PROTOCOL_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_config.h"
#include "models/wire/wire.h"
#include "swarm/v1/model.pb.h"

namespace swarm {

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

// OpenAI Chat Completions, as DeepSeek, Moonshot (Kimi), Zhipu (GLM), Qwen's compatible mode,
// OpenRouter, vLLM, llama.cpp's server and Ollama speak it (models/wire/openai_chat.h).
class OpenAiChat final : public ProviderProtocol {
 public:
  explicit OpenAiChat(std::string max_tokens_field, bool reasoning_in_history = false)
      : max_tokens_field_(std::move(max_tokens_field)), reasoning_in_history_(reasoning_in_history) {}
  std::string endpoint() const override { return "/chat/completions"; }
  std::vector<std::pair<std::string, std::string>> Headers(const std::string& api_key) const override;
  absl::StatusOr<std::string> Encode(const v1::ChatRequest& request, const std::string& model, std::uint32_t max_tokens,
                                     bool stream) const override;
  absl::StatusOr<v1::ChatReply> Decode(std::string_view body) const override;
  std::unique_ptr<StreamDecoder> NewStream() const override;
  std::string ErrorMessage(std::string_view body) const override;

 private:
  std::string max_tokens_field_;
  bool reasoning_in_history_;  // DeepSeek refuses reasoning_content in a request; Kimi's thinking models want it
};

// Anthropic Messages (models/wire/anthropic_messages.h).
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

std::unique_ptr<ProviderProtocol> MakeProtocol(const ProviderConfig& provider);

}  // namespace swarm

#endif  // SWARM_MODELS_PROVIDER_PROTOCOL_H_
