#include "agents/model_endpoint.h"

#include <unistd.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"

namespace swarm {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxRequest = 32 << 20;

std::string TextOf(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {  // [{"type": "text", "text": ...}, ...]
    for (const json& part : content) {
      if (part.is_object() && part.value("type", "") == "text") text += part.value("text", "");
    }
  }
  return text;
}

// The HTTP status an agent's client understands for each gateway error. A refused budget is not a
// 429: clients retry those.
http::status HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return http::status::bad_request;
    case absl::StatusCode::kResourceExhausted: return http::status::payment_required;
    case absl::StatusCode::kFailedPrecondition: return http::status::conflict;
    case absl::StatusCode::kDeadlineExceeded: return http::status::gateway_timeout;
    default: return http::status::bad_gateway;
  }
}

std::string ErrorBody(const absl::Status& status) {
  return json({{"error", {{"message", std::string(status.message())},
                          {"type", absl::StatusCodeToString(status.code())},
                          {"code", static_cast<int>(status.code())}}}})
      .dump();
}

}  // namespace

absl::StatusOr<v1::ChatRequest> ChatRequestFromOpenAi(const std::string& body, bool* stream) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("the request body is not a JSON object");
  v1::ChatRequest request;
  try {
    *stream = j.value("stream", false);
    const json& messages = j.at("messages");
    if (!messages.is_array() || messages.empty()) return absl::InvalidArgumentError("messages must be a non-empty array");
    for (const json& m : messages) {
      v1::ChatMessage* out = request.add_messages();
      std::string role = m.at("role").get<std::string>();
      if (role == "developer") role = "system";
      if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
        return absl::InvalidArgumentError(absl::StrCat("unknown message role \"", role, "\""));
      }
      out->set_role(role);
      if (auto c = m.find("content"); c != m.end() && !c->is_null()) out->set_content(TextOf(*c));
      if (role == "tool") out->set_tool_call_id(m.value("tool_call_id", ""));
      // Kept: some providers want an assistant turn's reasoning back (reasoning_in_history).
      if (auto r = m.find("reasoning_content"); r != m.end() && r->is_string()) out->set_reasoning(r->get<std::string>());
      if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
        for (const json& c : *calls) {
          v1::ToolCall* call = out->add_tool_calls();
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
        request.set_max_tokens(n->get<std::uint32_t>());
        break;
      }
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("the request is not a Chat Completions request: ", e.what()));
  }
  return request;
}

std::string OpenAiReplyBody(const v1::ChatReply& reply, bool stream) {
  const v1::ChatMessage& m = reply.message();
  json calls = json::array();
  for (int i = 0; i < m.tool_calls_size(); ++i) {
    const v1::ToolCall& c = m.tool_calls(i);
    calls.push_back({{"index", i}, {"id", c.id()}, {"type", "function"},
                     {"function", {{"name", c.name()}, {"arguments", c.arguments_json()}}}});
  }
  json message = {{"role", "assistant"}, {"content", m.content().empty() && !calls.empty() ? json(nullptr) : json(m.content())}};
  if (!m.reasoning().empty()) message["reasoning_content"] = m.reasoning();
  if (!calls.empty()) message["tool_calls"] = calls;
  const json usage = {{"prompt_tokens", reply.usage().input_tokens()},
                      {"completion_tokens", reply.usage().output_tokens()},
                      {"total_tokens", reply.usage().input_tokens() + reply.usage().output_tokens()},
                      {"prompt_tokens_details", {{"cached_tokens", reply.usage().cached_input_tokens()}}}};
  const json base = {{"id", "swarm"}, {"created", static_cast<std::int64_t>(std::time(nullptr))}, {"model", reply.model()}};
  if (!stream) {
    json body = base;
    body["object"] = "chat.completion";
    body["choices"] = json::array({{{"index", 0}, {"message", message}, {"finish_reason", reply.finish_reason()}}});
    body["usage"] = usage;
    body["swarm"] = {{"cost_usd", reply.cost_usd()}};
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  auto event = [&](json choices, json extra = json::object()) {
    json chunk = base;
    chunk["object"] = "chat.completion.chunk";
    chunk["choices"] = std::move(choices);
    for (auto& [k, v] : extra.items()) chunk[k] = v;
    return "data: " + chunk.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
  };
  return event(json::array({{{"index", 0}, {"delta", message}, {"finish_reason", nullptr}}})) +
         event(json::array({{{"index", 0}, {"delta", json::object()}, {"finish_reason", reply.finish_reason()}}})) +
         event(json::array(), {{"usage", usage}}) + "data: [DONE]\n\n";
}

struct ModelEndpoint::Impl : std::enable_shared_from_this<ModelEndpoint::Impl> {
  Impl(asio::io_context& io, ModelClient& client) : io(io), acceptor(io), client(client) {}

  asio::io_context& io;
  local::acceptor acceptor;
  ModelClient& client;
  std::string lease_id;
  std::uint64_t fence = 0;
  std::string dir, path;
  std::set<std::shared_ptr<local::socket>> open;  // closed when the endpoint goes
  bool stopped = false;

  template <typename Token>
  auto AsyncComplete(v1::ChatRequest request, Token&& token) {
    return asio::async_initiate<Token, void(absl::StatusOr<v1::ChatReply>)>(
        [this](auto handler, v1::ChatRequest request) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          client.Complete(lease_id, fence, std::move(request),
                          [shared, &io = io](absl::StatusOr<v1::ChatReply> reply) {
                            asio::post(io, [shared, reply = std::move(reply)]() mutable { (*shared)(std::move(reply)); });
                          });
        },
        token, std::move(request));
  }

  asio::awaitable<void> Accept() {
    auto self = shared_from_this();
    for (;;) {
      auto socket = std::make_shared<local::socket>(io);
      boost::system::error_code ec;
      co_await acceptor.async_accept(*socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || stopped) co_return;
      open.insert(socket);
      asio::co_spawn(io, Serve(socket), asio::detached);
    }
  }

  asio::awaitable<void> Serve(std::shared_ptr<local::socket> socket) {
    auto self = shared_from_this();
    beast::flat_buffer buffer;
    for (;;) {
      boost::system::error_code ec;
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxRequest);
      co_await http::async_read(*socket, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      http::request<http::string_body> req = parser.release();
      http::response<http::string_body> res;
      res.version(11);
      res.keep_alive(req.keep_alive());
      res.set(http::field::content_type, "application/json");
      bool stream = false;
      if (req.method() != http::verb::post || !std::string(req.target()).ends_with("/chat/completions")) {
        res.result(http::status::not_found);
        res.body() = ErrorBody(absl::NotFoundError("only POST .../chat/completions is served here"));
      } else if (absl::StatusOr<v1::ChatRequest> request = ChatRequestFromOpenAi(req.body(), &stream); !request.ok()) {
        res.result(http::status::bad_request);
        res.body() = ErrorBody(request.status());
      } else {
        absl::StatusOr<v1::ChatReply> reply = co_await AsyncComplete(std::move(*request), asio::use_awaitable);
        if (stopped) break;
        if (!reply.ok()) {
          res.result(HttpStatusFor(reply.status().code()));
          res.body() = ErrorBody(reply.status());
        } else {
          res.result(http::status::ok);
          if (stream) res.set(http::field::content_type, "text/event-stream");
          res.body() = OpenAiReplyBody(*reply, stream);
        }
      }
      res.prepare_payload();
      co_await http::async_write(*socket, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    socket->close(ignored);
    open.erase(socket);
  }
};

ModelEndpoint::ModelEndpoint(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<ModelEndpoint>> ModelEndpoint::Start(asio::io_context& io, const std::string& dir,
                                                                   ModelClient& client, std::string lease_id,
                                                                   std::uint64_t fence) {
  auto impl = std::make_shared<Impl>(io, client);
  impl->lease_id = std::move(lease_id);
  impl->fence = fence;
  impl->dir = dir;
  impl->path = dir + "/model.sock";
  if (impl->path.size() > 107) return absl::FailedPreconditionError(absl::StrCat("socket path too long: ", impl->path));
  boost::system::error_code ec;
  ::unlink(impl->path.c_str());
  impl->acceptor.open(local(), ec);
  if (!ec) impl->acceptor.bind(local::endpoint(impl->path), ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", impl->path, ": ", ec.message()));
  asio::co_spawn(io, impl->Accept(), asio::detached);
  return std::unique_ptr<ModelEndpoint>(new ModelEndpoint(std::move(impl)));
}

ModelEndpoint::~ModelEndpoint() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  for (const auto& socket : impl_->open) socket->close(ignored);
  ::unlink(impl_->path.c_str());
}

const std::string& ModelEndpoint::socket_path() const { return impl_->path; }

}  // namespace swarm
