#include "models/wire/openai_chat.h"

#include <algorithm>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "models/wire/internal/json_parts.h"

namespace swarm::openai {
namespace {

using wire_internal::Count;
using wire_internal::Dump;
using wire_internal::Index;
using wire_internal::json;
using wire_internal::kMaxIndex;
using wire_internal::Text;

// Usage as each provider spells it: prompt_tokens counts cached tokens too; the cached part is in
// prompt_tokens_details.cached_tokens (OpenAI, Zhipu, Qwen), prompt_cache_hit_tokens (DeepSeek) or
// cached_tokens (Moonshot).
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

json WriteUsage(const v1::Usage& usage) {
  return {{"prompt_tokens", usage.input_tokens()},
          {"completion_tokens", usage.output_tokens()},
          {"total_tokens", usage.input_tokens() + usage.output_tokens()},
          {"prompt_tokens_details", {{"cached_tokens", usage.cached_input_tokens()}}}};
}

absl::Status ErrorIn(const json& j) {
  auto e = j.find("error");
  if (e == j.end() || e->is_null()) return absl::OkStatus();
  std::string message = e->is_object() ? Text(*e, "message") : e->dump();
  return absl::UnavailableError(absl::StrCat("the provider reported an error: ", message));
}

// Content is null when a reply is only tool calls, as OpenAI sends it.
json Content(const v1::ChatMessage& m) {
  return m.content().empty() && m.tool_calls_size() > 0 ? json(nullptr) : json(m.content());
}

json ToolCallJson(const v1::ToolCall& c, const std::string& arguments) {
  return {{"id", c.id()}, {"type", "function"}, {"function", {{"name", c.name()}, {"arguments", arguments}}}};
}

// Text content, or the text parts of [{"type": "text", "text": ...}, ...].
std::string TextOf(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const json& part : content) {
      if (part.is_object() && Text(part, "type") == "text") text += Text(part, "text");
    }
  }
  return text;
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
          if (d.contains("index")) {
            std::optional<int> given = Index(d, "index");
            if (!given) {
              return absl::DataLossError(absl::StrCat("a streamed tool call has no index below ", kMaxIndex, ": ",
                                                      std::string(data.substr(0, 200))));
            }
            index = *given;
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

absl::StatusOr<std::string> EncodeRequest(const v1::ChatRequest& request, const RequestOptions& options) {
  json messages = json::array();
  for (const v1::ChatMessage& m : request.messages()) {
    json out = {{"role", m.role()}};
    if (m.role() == "tool") {
      out["tool_call_id"] = m.tool_call_id();
      out["content"] = m.content();
    } else if (m.role() == "assistant") {
      out["content"] = Content(m);
      if (options.reasoning_in_history && !m.reasoning().empty()) out["reasoning_content"] = m.reasoning();
      if (m.tool_calls_size() > 0) {
        json calls = json::array();
        for (const v1::ToolCall& c : m.tool_calls()) {
          // Malformed arguments are not sent back as they were: some servers reject the request.
          calls.push_back(
              ToolCallJson(c, c.error().empty() && !c.arguments_json().empty() ? c.arguments_json() : "{}"));
        }
        out["tool_calls"] = std::move(calls);
      }
    } else {
      out["content"] = m.content();
    }
    messages.push_back(std::move(out));
  }
  json body = {{"model", options.model}, {"messages", std::move(messages)}};
  if (options.max_tokens > 0) body[options.max_tokens_field] = options.max_tokens;
  if (request.tools_size() > 0) {
    json tools = json::array();
    for (const v1::ToolSpec& t : request.tools()) {
      absl::StatusOr<json> schema = wire_internal::ToolParameters(t);
      if (!schema.ok()) return schema.status();
      tools.push_back({{"type", "function"},
                       {"function", {{"name", t.name()}, {"description", t.description()}, {"parameters", *schema}}}});
    }
    body["tools"] = std::move(tools);
  }
  if (options.stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return Dump(body);
}

absl::StatusOr<DecodedRequest> DecodeRequest(std::string_view body) {
  absl::StatusOr<json> parsed =
      wire_internal::ObjectIn(body, absl::StatusCode::kInvalidArgument, "the request body is not a JSON object");
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  DecodedRequest out;
  v1::ChatRequest& request = out.request;
  try {
    out.model = Text(j, "model");
    out.stream = j.value("stream", false);
    if (auto o = j.find("stream_options"); o != j.end() && o->is_object())
      out.include_usage = o->value("include_usage", false);
    const json& messages = j.at("messages");
    if (!messages.is_array() || messages.empty())
      return absl::InvalidArgumentError("messages must be a non-empty array");
    for (const json& m : messages) {
      v1::ChatMessage* message = request.add_messages();
      std::string role = m.at("role").get<std::string>();
      if (role == "developer") role = "system";
      if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
        return absl::InvalidArgumentError(absl::StrCat("unknown message role \"", role, "\""));
      }
      message->set_role(role);
      if (auto c = m.find("content"); c != m.end() && !c->is_null()) message->set_content(TextOf(*c));
      if (role == "tool") message->set_tool_call_id(m.value("tool_call_id", ""));
      // Kept: some providers want an assistant turn's reasoning back (reasoning_in_history).
      message->set_reasoning(Text(m, "reasoning_content"));
      if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
        for (const json& c : *calls) {
          v1::ToolCall* call = message->add_tool_calls();
          call->set_id(c.value("id", ""));
          const json& f = c.at("function");
          call->set_name(f.at("name").get<std::string>());
          const json& args = f.contains("arguments") ? f["arguments"] : json("{}");
          call->set_arguments_json(args.is_string() ? args.get<std::string>() : args.dump());
        }
      }
    }
    if (auto tools = j.find("tools"); tools != j.end() && tools->is_array()) {
      for (const json& t : *tools) {
        const json& f = t.at("function");
        v1::ToolSpec* spec = request.add_tools();
        spec->set_name(f.at("name").get<std::string>());
        spec->set_description(f.value("description", ""));
        spec->set_parameters_json(f.contains("parameters") ? f["parameters"].dump() : "{\"type\":\"object\"}");
      }
    }
    for (const char* field : {"max_completion_tokens", "max_tokens"}) {
      if (auto n = j.find(field); n != j.end() && n->is_number_unsigned()) {
        request.set_max_tokens(static_cast<std::uint32_t>(
            std::min<std::uint64_t>(n->get<std::uint64_t>(), std::numeric_limits<std::uint32_t>::max())));
        break;
      }
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the request is not a Chat Completions request: ", e.what()));
  }
  return out;
}

std::string EncodeReply(const v1::ChatReply& reply, const ReplyShape& shape) {
  const v1::ChatMessage& m = reply.message();
  json message = {{"role", "assistant"}, {"content", Content(m)}};
  if (!m.reasoning().empty()) message["reasoning_content"] = m.reasoning();
  if (m.tool_calls_size() > 0) {
    json calls = json::array();
    for (const v1::ToolCall& c : m.tool_calls()) calls.push_back(ToolCallJson(c, c.arguments_json()));
    message["tool_calls"] = std::move(calls);
  }
  json body = {
      {"id", shape.id},
      {"object", "chat.completion"},
      {"created", shape.created},
      {"model", shape.model},
      {"choices",
       json::array({{{"index", 0}, {"message", std::move(message)}, {"finish_reason", reply.finish_reason()}}})},
      {"usage", WriteUsage(reply.usage())}};
  if (shape.cost_usd) body["swarm"] = {{"cost_usd", *shape.cost_usd}};
  return Dump(body);
}

std::vector<std::string> EncodeStream(const v1::ChatReply& reply, const ReplyShape& shape) {
  std::vector<std::string> events;
  auto chunk = [&](json choices) {
    json c = {{"id", shape.id},
              {"object", "chat.completion.chunk"},
              {"created", shape.created},
              {"model", shape.model},
              {"choices", std::move(choices)}};
    if (shape.usage_in_stream) c["usage"] = nullptr;  // as OpenAI: null until the last chunk
    return c;
  };
  auto delta = [&](json d, json finish_reason = nullptr) {
    json choices = json::array({{{"index", 0}, {"delta", std::move(d)}, {"finish_reason", std::move(finish_reason)}}});
    events.push_back(absl::StrCat("data: ", Dump(chunk(std::move(choices))), "\n\n"));
  };
  const v1::ChatMessage& m = reply.message();
  delta({{"role", "assistant"}, {"content", ""}});
  for (const std::string& piece : SplitPieces(m.reasoning(), shape.pieces)) delta({{"reasoning_content", piece}});
  for (const std::string& piece : SplitPieces(m.content(), shape.pieces)) delta({{"content", piece}});
  for (int i = 0; i < m.tool_calls_size(); ++i) {
    const v1::ToolCall& c = m.tool_calls(i);
    json head = ToolCallJson(c, "");
    head["index"] = i;
    delta({{"tool_calls", json::array({std::move(head)})}});
    for (const std::string& piece : SplitPieces(c.arguments_json(), shape.pieces)) {
      delta({{"tool_calls", json::array({{{"index", i}, {"function", {{"arguments", piece}}}}})}});
    }
  }
  delta(json::object(), reply.finish_reason());
  if (shape.usage_in_stream) {
    json last = chunk(json::array());
    last["usage"] = WriteUsage(reply.usage());
    events.push_back(absl::StrCat("data: ", Dump(last), "\n\n"));
  }
  events.push_back("data: [DONE]\n\n");
  return events;
}

absl::StatusOr<v1::ChatReply> DecodeReply(std::string_view body) {
  absl::StatusOr<json> parsed = wire_internal::ObjectIn(body, absl::StatusCode::kDataLoss, "the reply is not JSON");
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

std::unique_ptr<StreamDecoder> NewStreamDecoder() { return std::make_unique<OpenAiStream>(); }

std::string EncodeError(std::string_view message, std::string_view type, std::string_view code) {
  return Dump({{"error",
                {{"message", message},
                 {"type", type},
                 {"param", nullptr},
                 {"code", code.empty() ? json(nullptr) : json(code)}}}});
}

std::string ErrorMessage(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string()) return (*e)["message"];
      if (e->is_string()) return e->get<std::string>();
    }
  }
  return std::string(body.substr(0, 300));
}

}  // namespace swarm::openai
