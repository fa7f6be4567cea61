#include "orchestrator/models/provider_protocol.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "orchestrator/models/anthropic_messages.h"
#include "orchestrator/models/openai_chat.h"

namespace swarm {

std::unique_ptr<ProviderProtocol> MakeProtocol(const ProviderConfig& provider) {
  if (provider.api == ApiStyle::kAnthropicMessages) return std::make_unique<AnthropicMessages>();
  return std::make_unique<OpenAiChat>(provider.max_tokens_field, provider.reasoning_in_history);
}

void CheckToolArguments(v1::ToolCall& call) {
  const std::string& text = call.arguments_json();
  nlohmann::json parsed = nlohmann::json::parse(text.empty() ? std::string("{}") : text, nullptr, false);
  if (parsed.is_discarded()) {
    call.set_error(absl::StrCat("the arguments of tool call ", call.name(), " are not valid JSON: ",
                                text.substr(0, 200)));
  } else if (!parsed.is_object()) {
    call.set_error(absl::StrCat("the arguments of tool call ", call.name(), " are not a JSON object"));
  }
}

}  // namespace swarm
