// The Anthropic Messages API: a separate system prompt, content blocks (text, thinking, tool_use,
// tool_result), tool inputs as JSON objects (streamed as partial JSON), usage with cache reads and
// writes, and prompt caching marked on the system prompt and the newest message. The client's side
// (the gateway's provider) and a server's replies (the scripted model server), so that both write and
// read the same JSON.
#ifndef SWARM_MODELS_WIRE_ANTHROPIC_MESSAGES_H_
#define SWARM_MODELS_WIRE_ANTHROPIC_MESSAGES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "models/wire/wire.h"
#include "swarm/v1/model.pb.h"

namespace swarm::anthropic {

inline constexpr char kVersion[] = "2023-06-01";  // the anthropic-version header

// A client's request body. Consecutive user-side messages (tool results, user text) are joined into
// one turn, as the API wants turns to alternate. InvalidArgument for a tool whose parameters are not
// a JSON object.
absl::StatusOr<std::string> EncodeRequest(const v1::ChatRequest& request, const std::string& model,
                                          std::uint32_t max_tokens, bool stream);

// A server's whole reply body, and its streamed form (each string one complete server-sent event).
// Tool arguments that are not a JSON object go out as a string input. Finish reasons are OpenAI's
// words (stop, tool_calls, length), as in a ChatReply; they are written as Anthropic's stop reasons.
std::string EncodeReply(const v1::ChatReply& reply, const ReplyShape& shape);
std::vector<std::string> EncodeStream(const v1::ChatReply& reply, const ReplyShape& shape);

// A whole reply as a client reads it; DataLoss when it is not what the API sends, Unavailable for an
// error object.
absl::StatusOr<v1::ChatReply> DecodeReply(std::string_view body);
std::unique_ptr<StreamDecoder> NewStreamDecoder();

// An error body, as Anthropic writes one; and "type: message" a client reads from one (or the body's
// start).
std::string EncodeError(std::string_view message, std::string_view type);
std::string ErrorMessage(std::string_view body);

}  // namespace swarm::anthropic

#endif  // SWARM_MODELS_WIRE_ANTHROPIC_MESSAGES_H_
