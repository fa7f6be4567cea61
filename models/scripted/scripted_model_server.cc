#include "models/scripted/scripted_model_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "models/scripted/model_script.h"
#include "models/scripted/internal/scripted_wire.h"

namespace swarm {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::use_awaitable;
using asio::ip::tcp;
using boost::system::error_code;
using json = nlohmann::json;
using scripted::Api;
using scripted::ErrorKind;
using scripted::WireReply;
using Request = http::request<http::string_body>;

constexpr uint64_t kMaxRequestBody = 64 << 20;  // agent transcripts grow large

// What the server must reach in a connection to stop it: closing the socket fails its pending reads
// and writes, cancelling the timer ends a scripted delay.
struct Connection {
  tcp::socket& socket;
  asio::steady_timer& timer;
};

// How one request is answered, decided under the lock.
struct Answer {
  WireReply reply;
  int delay_ms = 0;
  ScriptFault fault = ScriptFault::kNone;
};

std::string Header(const ScriptedModelServer::SeenRequest& seen, const std::string& name) {
  auto it = seen.headers.find(name);
  return it == seen.headers.end() ? "" : it->second;
}

template <class Message>
void SetHeaders(Message& message, const WireReply& reply, bool keep_alive) {
  message.result(reply.status);
  message.set(http::field::content_type, reply.content_type);
  for (const auto& [name, value] : reply.headers) message.set(name, value);
  message.keep_alive(keep_alive);
}

// Reads and drops whatever comes until the connection fails: how a stalled call waits for the
// client to give up (or the server to close it).
template <class Stream>
asio::awaitable<void> DrainUntilClosed(Stream& stream) {
  char scratch[1024];
  error_code ec;
  while (!ec) co_await stream.async_read_some(asio::buffer(scratch), asio::redirect_error(use_awaitable, ec));
}

}  // namespace

class ScriptedModelServer::Impl {
 public:
  Impl(ModelScript script, ScriptedServerOptions options)
      : options_(std::move(options)), script_(std::move(script)) {}

  // Binds, loads the certificate if any, and starts serving on a new thread.
  absl::Status Start();
  // Closes every connection and joins the thread.
  void Stop();

  std::string base_url() const;
  int port() const { return port_; }
  std::vector<SeenRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<std::string> unexpected() const {
    absl::MutexLock lock(&mu_);
    return unexpected_;
  }
  int max_concurrent() const {
    absl::MutexLock lock(&mu_);
    return max_concurrent_;
  }
  int connections_accepted() const {
    absl::MutexLock lock(&mu_);
    return connections_accepted_;
  }

 private:
  asio::awaitable<void> AcceptConnections();
  asio::awaitable<void> ServeConnection(tcp::socket socket);
  template <class Stream>
  asio::awaitable<void> ServeRequests(Stream& stream, asio::steady_timer& timer);
  // Sends `answer`; true when the connection may carry another request.
  template <class Stream>
  asio::awaitable<bool> Send(Stream& stream, asio::steady_timer& timer, bool keep_alive, Answer answer);

  // Records the request and picks its answer.
  Answer Decide(const Request& request);
  Answer Choose(const SeenRequest& seen) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Set at construction and by Start.
  const ScriptedServerOptions options_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  std::optional<asio::ssl::context> tls_;
  int port_ = 0;
  std::thread thread_;

  // Owned by the io thread.
  bool stopping_ = false;
  std::set<Connection*> connections_;

  mutable absl::Mutex mu_;
  ModelScript script_ ABSL_GUARDED_BY(mu_);
  int64_t serial_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<SeenRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> unexpected_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_concurrent_ ABSL_GUARDED_BY(mu_) = 0;
  int connections_accepted_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::Status ScriptedModelServer::Impl::Start() {
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("scripted model server: host \"", options_.host, "\" is not an IP address"));
  }
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(options_.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("scripted model server: cannot listen on ", options_.host,
                                               ":", options_.port, ": ", ec.message()));
  }
  port_ = acceptor_.local_endpoint().port();

  if (!options_.cert_file.empty() || !options_.key_file.empty()) {
    if (options_.cert_file.empty() || options_.key_file.empty()) {
      return absl::InvalidArgumentError("scripted model server: HTTPS needs both cert_file and key_file");
    }
    tls_.emplace(asio::ssl::context::tls_server);
    tls_->use_certificate_chain_file(options_.cert_file, ec);
    if (!ec) tls_->use_private_key_file(options_.key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("scripted model server: cannot load ",
                                                     options_.cert_file, " and ", options_.key_file,
                                                     ": ", ec.message()));
    }
  }

  // An exception escaping a connection is a bug in this server: let it end the process.
  asio::co_spawn(io_, AcceptConnections(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  thread_ = std::thread([this] { io_.run(); });
  return absl::OkStatus();
}

void ScriptedModelServer::Impl::Stop() {
  asio::post(io_, [this] {
    stopping_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    for (Connection* connection : connections_) {
      connection->socket.close(ignored);
      connection->timer.cancel();
    }
  });
  // io_context::run returns once every connection's coroutine has seen its socket closed.
  if (thread_.joinable()) thread_.join();
}

std::string ScriptedModelServer::Impl::base_url() const {
  std::string host = options_.host;
  // Certificates name the loopback "localhost"; clients verify the name they connect to.
  if (tls_ && (host == "127.0.0.1" || host == "::1")) host = "localhost";
  if (absl::StrContains(host, ':')) host = absl::StrCat("[", host, "]");
  return absl::StrCat(tls_ ? "https" : "http", "://", host, ":", port_, "/v1");
}

asio::awaitable<void> ScriptedModelServer::Impl::AcceptConnections() {
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (stopping_) co_return;
    if (ec) {
      // Out of descriptors or the like: say so rather than spin.
      absl::MutexLock lock(&mu_);
      unexpected_.push_back(absl::StrCat("accepting connections failed: ", ec.message()));
      co_return;
    }
    {
      absl::MutexLock lock(&mu_);
      ++connections_accepted_;
    }
    asio::co_spawn(io_, ServeConnection(std::move(socket)), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
}

asio::awaitable<void> ScriptedModelServer::Impl::ServeConnection(tcp::socket socket) {
  asio::steady_timer timer(io_);
  Connection connection{socket, timer};
  connections_.insert(&connection);
  error_code ignored;
  // Streamed events are small writes; Nagle's algorithm would hold them back.
  socket.set_option(tcp::no_delay(true), ignored);
  try {
    if (tls_) {
      asio::ssl::stream<tcp::socket&> stream(socket, *tls_);
      co_await stream.async_handshake(asio::ssl::stream_base::server, use_awaitable);
      co_await ServeRequests(stream, timer);
    } else {
      co_await ServeRequests(socket, timer);
    }
  } catch (const boost::system::system_error&) {
    // The client went away, sent something that is not HTTP, or the server is stopping.
  }
  connections_.erase(&connection);
  socket.close(ignored);
}

template <class Stream>
asio::awaitable<void> ScriptedModelServer::Impl::ServeRequests(Stream& stream, asio::steady_timer& timer) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxRequestBody);
    co_await http::async_read_header(stream, buffer, parser, use_awaitable);
    // Clients such as curl hold back a large body (curl for a second) until told to go on.
    if (absl::EqualsIgnoreCase(std::string(parser.get()[http::field::expect]), "100-continue")) {
      co_await http::async_write(stream, http::response<http::empty_body>(http::status::continue_, 11),
                                 use_awaitable);
    }
    co_await http::async_read(stream, buffer, parser, use_awaitable);
    Request request = parser.release();

    {
      absl::MutexLock lock(&mu_);
      max_concurrent_ = std::max(max_concurrent_, ++in_flight_);
    }
    struct EndInFlight {
      Impl* impl;
      ~EndInFlight() {
        absl::MutexLock lock(&impl->mu_);
        --impl->in_flight_;
      }
    } end_in_flight{this};

    if (!co_await Send(stream, timer, request.keep_alive(), Decide(request))) co_return;
  }
}

template <class Stream>
asio::awaitable<bool> ScriptedModelServer::Impl::Send(Stream& stream, asio::steady_timer& timer,
                                                      bool keep_alive, Answer answer) {
  // Stop may already have run (and found no wait to cancel) while this request was being read.
  if (stopping_) co_return false;
  if (answer.delay_ms > 0) {
    timer.expires_after(std::chrono::milliseconds(answer.delay_ms));
    error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
  }
  if (answer.fault == ScriptFault::kStall) {
    co_await DrainUntilClosed(stream);
    co_return false;
  }

  const WireReply& reply = answer.reply;
  const bool truncate = answer.fault == ScriptFault::kTruncate;
  if (reply.streaming) {
    http::response<http::empty_body> head;
    SetHeaders(head, reply, keep_alive);
    head.chunked(true);
    http::response_serializer<http::empty_body> serializer(head);
    co_await http::async_write_header(stream, serializer, use_awaitable);
    // A truncated stream ends halfway: the finish reason, usage and end marker never come.
    const size_t count = truncate ? reply.events.size() / 2 : reply.events.size();
    for (size_t i = 0; i < count; ++i) {
      co_await asio::async_write(stream, http::make_chunk(asio::buffer(reply.events[i])), use_awaitable);
    }
    if (truncate) co_return false;
    co_await asio::async_write(stream, http::make_chunk_last(), use_awaitable);
    co_return keep_alive;
  }
  if (truncate) {
    // Promise the whole body, send half of it, hang up.
    http::response<http::empty_body> head;
    SetHeaders(head, reply, keep_alive);
    head.content_length(reply.body.size());
    http::response_serializer<http::empty_body> serializer(head);
    co_await http::async_write_header(stream, serializer, use_awaitable);
    co_await asio::async_write(stream, asio::buffer(reply.body.data(), reply.body.size() / 2),
                               use_awaitable);
    co_return false;
  }
  http::response<http::string_body> response;
  SetHeaders(response, reply, keep_alive);
  response.body() = reply.body;
  response.prepare_payload();
  co_await http::async_write(stream, response, use_awaitable);
  co_return keep_alive;
}

Answer ScriptedModelServer::Impl::Decide(const Request& request) {
  SeenRequest seen;
  seen.method = std::string(request.method_string());
  seen.path = std::string(request.target());
  for (const auto& field : request) {
    seen.headers[absl::AsciiStrToLower(std::string(field.name_string()))] = std::string(field.value());
  }
  seen.body = request.body();
  seen.conversation = Header(seen, "x-swarm-conversation");

  absl::MutexLock lock(&mu_);
  Answer answer = Choose(seen);
  seen.status = answer.fault == ScriptFault::kStall ? 0 : answer.reply.status;
  requests_.push_back(std::move(seen));
  return answer;
}

Answer ScriptedModelServer::Impl::Choose(const SeenRequest& seen) {
  const std::string where = absl::StrCat("conversation \"", seen.conversation, "\"");
  const std::string call = absl::StrCat(seen.method, " ", seen.path);

  const std::string path = seen.path.substr(0, seen.path.find('?'));
  std::optional<Api> api;
  if (seen.method == "POST" && absl::EndsWith(path, "/chat/completions")) api = Api::kOpenAiChat;
  if (seen.method == "POST" && absl::EndsWith(path, "/messages")) api = Api::kAnthropicMessages;
  if (!api) {
    unexpected_.push_back(absl::StrCat(where, ": ", call, ": no such endpoint"));
    return {scripted::RenderError(Api::kOpenAiChat, ErrorKind::kNotFound,
                                  absl::StrCat("scripted model: no endpoint ", call))};
  }

  // A refused key is a provider's normal answer, not a script failure.
  if (const std::string& key = script_.api_key(); !key.empty()) {
    const bool accepted = *api == Api::kOpenAiChat ? Header(seen, "authorization") == "Bearer " + key
                                                   : Header(seen, "x-api-key") == key;
    if (!accepted) return {scripted::RenderError(*api, ErrorKind::kAuthentication, "invalid API key")};
  }

  const json body = json::parse(seen.body, nullptr, /*allow_exceptions=*/false);
  std::string malformed;
  if (*api == Api::kAnthropicMessages && Header(seen, "anthropic-version").empty()) {
    malformed = "the anthropic-version header is missing";
  } else if (!body.is_object()) {
    malformed = "the body is not a JSON object";
  }
  if (!malformed.empty()) {
    unexpected_.push_back(absl::StrCat(where, ": ", call, ": ", malformed));
    return {scripted::RenderError(*api, ErrorKind::kBadRequest, malformed)};
  }

  int call_number = 0;
  const ScriptStep* step = script_.Take(seen.conversation, &call_number);
  const std::string this_call = absl::StrCat(where, " call ", call_number, ": ", call);
  if (step == nullptr) {
    unexpected_.push_back(absl::StrCat(this_call, ": the script has no step for it"));
    return {scripted::RenderError(*api, ErrorKind::kServer,
                                  absl::StrCat("scripted model: no step for ", this_call))};
  }
  if (!step->expect.empty() && !absl::StrContains(seen.body, step->expect)) {
    unexpected_.push_back(absl::StrCat(this_call, ": the request does not contain \"", step->expect, "\""));
    return {scripted::RenderError(*api, ErrorKind::kServer,
                                  absl::StrCat("scripted model: ", this_call, " lacks \"",
                                               step->expect, "\""))};
  }

  scripted::ReplyContext context;
  context.serial = ++serial_;
  context.created = std::time(nullptr);
  context.model = body.contains("model") && body["model"].is_string()
                      ? body["model"].get<std::string>()
                      : "scripted";
  context.stream = body.contains("stream") && body["stream"] == true;
  const json::json_pointer include_usage("/stream_options/include_usage");
  context.include_usage = body.contains(include_usage) && body[include_usage] == true;
  context.request_bytes = seen.body.size();
  return {scripted::RenderStep(*api, *step, context), step->delay_ms, step->fault};
}

ScriptedModelServer::ScriptedModelServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ScriptedModelServer::~ScriptedModelServer() { impl_->Stop(); }

absl::StatusOr<std::unique_ptr<ScriptedModelServer>> ScriptedModelServer::Start(
    const std::string& script_json, ScriptedServerOptions options) {
  absl::StatusOr<ModelScript> script = ModelScript::Parse(script_json);
  if (!script.ok()) return script.status();
  auto impl = std::make_unique<Impl>(*std::move(script), std::move(options));
  if (absl::Status status = impl->Start(); !status.ok()) return status;
  return std::unique_ptr<ScriptedModelServer>(new ScriptedModelServer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<ScriptedModelServer>> ScriptedModelServer::StartFromFile(
    const std::string& path, ScriptedServerOptions options) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read the model script ", path));
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<std::unique_ptr<ScriptedModelServer>> server = Start(text.str(), std::move(options));
  if (!server.ok()) {
    return absl::Status(server.status().code(), absl::StrCat(path, ": ", server.status().message()));
  }
  return server;
}

std::string ScriptedModelServer::base_url() const { return impl_->base_url(); }
int ScriptedModelServer::port() const { return impl_->port(); }
std::vector<ScriptedModelServer::SeenRequest> ScriptedModelServer::requests() const {
  return impl_->requests();
}
std::vector<std::string> ScriptedModelServer::unexpected() const { return impl_->unexpected(); }
int ScriptedModelServer::max_concurrent() const { return impl_->max_concurrent(); }
int ScriptedModelServer::connections_accepted() const { return impl_->connections_accepted(); }

}  // namespace swarm
