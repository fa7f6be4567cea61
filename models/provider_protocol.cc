#include "models/provider_protocol.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "models/anthropic_messages.h"
#include "models/openai_chat.h"

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

absl::StatusOr<nlohmann::json> ToolParameters(const v1::ToolSpec& tool) {
  nlohmann::json schema =
      nlohmann::json::parse(tool.parameters_json().empty() ? std::string("{\"type\":\"object\"}") : tool.parameters_json(),
                            nullptr, false);
  if (schema.is_discarded() || !schema.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("the parameters of tool ", tool.name(), " are not a JSON object"));
  }
  return schema;
}

absl::StatusOr<nlohmann::json> ReplyObject(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat("the reply is not JSON: ", std::string(body.substr(0, 200))));
  }
  return j;
}

}  // namespace swarm
