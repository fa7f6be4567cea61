#include "models/wire/wire.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "models/wire/internal/json_parts.h"

namespace swarm {

void CheckToolArguments(v1::ToolCall& call) {
  const std::string& text = call.arguments_json();
  nlohmann::json parsed = nlohmann::json::parse(text.empty() ? std::string("{}") : text, nullptr, false);
  if (parsed.is_discarded()) {
    call.set_error(
        absl::StrCat("the arguments of tool call ", call.name(), " are not valid JSON: ", text.substr(0, 200)));
  } else if (!parsed.is_object()) {
    call.set_error(absl::StrCat("the arguments of tool call ", call.name(), " are not a JSON object"));
  }
}

std::vector<std::string> SplitPieces(std::string_view text, int pieces) {
  std::vector<std::string> parts;
  const size_t size = std::max<size_t>(1, (text.size() + std::max(pieces, 1) - 1) / std::max(pieces, 1));
  // A cut never lands on a UTF-8 continuation byte (10xxxxxx): it backs off to the character's start,
  // or goes past its end when it is the piece's only character.
  auto inside_character = [&](size_t at) {
    return at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80;
  };
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(text.size(), start + size);
    while (end > start && inside_character(end)) --end;
    if (end == start) {
      end = start + 1;
      while (inside_character(end)) ++end;
    }
    parts.emplace_back(text.substr(start, end - start));
    start = end;
  }
  return parts;
}

namespace wire_internal {

absl::StatusOr<json> ToolParameters(const v1::ToolSpec& tool) {
  json schema = json::parse(
      tool.parameters_json().empty() ? std::string("{\"type\":\"object\"}") : tool.parameters_json(), nullptr, false);
  if (schema.is_discarded() || !schema.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("the parameters of tool ", tool.name(), " are not a JSON object"));
  }
  return schema;
}

absl::StatusOr<json> ObjectIn(std::string_view body, absl::StatusCode error, std::string_view message) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::Status(error, absl::StrCat(std::string(message), ": ", std::string(body.substr(0, 200))));
  }
  return j;
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::uint64_t Count(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::optional<int> Index(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() >= kMaxIndex) return std::nullopt;
  return static_cast<int>(it->get<std::uint64_t>());
}

}  // namespace wire_internal
}  // namespace swarm
