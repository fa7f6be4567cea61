#include "models/openai_chat.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace swarm {
namespace {

using nlohmann::json;

// Usage as each provider spells it: prompt_tokens counts cached tokens too; the cached part is in
// prompt_tokens_details.cached_tokens (OpenAI, Zhipu, Qwen), prompt_cache_hit_tokens (DeepSeek) or
// cached_tokens (Moonshot).
// A count, or 0 where a server sends null or something else.
std::uint64_t Count(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

void ReadUsage(const json& u, v1::ChatReply& reply) {
  if (!u.is_object()) return;
  v1::Usage* usage = reply.mutable_usage();
  usage->set_input_tokens(Count(u, "prompt_tokens"));
  usage->set_output_tokens(Count(u, "completion_tokens"));
  std::uint64_t cached = 0;
  if (auto d = u.find("prompt_tokens_details"); d != u.end() && d->is_object()) cached = Count(*d, "cached_tokens");
  if (cached == 0) cached = Count(u, "prompt_cache_hit_tokens");
  if (cached == 0) cached = Count(u, "cached_tokens");
  usage->set_cached_input_tokens(cached);
  reply.set_usage_reported(true);
}

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

absl::Status ErrorIn(const json& j) {
  auto e = j.find("error");
  if (e == j.end() || e->is_null()) return absl::OkStatus();
  std::string message = e->is_object() ? Text(*e, "message") : e->dump();
  return absl::UnavailableError(absl::StrCat("the provider reported an error: ", message));
}

class OpenAiStream final : public StreamDecoder {
 public:
  absl::Status OnEvent(std::string_view, std::string_view data) override {
    if (data == "[DONE]") {
      done_ = true;
      return absl::OkStatus();
    }
    json chunk = json::parse(data, nullptr, false);
    if (chunk.is_discarded() || !chunk.is_object()) {
      return absl::DataLossError(absl::StrCat("a streamed chunk is not JSON: ", std::string(data.substr(0, 200))));
    }
    if (absl::Status s = ErrorIn(chunk); !s.ok()) return s;
    try {
      if (auto u = chunk.find("usage"); u != chunk.end()) ReadUsage(*u, reply_);
      auto choices = chunk.find("choices");
      if (choices == chunk.end() || !choices->is_array() || choices->empty()) return absl::OkStatus();
      const json& choice = (*choices)[0];
      // Moonshot streams usage inside the last choice.
      if (auto u = choice.find("usage"); u != choice.end() && u->is_object()) ReadUsage(*u, reply_);
      if (auto f = choice.find("finish_reason"); f != choice.end() && f->is_string()) {
        reply_.set_finish_reason(f->get<std::string>());
      }
      auto delta = choice.find("delta");
      if (delta == choice.end() || !delta->is_object()) return absl::OkStatus();
      v1::ChatMessage* message = reply_.mutable_message();
      message->mutable_content()->append(Text(*delta, "content"));
      message->mutable_reasoning()->append(Text(*delta, "reasoning_content"));
      message->mutable_reasoning()->append(Text(*delta, "reasoning"));  // OpenRouter, vLLM
      if (auto calls = delta->find("tool_calls"); calls != delta->end() && calls->is_array()) {
        for (const json& d : *calls) {
          // Without an index: the call with the same id, else a new one for a new id, else the last.
          int index = std::max(0, static_cast<int>(calls_.size()) - 1);
          if (d.contains("index") && d["index"].is_number_integer()) {
            index = d["index"].get<int>();
          } else if (std::string id = Text(d, "id"); !id.empty()) {
            index = static_cast<int>(calls_.size());
            for (const auto& [i, c] : calls_) {
              if (c.id() == id) index = i;
            }
          }
          v1::ToolCall& call = calls_[index];
          if (std::string id = Text(d, "id"); !id.empty()) call.set_id(id);
          if (auto f = d.find("function"); f != d.end() && f->is_object()) {
            // The name comes whole; some servers repeat it in later deltas.
            if (call.name().empty()) call.set_name(Text(*f, "name"));
            call.mutable_arguments_json()->append(Text(*f, "arguments"));
          }
        }
      }
    } catch (const json::exception& e) {
      return absl::DataLossError(absl::StrCat("a streamed chunk is malformed: ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<v1::ChatReply> Finish() override {
    // Some servers end the stream after the finish reason without [DONE].
    if (!done_ && reply_.finish_reason().empty()) {
      return absl::DataLossError("the stream ended before [DONE]: the reply is truncated");
    }
    reply_.mutable_message()->set_role("assistant");
    for (auto& [index, call] : calls_) {
      CheckToolArguments(call);
      *reply_.mutable_message()->add_tool_calls() = std::move(call);
    }
    return std::move(reply_);
  }

 private:
  v1::ChatReply reply_;
  std::map<int, v1::ToolCall> calls_;
  bool done_ = false;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> OpenAiChat::Headers(const std::string& api_key) const {
  std::vector<std::pair<std::string, std::string>> h = {{"content-type", "application/json"}};
  if (!api_key.empty()) h.emplace_back("authorization", absl::StrCat("Bearer ", api_key));
  return h;
}

absl::StatusOr<std::string> OpenAiChat::Encode(const v1::ChatRequest& request, const std::string& model,
                                               std::uint32_t max_tokens, bool stream) const {
  json messages = json::array();
  for (const v1::ChatMessage& m : request.messages()) {
    json out = {{"role", m.role()}};
    if (m.role() == "tool") {
      out["tool_call_id"] = m.tool_call_id();
      out["content"] = m.content();
    } else if (m.role() == "assistant") {
      out["content"] = m.content().empty() && m.tool_calls_size() > 0 ? json(nullptr) : json(m.content());
      if (reasoning_in_history_ && !m.reasoning().empty()) out["reasoning_content"] = m.reasoning();
      if (m.tool_calls_size() > 0) {
        json calls = json::array();
        for (const v1::ToolCall& c : m.tool_calls()) {
          // Malformed arguments are not sent back as they were: some servers reject the request.
          const std::string args = c.error().empty() && !c.arguments_json().empty() ? c.arguments_json() : "{}";
          calls.push_back({{"id", c.id()}, {"type", "function"}, {"function", {{"name", c.name()}, {"arguments", args}}}});
        }
        out["tool_calls"] = std::move(calls);
      }
    } else {
      out["content"] = m.content();
    }
    messages.push_back(std::move(out));
  }
  json body = {{"model", model}, {"messages", std::move(messages)}, {max_tokens_field_, max_tokens}};
  if (request.tools_size() > 0) {
    json tools = json::array();
    for (const v1::ToolSpec& t : request.tools()) {
      absl::StatusOr<json> schema = ToolParameters(t);
      if (!schema.ok()) return schema.status();
      tools.push_back({{"type", "function"},
                       {"function", {{"name", t.name()}, {"description", t.description()}, {"parameters", *schema}}}});
    }
    body["tools"] = std::move(tools);
  }
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<v1::ChatReply> OpenAiChat::Decode(std::string_view body) const {
  absl::StatusOr<json> parsed = ReplyObject(body);
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  if (absl::Status s = ErrorIn(j); !s.ok()) return s;
  v1::ChatReply reply;
  try {
    if (auto u = j.find("usage"); u != j.end()) ReadUsage(*u, reply);
    auto choices = j.find("choices");
    if (choices == j.end() || !choices->is_array() || choices->empty()) {
      return absl::DataLossError("the reply has no choices");
    }
    const json& choice = (*choices)[0];
    reply.set_finish_reason(Text(choice, "finish_reason"));
    const json& m = choice.at("message");
    if (!m.is_object()) return absl::DataLossError("the reply's message is not an object");
    v1::ChatMessage* message = reply.mutable_message();
    message->set_role("assistant");
    message->set_content(Text(m, "content"));
    message->set_reasoning(Text(m, "reasoning_content") + Text(m, "reasoning"));
    if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
      for (const json& c : *calls) {
        v1::ToolCall* call = message->add_tool_calls();
        call->set_id(Text(c, "id"));
        const json& f = c.at("function");
        call->set_name(Text(f, "name"));
        auto args = f.find("arguments");
        // Some servers send the arguments as an object rather than as JSON text.
        call->set_arguments_json(args == f.end() ? "" : args->is_string() ? args->get<std::string>() : args->dump());
        CheckToolArguments(*call);
      }
    }
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat("the reply is malformed: ", e.what()));
  }
  return reply;
}

std::unique_ptr<StreamDecoder> OpenAiChat::NewStream() const { return std::make_unique<OpenAiStream>(); }

std::string OpenAiChat::ErrorMessage(std::string_view body) const {
  json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string()) return (*e)["message"];
      if (e->is_string()) return e->get<std::string>();
    }
  }
  return std::string(body.substr(0, 300));
}

}  // namespace swarm
