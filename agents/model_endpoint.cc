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
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "models/wire/openai_chat.h"

namespace swarm {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

namespace {

constexpr std::size_t kMaxRequest = 32 << 20;

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
  const std::string type = absl::StatusCodeToString(status.code());
  return openai::EncodeError(std::string(status.message()), type, absl::AsciiStrToLower(type));
}

// The reply as the agent asked for it: a whole body, or the events of a stream in one body (the
// endpoint answers once the gateway has the whole reply). The usage always comes last in a stream.
std::string ReplyBody(const v1::ChatReply& reply, bool stream) {
  ReplyShape shape;
  shape.id = "swarm";
  shape.created = static_cast<std::int64_t>(std::time(nullptr));
  shape.model = reply.model();
  if (!stream) {
    shape.cost_usd = reply.cost_usd();
    return openai::EncodeReply(reply, shape);
  }
  std::string body;
  for (const std::string& event : openai::EncodeStream(reply, shape)) body += event;
  return body;
}

}  // namespace

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
      if (req.method() != http::verb::post || !std::string(req.target()).ends_with("/chat/completions")) {
        res.result(http::status::not_found);
        res.body() = ErrorBody(absl::NotFoundError("only POST .../chat/completions is served here"));
      } else if (absl::StatusOr<openai::DecodedRequest> request = openai::DecodeRequest(req.body()); !request.ok()) {
        res.result(http::status::bad_request);
        res.body() = ErrorBody(request.status());
      } else {
        const bool stream = request->stream;
        absl::StatusOr<v1::ChatReply> reply = co_await AsyncComplete(std::move(request->request), asio::use_awaitable);
        if (stopped) break;
        if (!reply.ok()) {
          res.result(HttpStatusFor(reply.status().code()));
          res.body() = ErrorBody(reply.status());
        } else {
          res.result(http::status::ok);
          if (stream) res.set(http::field::content_type, "text/event-stream");
          res.body() = ReplyBody(*reply, stream);
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
