#include "models/scripted/internal/scripted_wire.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace swarm::scripted {

TokenCounts ResolveUsage(const ScriptStep& step, size_t request_bytes) {
  size_t reply_bytes = step.content.size() + step.reasoning.size();
  for (const ScriptedToolCall& call : step.tool_calls) {
    reply_bytes += call.name.size() + call.arguments.size();
  }
  auto from_size = [](size_t bytes) { return std::max<int64_t>(1, static_cast<int64_t>(bytes / 4)); };
  TokenCounts counts;
  counts.cached = step.usage.cached.value_or(0);
  counts.cache_write = step.usage.cache_write.value_or(0);
  counts.input = std::max(step.usage.input.value_or(from_size(request_bytes)),
                          counts.cached + counts.cache_write);
  counts.output = step.usage.output.value_or(from_size(reply_bytes));
  return counts;
}

std::vector<std::string> SplitPieces(std::string_view text, int pieces) {
  std::vector<std::string> parts;
  const size_t size = std::max<size_t>(1, (text.size() + pieces - 1) / pieces);
  size_t start = 0;
  while (start < text.size()) {
    // A cut never lands on a UTF-8 continuation byte (10xxxxxx): back off to the character's start,
    // or past its end when it is the piece's only character.
    auto inside_character = [&](size_t at) {
      return at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80;
    };
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

std::string ToolArgumentsText(const ScriptStep& step, const ScriptedToolCall& call) {
  if (step.fault != ScriptFault::kMalformedToolArgs) return call.arguments;
  return call.arguments.substr(0, call.arguments.size() - 1);  // `{"path":"a.c"`: unterminated
}

std::string FinishReason(const ScriptStep& step) {
  if (!step.finish_reason.empty()) return step.finish_reason;
  return step.tool_calls.empty() ? "stop" : "tool_calls";
}

WireReply RenderError(Api api, ErrorKind kind, std::string_view message) {
  return api == Api::kOpenAiChat ? OpenAiError(kind, message) : AnthropicError(kind, message);
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
      reply = api == Api::kOpenAiChat ? OpenAiReply(step, context) : AnthropicReply(step, context);
  }
  reply.headers.insert(reply.headers.end(), step.headers.begin(), step.headers.end());
  return reply;
}

}  // namespace swarm::scripted
