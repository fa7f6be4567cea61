#include "models/wire/anthropic_messages.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "models/wire/internal/json_parts.h"

namespace swarm::anthropic {
namespace {

using wire_internal::Count;
using wire_internal::Dump;
using wire_internal::Index;
using wire_internal::json;
using wire_internal::kMaxIndex;
using wire_internal::Text;

std::string FinishReason(const std::string& stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return "stop";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "max_tokens") return "length";
  return stop_reason;
}

// The inverse of FinishReason; a reason it does not know goes out as it is.
std::string StopReason(const std::string& finish_reason) {
  if (finish_reason == "stop" || finish_reason.empty()) return "end_turn";
  if (finish_reason == "tool_calls") return "tool_use";
  if (finish_reason == "length") return "max_tokens";
  return finish_reason;
}

// Anthropic's input_tokens leave out the tokens read from or written to the cache. A count that is
// null or not a number is 0.
void ReadUsage(const json& u, v1::Usage& usage) {
  if (!u.is_object()) return;
  if (u.contains("input_tokens") || u.contains("cache_read_input_tokens")) {
    const std::uint64_t read = Count(u, "cache_read_input_tokens");
    const std::uint64_t written = Count(u, "cache_creation_input_tokens");
    usage.set_input_tokens(Count(u, "input_tokens") + read + written);
    usage.set_cached_input_tokens(read);
    usage.set_cache_write_tokens(written);
  }
  if (u.contains("output_tokens")) usage.set_output_tokens(Count(u, "output_tokens"));
}

json WriteUsage(const v1::Usage& usage, std::uint64_t output_tokens) {
  const std::uint64_t cache = usage.cached_input_tokens() + usage.cache_write_tokens();
  return {{"input_tokens", usage.input_tokens() > cache ? usage.input_tokens() - cache : 0},
          {"cache_creation_input_tokens", usage.cache_write_tokens()},
          {"cache_read_input_tokens", usage.cached_input_tokens()},
          {"output_tokens", output_tokens}};
}

absl::Status ErrorIn(const json& j) {
  if (Text(j, "type") != "error") return absl::OkStatus();
  const json& e = j.contains("error") ? j["error"] : j;
  const std::string type = e.is_object() ? Text(e, "type") : "";
  const std::string message = e.is_object() ? Text(e, "message") : e.dump();
  return absl::UnavailableError(absl::StrCat("the provider reported an error: ", type, ": ", message));
}

void AddBlock(const json& block, v1::ChatMessage& message) {
  const std::string type = Text(block, "type");
  if (type == "text") {
    message.mutable_content()->append(Text(block, "text"));
  } else if (type == "thinking") {
    message.mutable_reasoning()->append(Text(block, "thinking"));
  } else if (type == "tool_use") {
    v1::ToolCall* call = message.add_tool_calls();
    call->set_id(Text(block, "id"));
    call->set_name(Text(block, "name"));
    auto input = block.find("input");
    if (input != block.end() && input->is_object()) {
      call->set_arguments_json(input->dump());
    } else {
      call->set_arguments_json(input == block.end() ? ""
                               : input->is_string() ? input->get<std::string>()
                                                    : input->dump());
      call->set_error(absl::StrCat("the input of tool call ", call->name(), " is not a JSON object"));
    }
  }
}

// A tool call's input: its arguments as an object, or (a model's broken arguments) their text.
json Input(const v1::ToolCall& c) {
  json input = json::parse(c.arguments_json().empty() ? std::string("{}") : c.arguments_json(), nullptr, false);
  return input.is_object() ? input : json(c.arguments_json());
}

// Text goes out when there is some, or when nothing else would (a message has at least one block).
bool HasText(const v1::ChatMessage& m) {
  return !m.content().empty() || (m.reasoning().empty() && m.tool_calls_size() == 0);
}

json Message(const ReplyShape& shape, json content, json stop_reason, json usage) {
  return {{"id", shape.id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", shape.model},
          {"content", std::move(content)},
          {"stop_reason", std::move(stop_reason)},
          {"stop_sequence", nullptr},
          {"usage", std::move(usage)}};
}

class AnthropicStream final : public StreamDecoder {
 public:
  absl::Status OnEvent(std::string_view, std::string_view data) override {
    json j = json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::DataLossError(absl::StrCat("a streamed event is not JSON: ", std::string(data.substr(0, 200))));
    }
    if (absl::Status s = ErrorIn(j); !s.ok()) return s;
    try {
      const std::string type = Text(j, "type");
      if (type == "message_start") {
        const json& m = j.at("message");
        if (auto u = m.find("usage"); u != m.end()) ReadUsage(*u, *reply_.mutable_usage());
        started_ = true;
      } else if (type == "content_block_start" || type == "content_block_delta") {
        std::optional<int> index = Index(j, "index");
        if (!index) {
          return absl::DataLossError(absl::StrCat("a streamed ", type, " has no index below ", kMaxIndex, ": ",
                                                  std::string(data.substr(0, 200))));
        }
        Block& b = blocks_[*index];
        if (type == "content_block_start") {
          b.start = j.at("content_block");
          return absl::OkStatus();
        }
        const json& d = j.at("delta");
        const std::string kind = Text(d, "type");
        if (kind == "text_delta")
          b.text += Text(d, "text");
        else if (kind == "thinking_delta")
          b.text += Text(d, "thinking");
        else if (kind == "input_json_delta")
          b.text += Text(d, "partial_json");
      } else if (type == "message_delta") {
        if (auto d = j.find("delta"); d != j.end() && d->is_object()) {
          reply_.set_finish_reason(FinishReason(Text(*d, "stop_reason")));
        }
        if (auto u = j.find("usage"); u != j.end()) {
          ReadUsage(*u, *reply_.mutable_usage());
          usage_final_ = true;
        }
      } else if (type == "message_stop") {
        done_ = true;
      }
    } catch (const json::exception& e) {
      return absl::DataLossError(absl::StrCat("a streamed event is malformed: ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<v1::ChatReply> Finish() override {
    if (!started_ || !done_) return absl::DataLossError("the stream ended before message_stop: the reply is truncated");
    v1::ChatMessage* message = reply_.mutable_message();
    message->set_role("assistant");
    for (auto& [index, b] : blocks_) {
      const std::string type = Text(b.start, "type");
      if (type == "text") {
        message->mutable_content()->append(Text(b.start, "text") + b.text);
      } else if (type == "thinking") {
        message->mutable_reasoning()->append(Text(b.start, "thinking") + b.text);
      } else if (type == "tool_use") {
        v1::ToolCall* call = message->add_tool_calls();
        call->set_id(Text(b.start, "id"));
        call->set_name(Text(b.start, "name"));
        call->set_arguments_json(b.text.empty() ? "{}" : b.text);
        CheckToolArguments(*call);
      }
    }
    reply_.set_usage_reported(usage_final_);
    return std::move(reply_);
  }

 private:
  struct Block {
    json start;
    std::string text;  // the deltas, joined
  };
  v1::ChatReply reply_;
  std::map<int, Block> blocks_;
  bool started_ = false;
  bool usage_final_ = false;
  bool done_ = false;
};

}  // namespace

absl::StatusOr<std::string> EncodeRequest(const v1::ChatRequest& request, const std::string& model,
                                          std::uint32_t max_tokens, bool stream) {
  json system = json::array();
  json messages = json::array();
  auto turn = [&](const std::string& role) -> json& {
    if (messages.empty() || messages.back()["role"] != role)
      messages.push_back({{"role", role}, {"content", json::array()}});
    return messages.back()["content"];
  };
  for (const v1::ChatMessage& m : request.messages()) {
    if (m.role() == "system") {
      if (!m.content().empty()) system.push_back({{"type", "text"}, {"text", m.content()}});
    } else if (m.role() == "tool") {
      turn("user").push_back({{"type", "tool_result"}, {"tool_use_id", m.tool_call_id()}, {"content", m.content()}});
    } else if (m.role() == "assistant") {
      if (m.content().empty() && m.tool_calls_size() == 0) continue;  // the API refuses an empty turn
      json& content = turn("assistant");
      if (!m.content().empty()) content.push_back({{"type", "text"}, {"text", m.content()}});
      for (const v1::ToolCall& c : m.tool_calls()) {
        json input = json::parse(c.error().empty() ? c.arguments_json() : std::string("{}"), nullptr, false);
        if (input.is_discarded() || !input.is_object()) input = json::object();
        content.push_back({{"type", "tool_use"}, {"id", c.id()}, {"name", c.name()}, {"input", std::move(input)}});
      }
    } else if (!m.content().empty()) {
      turn("user").push_back({{"type", "text"}, {"text", m.content()}});
    }
  }
  // Prompt caching: the system prompt and everything up to the newest block are cached, so the
  // next step of an agent reads its whole history from the cache.
  if (!system.empty()) system.back()["cache_control"] = {{"type", "ephemeral"}};
  if (!messages.empty() && !messages.back()["content"].empty()) {
    messages.back()["content"].back()["cache_control"] = {{"type", "ephemeral"}};
  }
  json body = {{"model", model}, {"max_tokens", max_tokens}, {"messages", std::move(messages)}};
  if (!system.empty()) body["system"] = std::move(system);
  if (request.tools_size() > 0) {
    json tools = json::array();
    for (const v1::ToolSpec& t : request.tools()) {
      absl::StatusOr<json> schema = wire_internal::ToolParameters(t);
      if (!schema.ok()) return schema.status();
      tools.push_back({{"name", t.name()}, {"description", t.description()}, {"input_schema", *schema}});
    }
    body["tools"] = std::move(tools);
  }
  if (stream) body["stream"] = true;
  return Dump(body);
}

std::string EncodeReply(const v1::ChatReply& reply, const ReplyShape& shape) {
  const v1::ChatMessage& m = reply.message();
  json content = json::array();
  if (!m.reasoning().empty()) {
    content.push_back({{"type", "thinking"}, {"thinking", m.reasoning()}, {"signature", shape.thinking_signature}});
  }
  if (HasText(m)) content.push_back({{"type", "text"}, {"text", m.content()}});
  for (const v1::ToolCall& c : m.tool_calls()) {
    content.push_back({{"type", "tool_use"}, {"id", c.id()}, {"name", c.name()}, {"input", Input(c)}});
  }
  return Dump(Message(shape, std::move(content), StopReason(reply.finish_reason()),
                      WriteUsage(reply.usage(), reply.usage().output_tokens())));
}

std::vector<std::string> EncodeStream(const v1::ChatReply& reply, const ReplyShape& shape) {
  std::vector<std::string> events;
  auto event = [&](const char* name, json data) {
    data["type"] = name;
    events.push_back(absl::StrCat("event: ", name, "\ndata: ", Dump(data), "\n\n"));
  };
  int index = 0;
  // One content block: its start, one delta per piece of `text` (and `extra` deltas), its stop.
  auto block = [&](json start, const char* delta_type, const char* field, const std::string& text,
                   std::vector<json> extra = {}) {
    event("content_block_start", {{"index", index}, {"content_block", std::move(start)}});
    for (const std::string& piece : SplitPieces(text, shape.pieces)) {
      event("content_block_delta", {{"index", index}, {"delta", {{"type", delta_type}, {field, piece}}}});
    }
    for (json& delta : extra) event("content_block_delta", {{"index", index}, {"delta", std::move(delta)}});
    event("content_block_stop", {{"index", index}});
    ++index;
  };
  const v1::ChatMessage& m = reply.message();
  event("message_start", {{"message", Message(shape, json::array(), nullptr, WriteUsage(reply.usage(), 1))}});
  event("ping", json::object());
  if (!m.reasoning().empty()) {
    block({{"type", "thinking"}, {"thinking", ""}}, "thinking_delta", "thinking", m.reasoning(),
          {{{"type", "signature_delta"}, {"signature", shape.thinking_signature}}});
  }
  if (HasText(m)) block({{"type", "text"}, {"text", ""}}, "text_delta", "text", m.content());
  for (const v1::ToolCall& c : m.tool_calls()) {
    block({{"type", "tool_use"}, {"id", c.id()}, {"name", c.name()}, {"input", json::object()}}, "input_json_delta",
          "partial_json", c.arguments_json());
  }
  event("message_delta", {{"delta", {{"stop_reason", StopReason(reply.finish_reason())}, {"stop_sequence", nullptr}}},
                          {"usage", {{"output_tokens", reply.usage().output_tokens()}}}});
  event("message_stop", json::object());
  return events;
}

absl::StatusOr<v1::ChatReply> DecodeReply(std::string_view body) {
  absl::StatusOr<json> parsed = wire_internal::ObjectIn(body, absl::StatusCode::kDataLoss, "the reply is not JSON");
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  if (absl::Status s = ErrorIn(j); !s.ok()) return s;
  v1::ChatReply reply;
  try {
    v1::ChatMessage* message = reply.mutable_message();
    message->set_role("assistant");
    for (const json& block : j.at("content")) AddBlock(block, *message);
    reply.set_finish_reason(FinishReason(Text(j, "stop_reason")));
    if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
      ReadUsage(*u, *reply.mutable_usage());
      reply.set_usage_reported(true);
    }
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat("the reply is malformed: ", e.what()));
  }
  return reply;
}

std::unique_ptr<StreamDecoder> NewStreamDecoder() { return std::make_unique<AnthropicStream>(); }

std::string EncodeError(std::string_view message, std::string_view type) {
  return Dump({{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
}

std::string ErrorMessage(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end() && e->is_object()) {
      return absl::StrCat(Text(*e, "type"), ": ", Text(*e, "message"));
    }
  }
  return std::string(body.substr(0, 300));
}

}  // namespace swarm::anthropic
