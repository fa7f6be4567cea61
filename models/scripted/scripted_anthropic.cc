// Anthropic Messages: POST .../messages.
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "models/scripted/internal/scripted_wire.h"

namespace swarm::scripted {
namespace {

using json = nlohmann::json;

constexpr int kPieces = 3;
constexpr char kSignature[] = "sig";  // thinking blocks carry one; clients send it back as is

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string StopReason(const ScriptStep& step) {
  const std::string finish = FinishReason(step);
  if (finish == "tool_calls") return "tool_use";
  if (finish == "length") return "max_tokens";
  return "end_turn";
}

// Anthropic's input_tokens leave out what was read from or written to the cache.
json Usage(const TokenCounts& counts, int64_t output_tokens) {
  return {{"input_tokens", counts.input - counts.cached - counts.cache_write},
          {"cache_creation_input_tokens", counts.cache_write},
          {"cache_read_input_tokens", counts.cached},
          {"output_tokens", output_tokens}};
}

std::string ToolUseId(const ReplyContext& context, const ScriptedToolCall& call, size_t index) {
  return call.id.empty() ? absl::StrCat("toolu_", context.serial, "_", index) : call.id;
}

json Message(const ReplyContext& context, json content, json stop_reason, json usage) {
  return {{"id", absl::StrCat("msg_scripted_", context.serial)},
          {"type", "message"},
          {"role", "assistant"},
          {"model", context.model},
          {"content", std::move(content)},
          {"stop_reason", std::move(stop_reason)},
          {"stop_sequence", nullptr},
          {"usage", std::move(usage)}};
}

// Text goes out when there is some, or when nothing else would (a message has at least one block).
bool HasText(const ScriptStep& step) {
  return !step.content.empty() || (step.reasoning.empty() && step.tool_calls.empty());
}

WireReply Complete(const ScriptStep& step, const ReplyContext& context, const TokenCounts& usage) {
  json content = json::array();
  if (!step.reasoning.empty()) {
    content.push_back({{"type", "thinking"}, {"thinking", step.reasoning}, {"signature", kSignature}});
  }
  if (HasText(step)) content.push_back({{"type", "text"}, {"text", step.content}});
  for (size_t i = 0; i < step.tool_calls.size(); ++i) {
    const ScriptedToolCall& call = step.tool_calls[i];
    // With malformed_tool_args the input is the (broken) text itself, not an object.
    json input = step.fault == ScriptFault::kMalformedToolArgs
                     ? json(ToolArgumentsText(step, call))
                     : json::parse(call.arguments);
    content.push_back({{"type", "tool_use"},
                       {"id", ToolUseId(context, call, i)},
                       {"name", call.name},
                       {"input", std::move(input)}});
  }
  WireReply reply;
  reply.body = Dump(Message(context, std::move(content), StopReason(step), Usage(usage, usage.output)));
  return reply;
}

WireReply Stream(const ScriptStep& step, const ReplyContext& context, const TokenCounts& usage) {
  WireReply reply;
  reply.streaming = true;
  reply.content_type = "text/event-stream";
  auto event = [&](const char* name, json data) {
    data["type"] = name;
    reply.events.push_back(absl::StrCat("event: ", name, "\ndata: ", Dump(data), "\n\n"));
  };
  int index = 0;
  // One content block: its start, one delta per piece of `text` (and `extra` deltas), its stop.
  auto block = [&](json start, const char* delta_type, const char* field, const std::string& text,
                   std::vector<json> extra = {}) {
    event("content_block_start", {{"index", index}, {"content_block", std::move(start)}});
    for (const std::string& piece : SplitPieces(text, kPieces)) {
      event("content_block_delta", {{"index", index}, {"delta", {{"type", delta_type}, {field, piece}}}});
    }
    for (json& delta : extra) event("content_block_delta", {{"index", index}, {"delta", std::move(delta)}});
    event("content_block_stop", {{"index", index}});
    ++index;
  };

  event("message_start", {{"message", Message(context, json::array(), nullptr, Usage(usage, 1))}});
  event("ping", json::object());
  if (!step.reasoning.empty()) {
    block({{"type", "thinking"}, {"thinking", ""}}, "thinking_delta", "thinking", step.reasoning,
          {{{"type", "signature_delta"}, {"signature", kSignature}}});
  }
  if (HasText(step)) block({{"type", "text"}, {"text", ""}}, "text_delta", "text", step.content);
  for (size_t i = 0; i < step.tool_calls.size(); ++i) {
    const ScriptedToolCall& call = step.tool_calls[i];
    block({{"type", "tool_use"}, {"id", ToolUseId(context, call, i)}, {"name", call.name},
           {"input", json::object()}},
          "input_json_delta", "partial_json", ToolArgumentsText(step, call));
  }
  event("message_delta", {{"delta", {{"stop_reason", StopReason(step)}, {"stop_sequence", nullptr}}},
                          {"usage", {{"output_tokens", usage.output}}}});
  event("message_stop", json::object());
  return reply;
}

}  // namespace

WireReply AnthropicReply(const ScriptStep& step, const ReplyContext& context) {
  const TokenCounts usage = ResolveUsage(step, context.request_bytes);
  return context.stream ? Stream(step, context, usage) : Complete(step, context, usage);
}

WireReply AnthropicError(ErrorKind kind, std::string_view message) {
  WireReply reply;
  const char* type = "api_error";
  switch (kind) {
    case ErrorKind::kAuthentication: reply.status = 401; type = "authentication_error"; break;
    case ErrorKind::kBadRequest: reply.status = 400; type = "invalid_request_error"; break;
    case ErrorKind::kNotFound: reply.status = 404; type = "not_found_error"; break;
    case ErrorKind::kRateLimit: reply.status = 429; type = "rate_limit_error"; break;
    case ErrorKind::kServer: reply.status = 500; break;
  }
  reply.body = Dump({{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
  return reply;
}

}  // namespace swarm::scripted
