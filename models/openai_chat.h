// The OpenAI Chat Completions API, as DeepSeek, Moonshot (Kimi), Zhipu (GLM), Qwen's compatible mode,
// OpenRouter, vLLM, llama.cpp's server and Ollama speak it: tools and tool calls, streamed deltas
// (tool-call arguments arrive in pieces), reasoning_content, and usage with cached tokens in each
// provider's spelling.
#ifndef SWARM_MODELS_OPENAI_CHAT_H_
#define SWARM_MODELS_OPENAI_CHAT_H_

#include "models/provider_protocol.h"

namespace swarm {

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

}  // namespace swarm

#endif  // SWARM_MODELS_OPENAI_CHAT_H_
