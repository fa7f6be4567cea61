// How the scripted model server writes a script step in each provider's wire format, through the
// codecs every part of swarm uses (models/wire/). Pure functions, no sockets: the server decides when
// and how much of a WireReply to send.
#ifndef SWARM_MODELS_SCRIPTED_INTERNAL_SCRIPTED_WIRE_H_
#define SWARM_MODELS_SCRIPTED_INTERNAL_SCRIPTED_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/scripted/model_script.h"

namespace swarm::scripted {

enum class Api { kOpenAiChat, kAnthropicMessages };

// What a reply needs from the request it answers.
struct ReplyContext {
  int64_t serial = 0;           // unique per server: response and tool call ids are made from it
  int64_t created = 0;          // Unix seconds
  std::string model;            // echoed from the request
  bool stream = false;          // the request asked for server-sent events
  bool include_usage = false;   // OpenAI's stream_options.include_usage
  size_t request_bytes = 0;     // usage not in the script is derived from sizes
};

// An HTTP response. Streaming replies go out chunked, one event per chunk.
struct WireReply {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool streaming = false;
  std::string body;                 // when not streaming
  std::vector<std::string> events;  // when streaming: each a complete SSE event ("...\n\n")
};

struct TokenCounts {
  int64_t input = 0;  // every prompt token, cached and cache-written ones included
  int64_t cached = 0;
  int64_t cache_write = 0;
  int64_t output = 0;
};

// The step's usage, with what it leaves out derived: input from the request size, output from the
// reply's size (bytes / 4, at least 1), cached and cache_write 0. Input is raised to cover
// cached + cache_write.
TokenCounts ResolveUsage(const ScriptStep& step, size_t request_bytes);

// The arguments text a tool call is sent with: its JSON, or with fault malformed_tool_args the same
// text with its closing brace cut off.
std::string ToolArgumentsText(const ScriptStep& step, const ScriptedToolCall& call);

// The step's finish reason in OpenAI's words: scripted, else tool_calls or stop.
std::string FinishReason(const ScriptStep& step);

// The reply to a step, faults rate_limit, server_error and not_json included (stall and truncate
// are the sender's business: this gives the complete reply they cut short). The step's extra
// headers are added.
WireReply RenderStep(Api api, const ScriptStep& step, const ReplyContext& context);

enum class ErrorKind { kAuthentication, kBadRequest, kNotFound, kRateLimit, kServer };
// An error with the provider's status code and JSON error body.
WireReply RenderError(Api api, ErrorKind kind, std::string_view message);

}  // namespace swarm::scripted

#endif  // SWARM_MODELS_SCRIPTED_INTERNAL_SCRIPTED_WIRE_H_
