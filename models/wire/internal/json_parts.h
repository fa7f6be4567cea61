// JSON helpers the two codecs share.
#ifndef SWARM_MODELS_WIRE_INTERNAL_JSON_PARTS_H_
#define SWARM_MODELS_WIRE_INTERNAL_JSON_PARTS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "swarm/v1/model.pb.h"

namespace swarm::wire_internal {

using nlohmann::json;

// A tool's parameters as a JSON Schema object (an empty one is {"type": "object"}), InvalidArgument
// when they are not an object.
absl::StatusOr<json> ToolParameters(const v1::ToolSpec& tool);
// A body as a JSON object; when it is not one, `error` (DataLoss or InvalidArgument) with `message`
// and the body's start.
absl::StatusOr<json> ObjectIn(std::string_view body, absl::StatusCode error, std::string_view message);
// JSON text; invalid UTF-8 is replaced rather than thrown on.
std::string Dump(const json& j);
// A string member, or "" when it is missing or not a string.
std::string Text(const json& j, const char* key);
// An unsigned count, or 0 where a server sends null or something else.
std::uint64_t Count(const json& j, const char* key);
// A block's or a tool call's place in a streamed reply: a non-negative integer below kMaxIndex, or
// nullopt (a float, a negative or a huge number is not an index a server sends).
inline constexpr int kMaxIndex = 4096;
std::optional<int> Index(const json& j, const char* key);

}  // namespace swarm::wire_internal

#endif  // SWARM_MODELS_WIRE_INTERNAL_JSON_PARTS_H_
