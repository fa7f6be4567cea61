// OpenAI Chat Completions (also spoken by DeepSeek, Kimi and most others): POST .../chat/completions.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "models/scripted/internal/scripted_wire.h"

namespace swarm::scripted {
namespace {

using json = nlohmann::json;

constexpr int kPieces = 3;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json Usage(const TokenCounts& counts) {
  return {{"prompt_tokens", counts.input},
          {"completion_tokens", counts.output},
          {"total_tokens", counts.input + counts.output},
          {"prompt_tokens_details", {{"cached_tokens", counts.cached}}}};
}

std::string ToolCallId(const ReplyContext& context, const ScriptedToolCall& call, size_t index) {
  return call.id.empty() ? absl::StrCat("call_", context.serial, "_", index) : call.id;
}

std::string Event(const json& chunk) { return absl::StrCat("data: ", Dump(chunk), "\n\n"); }

WireReply Complete(const ScriptStep& step, const ReplyContext& context, const TokenCounts& usage) {
  json message = {{"role", "assistant"}};
  // Like OpenAI: content is null when the reply is only tool calls.
  message["content"] = step.content.empty() && !step.tool_calls.empty() ? json(nullptr)
                                                                         : json(step.content);
  if (!step.reasoning.empty()) message["reasoning_content"] = step.reasoning;
  if (!step.tool_calls.empty()) {
    json calls = json::array();
    for (size_t i = 0; i < step.tool_calls.size(); ++i) {
      const ScriptedToolCall& call = step.tool_calls[i];
      calls.push_back({{"id", ToolCallId(context, call, i)},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", ToolArgumentsText(step, call)}}}});
    }
    message["tool_calls"] = calls;
  }
  json body = {{"id", absl::StrCat("chatcmpl-scripted-", context.serial)},
               {"object", "chat.completion"},
               {"created", context.created},
               {"model", context.model},
               {"choices", json::array({{{"index", 0},
                                         {"message", message},
                                         {"finish_reason", FinishReason(step)}}})},
               {"usage", Usage(usage)}};
  WireReply reply;
  reply.body = Dump(body);
  return reply;
}

WireReply Stream(const ScriptStep& step, const ReplyContext& context, const TokenCounts& usage) {
  WireReply reply;
  reply.streaming = true;
  reply.content_type = "text/event-stream";
  auto chunk = [&](json choices) {
    json c = {{"id", absl::StrCat("chatcmpl-scripted-", context.serial)},
              {"object", "chat.completion.chunk"},
              {"created", context.created},
              {"model", context.model},
              {"choices", std::move(choices)}};
    if (context.include_usage) c["usage"] = nullptr;  // as OpenAI: null until the last chunk
    return c;
  };
  auto delta = [&](json d, json finish_reason = nullptr) {
    reply.events.push_back(Event(chunk(json::array(
        {{{"index", 0}, {"delta", std::move(d)}, {"finish_reason", std::move(finish_reason)}}}))));
  };

  delta({{"role", "assistant"}, {"content", ""}});
  for (const std::string& piece : SplitPieces(step.reasoning, kPieces)) {
    delta({{"reasoning_content", piece}});
  }
  for (const std::string& piece : SplitPieces(step.content, kPieces)) delta({{"content", piece}});
  for (size_t i = 0; i < step.tool_calls.size(); ++i) {
    const ScriptedToolCall& call = step.tool_calls[i];
    delta({{"tool_calls", json::array({{{"index", i},
                                        {"id", ToolCallId(context, call, i)},
                                        {"type", "function"},
                                        {"function", {{"name", call.name}, {"arguments", ""}}}}})}});
    for (const std::string& piece : SplitPieces(ToolArgumentsText(step, call), kPieces)) {
      delta({{"tool_calls", json::array({{{"index", i}, {"function", {{"arguments", piece}}}}})}});
    }
  }
  delta(json::object(), FinishReason(step));
  if (context.include_usage) {
    json last = chunk(json::array());
    last["usage"] = Usage(usage);
    reply.events.push_back(Event(last));
  }
  reply.events.push_back("data: [DONE]\n\n");
  return reply;
}

}  // namespace

WireReply OpenAiReply(const ScriptStep& step, const ReplyContext& context) {
  const TokenCounts usage = ResolveUsage(step, context.request_bytes);
  return context.stream ? Stream(step, context, usage) : Complete(step, context, usage);
}

WireReply OpenAiError(ErrorKind kind, std::string_view message) {
  struct Shape {
    int status;
    const char* type;
    const char* code;
  };
  Shape shape{500, "server_error", nullptr};
  switch (kind) {
    case ErrorKind::kAuthentication: shape = {401, "invalid_request_error", "invalid_api_key"}; break;
    case ErrorKind::kBadRequest: shape = {400, "invalid_request_error", nullptr}; break;
    case ErrorKind::kNotFound: shape = {404, "invalid_request_error", "unknown_url"}; break;
    case ErrorKind::kRateLimit: shape = {429, "requests", "rate_limit_exceeded"}; break;
    case ErrorKind::kServer: break;
  }
  json error = {{"message", message},
                {"type", shape.type},
                {"param", nullptr},
                {"code", shape.code ? json(shape.code) : json(nullptr)}};
  WireReply reply;
  reply.status = shape.status;
  reply.body = Dump({{"error", error}});
  return reply;
}

}  // namespace swarm::scripted
