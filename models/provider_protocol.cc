#include "models/provider_protocol.h"

#include "absl/strings/str_cat.h"
#include "models/wire/anthropic_messages.h"
#include "models/wire/openai_chat.h"

namespace swarm {

std::vector<std::pair<std::string, std::string>> OpenAiChat::Headers(const std::string& api_key) const {
  std::vector<std::pair<std::string, std::string>> h = {{"content-type", "application/json"}};
  if (!api_key.empty()) h.emplace_back("authorization", absl::StrCat("Bearer ", api_key));
  return h;
}

absl::StatusOr<std::string> OpenAiChat::Encode(const v1::ChatRequest& request, const std::string& model,
                                               std::uint32_t max_tokens, bool stream) const {
  return openai::EncodeRequest(request, {.model = model,
                                         .max_tokens_field = max_tokens_field_,
                                         .max_tokens = max_tokens,
                                         .stream = stream,
                                         .reasoning_in_history = reasoning_in_history_});
}

absl::StatusOr<v1::ChatReply> OpenAiChat::Decode(std::string_view body) const { return openai::DecodeReply(body); }

std::unique_ptr<StreamDecoder> OpenAiChat::NewStream() const { return openai::NewStreamDecoder(); }

std::string OpenAiChat::ErrorMessage(std::string_view body) const { return openai::ErrorMessage(body); }

std::vector<std::pair<std::string, std::string>> AnthropicMessages::Headers(const std::string& api_key) const {
  std::vector<std::pair<std::string, std::string>> h = {{"content-type", "application/json"},
                                                        {"anthropic-version", anthropic::kVersion}};
  if (!api_key.empty()) h.emplace_back("x-api-key", api_key);
  return h;
}

absl::StatusOr<std::string> AnthropicMessages::Encode(const v1::ChatRequest& request, const std::string& model,
                                                      std::uint32_t max_tokens, bool stream) const {
  return anthropic::EncodeRequest(request, model, max_tokens, stream);
}

absl::StatusOr<v1::ChatReply> AnthropicMessages::Decode(std::string_view body) const {
  return anthropic::DecodeReply(body);
}

std::unique_ptr<StreamDecoder> AnthropicMessages::NewStream() const { return anthropic::NewStreamDecoder(); }

std::string AnthropicMessages::ErrorMessage(std::string_view body) const { return anthropic::ErrorMessage(body); }

std::unique_ptr<ProviderProtocol> MakeProtocol(const ProviderConfig& provider) {
  if (provider.api == ApiStyle::kAnthropicMessages) return std::make_unique<AnthropicMessages>();
  return std::make_unique<OpenAiChat>(provider.max_tokens_field, provider.reasoning_in_history);
}

}  // namespace swarm
