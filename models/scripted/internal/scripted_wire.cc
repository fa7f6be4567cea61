#include "models/scripted/internal/scripted_wire.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "models/wire/anthropic_messages.h"
#include "models/wire/openai_chat.h"
#include "swarm/v1/model.pb.h"

namespace swarm::scripted {
namespace {

constexpr int kPieces = 3;            // a streamed text arrives in about this many parts
constexpr char kSignature[] = "sig";  // Anthropic's thinking blocks carry one; clients send it back as is

// The step as the reply every codec writes.
v1::ChatReply ReplyOf(Api api, const ScriptStep& step, const ReplyContext& context) {
  const TokenCounts usage = ResolveUsage(step, context.request_bytes);
  v1::ChatReply reply;
  v1::ChatMessage* message = reply.mutable_message();
  message->set_role("assistant");
  message->set_content(step.content);
  message->set_reasoning(step.reasoning);
  const char* id_prefix = api == Api::kOpenAiChat ? "call_" : "toolu_";
  for (size_t i = 0; i < step.tool_calls.size(); ++i) {
    const ScriptedToolCall& call = step.tool_calls[i];
    v1::ToolCall* out = message->add_tool_calls();
    out->set_id(call.id.empty() ? absl::StrCat(id_prefix, context.serial, "_", i) : call.id);
    out->set_name(call.name);
    out->set_arguments_json(ToolArgumentsText(step, call));
  }
  reply.set_finish_reason(FinishReason(step));
  reply.mutable_usage()->set_input_tokens(static_cast<std::uint64_t>(usage.input));
  reply.mutable_usage()->set_cached_input_tokens(static_cast<std::uint64_t>(usage.cached));
  reply.mutable_usage()->set_cache_write_tokens(static_cast<std::uint64_t>(usage.cache_write));
  reply.mutable_usage()->set_output_tokens(static_cast<std::uint64_t>(usage.output));
  return reply;
}

WireReply Render(Api api, const v1::ChatReply& reply, const ReplyContext& context) {
  ReplyShape shape;
  shape.id = api == Api::kOpenAiChat ? absl::StrCat("chatcmpl-scripted-", context.serial)
                                     : absl::StrCat("msg_scripted_", context.serial);
  shape.created = context.created;
  shape.model = context.model;
  shape.pieces = kPieces;
  shape.usage_in_stream = context.include_usage;
  shape.thinking_signature = kSignature;
  WireReply out;
  if (!context.stream) {
    out.body = api == Api::kOpenAiChat ? openai::EncodeReply(reply, shape) : anthropic::EncodeReply(reply, shape);
    return out;
  }
  out.streaming = true;
  out.content_type = "text/event-stream";
  out.events = api == Api::kOpenAiChat ? openai::EncodeStream(reply, shape) : anthropic::EncodeStream(reply, shape);
  return out;
}

}  // namespace

TokenCounts ResolveUsage(const ScriptStep& step, size_t request_bytes) {
  size_t reply_bytes = step.content.size() + step.reasoning.size();
  for (const ScriptedToolCall& call : step.tool_calls) {
    reply_bytes += call.name.size() + call.arguments.size();
  }
  auto from_size = [](size_t bytes) { return std::max<int64_t>(1, static_cast<int64_t>(bytes / 4)); };
  TokenCounts counts;
  counts.cached = step.usage.cached.value_or(0);
  counts.cache_write = step.usage.cache_write.value_or(0);
  counts.input = std::max(step.usage.input.value_or(from_size(request_bytes)), counts.cached + counts.cache_write);
  counts.output = step.usage.output.value_or(from_size(reply_bytes));
  return counts;
}

std::string ToolArgumentsText(const ScriptStep& step, const ScriptedToolCall& call) {
  if (step.fault != ScriptFault::kMalformedToolArgs) return call.arguments;
  return call.arguments.substr(0, call.arguments.size() - 1);  // `{"path":"a.c"`: unterminated
}

std::string FinishReason(const ScriptStep& step) {
  if (!step.finish_reason.empty()) return step.finish_reason;
  return step.tool_calls.empty() ? "stop" : "tool_calls";
}

WireReply RenderError(Api api, ErrorKind kind, std::string_view message) {
  struct Shape {
    int status;
    const char* openai_type;
    const char* openai_code;
    const char* anthropic_type;
  };
  Shape shape{500, "server_error", "", "api_error"};
  switch (kind) {
    case ErrorKind::kAuthentication:
      shape = {401, "invalid_request_error", "invalid_api_key", "authentication_error"};
      break;
    case ErrorKind::kBadRequest:
      shape = {400, "invalid_request_error", "", "invalid_request_error"};
      break;
    case ErrorKind::kNotFound:
      shape = {404, "invalid_request_error", "unknown_url", "not_found_error"};
      break;
    case ErrorKind::kRateLimit:
      shape = {429, "requests", "rate_limit_exceeded", "rate_limit_error"};
      break;
    case ErrorKind::kServer:
      break;
  }
  WireReply reply;
  reply.status = shape.status;
  reply.body = api == Api::kOpenAiChat ? openai::EncodeError(message, shape.openai_type, shape.openai_code)
                                       : anthropic::EncodeError(message, shape.anthropic_type);
  return reply;
}

WireReply RenderStep(Api api, const ScriptStep& step, const ReplyContext& context) {
  WireReply reply;
  switch (step.fault) {
    case ScriptFault::kRateLimit:
      reply = RenderError(api, ErrorKind::kRateLimit, "scripted rate limit");
      if (step.retry_after_s) reply.headers.emplace_back("retry-after", absl::StrCat(*step.retry_after_s));
      if (step.retry_after_ms) {
        reply.headers.emplace_back("retry-after-ms", absl::StrCat(*step.retry_after_ms));
      }
      break;
    case ScriptFault::kServerError:
      reply = RenderError(api, ErrorKind::kServer, "scripted server error");
      break;
    case ScriptFault::kNotJson:
      reply.body = "<html>upstream error</html>";
      break;
    default:
      reply = Render(api, ReplyOf(api, step, context), context);
  }
  reply.headers.insert(reply.headers.end(), step.headers.begin(), step.headers.end());
  return reply;
}

}  // namespace swarm::scripted
