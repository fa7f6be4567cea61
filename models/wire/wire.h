// What the two model APIs swarm speaks (OpenAI Chat Completions, openai_chat.h; Anthropic Messages,
// anthropic_messages.h) share: the pieces of a reply as they are streamed, and the checks every
// decoder makes. The codecs translate between the API's JSON and swarm's ChatRequest/ChatReply, in
// both directions: a client (the gateway's providers) encodes requests and decodes replies; a server
// (the agents' model endpoint, the scripted model server) decodes requests and encodes replies. Pure
// translation, no I/O.
#ifndef SWARM_MODELS_WIRE_WIRE_H_
#define SWARM_MODELS_WIRE_WIRE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
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

// How a server writes a reply: the message id and time it gives, the model it names, and how a
// stream is cut. The reply's text and tool arguments go out in about `pieces` parts each (never inside
// a UTF-8 sequence), so a client must join them.
struct ReplyShape {
  std::string id{};          // the reply's id (tool calls keep their own)
  std::int64_t created = 0;  // Unix seconds
  std::string model{};
  int pieces = 1;
  bool usage_in_stream = true;       // OpenAI: a last chunk with the usage (stream_options.include_usage)
  std::optional<double> cost_usd{};  // OpenAI, whole replies: "swarm": {"cost_usd": ...}
  std::string thinking_signature{};  // Anthropic: the signature its thinking blocks carry
};

// Sets ToolCall::error when the arguments are not a JSON object.
void CheckToolArguments(v1::ToolCall& call);

// `text` cut into about `pieces` non-empty parts, never inside a UTF-8 sequence; empty for "". Two
// characters or more in two or more pieces give at least two parts.
std::vector<std::string> SplitPieces(std::string_view text, int pieces);

}  // namespace swarm

#endif  // SWARM_MODELS_WIRE_WIRE_H_
