#include "orchestrator/web/http_server.h"

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
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace swarm {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;
using asio::ip::tcp;
using boost::system::error_code;

constexpr std::uint32_t kMaxHeader = 8 << 10;
constexpr std::uint64_t kMaxBody = 64 << 10;
constexpr auto kIoTimeout = std::chrono::seconds(30);      // to send a request's body, to take an answer
constexpr auto kHeaderTimeout = std::chrono::seconds(10);  // to send a request's head, or idle between requests
constexpr size_t kMaxConnections = 256;
constexpr int kMaxConnectionsPerPeer = 16;
constexpr int kMaxStreams = 64;
constexpr int kMaxStreamsPerPeer = 8;                   // on a non-loopback address
constexpr auto kStreamPing = std::chrono::seconds(15);  // a comment line keeps proxies from closing a quiet stream

// Every answer's headers: nothing it sends is to be cached, sniffed as another type, framed, or
// allowed to run what the page did not bring itself.
template <class Body>
void Harden(http::response<Body>& r) {
  r.set(http::field::cache_control, "no-store");
  r.set("X-Content-Type-Options", "nosniff");
  r.set("X-Frame-Options", "DENY");
  r.set("Referrer-Policy", "no-referrer");
  r.set("Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
}

// Whether a request's Host names a loopback host (any port), as a browser sends it for 127.0.0.1,
// localhost or [::1]. A request without one (HTTP/1.0, curl -H 'Host:') is let through.
bool LoopbackHostHeader(const std::string& host) {
  if (host.empty()) return true;
  std::string name = absl::AsciiStrToLower(host);
  if (name.front() == '[') {
    name = name.substr(1, name.find(']') == std::string::npos ? std::string::npos : name.find(']') - 1);
  } else if (name.find(':') != std::string::npos) {
    name = name.substr(0, name.find(':'));
  }
  if (!name.empty() && name.back() == '.') name.pop_back();  // "localhost." is localhost
  return IsLoopbackHost(name);
}

}  // namespace

std::string WebRequest::Header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "";
}

WebResponse WebResponse::Text(int status, std::string body) {
  WebResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not HOST:PORT (such as 127.0.0.1:8080, or [::1]:8080)"));
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad();
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535 ||
      address.substr(colon + 1).find_first_not_of("0123456789") != std::string::npos) {
    return bad();
  }
  std::string host = address.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return bad();  // an IPv6 address needs its brackets
  }
  return std::make_pair(host, port);
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  error_code ec;
  const asio::ip::address a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

struct HttpServer::Impl {
  Impl(Handler handler) : handler(std::move(handler)) {}

  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(tcp::socket socket, asio::ip::address peer);
  template <class Stream>
  asio::awaitable<void> ServeRequests(Stream& stream, asio::ip::address peer);
  WebResponse Answer(const http::request<http::string_body>& request);
  template <class Stream>
  asio::awaitable<void> SendStream(Stream& stream, unsigned version, WebResponse answer, asio::ip::address peer);

  // Set at construction and by Start.
  const Handler handler;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<asio::ssl::context> tls;
  std::string url;
  std::thread thread;

  // Owned by the io thread.
  bool stopping = false;
  std::set<beast::tcp_stream*> connections;
  std::map<asio::ip::address, int> per_peer;  // connections open, by the client's address
  size_t open = 0;                            // connections accepted and not yet ended
  std::atomic<int> streams{0};                // answers being streamed now (read by other threads)
  std::map<asio::ip::address, int> streams_per_peer;  // of them, by the client's address
  bool loopback = false;                      // the listening address is loopback
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const WebServerOptions& options, Handler handler) {
  absl::StatusOr<std::pair<std::string, int>> split = SplitHostPort(options.listen);
  if (!split.ok()) return split.status();
  auto [host, port] = *split;
  const bool loopback = IsLoopbackHost(host);
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("HTTPS needs both a certificate and its key (--tls-cert and --tls-key)");
  }
  const bool use_tls = !options.tls_cert.empty();
  if (!loopback && !use_tls) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http ", options.listen,
        " is not a loopback address: serving it needs TLS (--tls-cert and --tls-key), or listen on 127.0.0.1"));
  }
  auto impl = std::make_unique<Impl>(std::move(handler));
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrCat("--http ", options.listen, ": \"", host, "\" is not an IP address"));
  const tcp::endpoint endpoint(address, static_cast<std::uint16_t>(port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen, ": ", ec.message()));
  if (use_tls) {
    impl->tls.emplace(asio::ssl::context::tls_server);
    impl->tls->set_options(asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    impl->tls->use_certificate_chain_file(options.tls_cert, ec);
    if (!ec) impl->tls->use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load ", options.tls_cert, " and ", options.tls_key, ": ", ec.message()));
    }
  }
  impl->loopback = loopback;
  const std::string shown = address.is_v6() ? absl::StrCat("[", host, "]") : host;
  impl->url = absl::StrCat(use_tls ? "https" : "http", "://", shown, ":", impl->acceptor.local_endpoint().port());
  Impl* raw = impl.get();
  // An exception escaping a connection is a bug in this server: let it end the process.
  asio::co_spawn(raw->io, raw->Accept(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  raw->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    impl->stopping = true;
    error_code ignored;
    impl->acceptor.close(ignored);
    for (beast::tcp_stream* c : impl->connections) c->socket().close(ignored);
  });
  if (impl->thread.joinable()) impl->thread.join();
}

std::string HttpServer::url() const { return impl_->url; }

int HttpServer::open_streams() const { return impl_->streams.load(); }

asio::awaitable<void> HttpServer::Impl::Accept() {
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (stopping) co_return;
    if (ec) {
      // Out of descriptors, most likely: wait a little rather than spin, and go on.
      asio::steady_timer pause(io, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      if (stopping) co_return;
      continue;
    }
    // Closed as `socket` goes: too many at once, or too many from one client (on a public address:
    // on loopback every client is 127.0.0.1). Counted here, not in Serve: a burst counts as it comes.
    if (open >= kMaxConnections) continue;
    error_code peer_ec;
    const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    if (peer_ec || (!loopback && per_peer[peer.address()] >= kMaxConnectionsPerPeer)) continue;
    ++per_peer[peer.address()];
    ++open;
    asio::co_spawn(io, Serve(std::move(socket), peer.address()), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
}

asio::awaitable<void> HttpServer::Impl::Serve(tcp::socket socket, asio::ip::address peer) {
  struct Uncount {
    Impl* impl;
    asio::ip::address peer;
    ~Uncount() {
      --impl->open;
      if (--impl->per_peer[peer] <= 0) impl->per_peer.erase(peer);
    }
  } uncount{this, peer};
  if (stopping) co_return;  // started after the server's stop closed the others
  beast::tcp_stream stream(std::move(socket));
  connections.insert(&stream);
  try {
    if (tls) {
      beast::ssl_stream<beast::tcp_stream&> secure(stream, *tls);
      stream.expires_after(kIoTimeout);
      co_await secure.async_handshake(asio::ssl::stream_base::server, use_awaitable);
      co_await ServeRequests(secure, peer);
    } else {
      co_await ServeRequests(stream, peer);
    }
  } catch (const boost::system::system_error&) {
    // The client went away, was too slow, sent what is not HTTP, or the server is stopping.
  }
  connections.erase(&stream);
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::ServeRequests(Stream& s, asio::ip::address peer) {
  beast::flat_buffer buffer;
  beast::tcp_stream& stream = beast::get_lowest_layer(s);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeader);
    parser.body_limit(kMaxBody);
    stream.expires_after(kHeaderTimeout);
    error_code ec;
    co_await http::async_read_header(s, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (!ec && !parser.is_done()) {
      stream.expires_after(kIoTimeout);
      co_await http::async_read(s, buffer, parser, asio::redirect_error(use_awaitable, ec));
    }
    if (ec == http::error::end_of_stream || stopping) co_return;
    http::response<http::string_body> response;
    bool keep_alive = false;
    if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::buffer_overflow) {
      response = http::response<http::string_body>(http::status::payload_too_large, 11);
      response.body() = "the request is too large\n";
    } else if (ec) {
      co_return;  // not HTTP, or the client went away: nothing to answer
    } else if (loopback && !LoopbackHostHeader(std::string(parser.get()[http::field::host]))) {
      // A page elsewhere that renamed itself to 127.0.0.1 (DNS rebinding) must not read what is here.
      response = http::response<http::string_body>(http::status::misdirected_request, 11);
      response.body() = "this server answers requests for a loopback host only\n";
    } else {
      keep_alive = parser.get().keep_alive();
      WebResponse answer = Answer(parser.get());
      if (answer.stream && parser.get().method() != http::verb::head) {
        co_await SendStream(s, parser.get().version(), std::move(answer), peer);
        co_return;  // a stream ends with its connection
      }
      response = http::response<http::string_body>(static_cast<http::status>(answer.status), parser.get().version());
      response.set(http::field::server, "swarm");
      response.set(http::field::content_type, answer.content_type);
      Harden(response);
      for (const auto& [name, value] : answer.headers) response.set(name, value);
      if (parser.get().method() != http::verb::head) response.body() = std::move(answer.body);
    }
    response.keep_alive(keep_alive);
    response.prepare_payload();
    stream.expires_after(kIoTimeout);
    co_await http::async_write(s, response, use_awaitable);
    if (!keep_alive) co_return;
  }
}

WebResponse HttpServer::Impl::Answer(const http::request<http::string_body>& request) {
  WebRequest in;
  in.method = std::string(request.method_string());
  const std::string target(request.target());
  const size_t q = target.find('?');
  in.path = target.substr(0, q);
  if (q != std::string::npos) in.query = target.substr(q + 1);
  for (const auto& field : request)
    in.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())), std::string(field.value()));
  in.body = request.body();
  try {
    return handler(in);
  } catch (const std::exception&) {
    // A bug in a handler answers 500 rather than end the process that serves (a run's coordinator).
    return WebResponse::Text(500, "the server failed to answer\n");
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::SendStream(Stream& s, unsigned version, WebResponse answer,
                                                   asio::ip::address peer) {
  beast::tcp_stream& stream = beast::get_lowest_layer(s);
  stream.expires_after(kIoTimeout);
  // On a public address one client may not hold every stream (on loopback every client is 127.0.0.1).
  if (streams >= kMaxStreams || (!loopback && streams_per_peer[peer] >= kMaxStreamsPerPeer)) {
    if (streams_per_peer[peer] == 0) streams_per_peer.erase(peer);
    http::response<http::string_body> busy(http::status::service_unavailable, version);
    busy.set(http::field::content_type, "text/plain; charset=utf-8");
    busy.set(http::field::retry_after, "5");
    Harden(busy);
    busy.body() = "too many streams open; try again shortly\n";
    busy.keep_alive(false);
    busy.prepare_payload();
    co_await http::async_write(s, busy, use_awaitable);
    co_return;
  }
  struct Count {
    Impl* impl;
    asio::ip::address peer;
    Count(Impl* impl, asio::ip::address peer) : impl(impl), peer(peer) {
      ++impl->streams;
      ++impl->streams_per_peer[peer];
    }
    ~Count() {
      --impl->streams;
      if (--impl->streams_per_peer[peer] <= 0) impl->streams_per_peer.erase(peer);
    }
  } count(this, peer);
  // The body runs to the connection's end: no length, no chunks, and no keep-alive.
  http::response<http::empty_body> head(static_cast<http::status>(answer.status), version);
  head.set(http::field::server, "swarm");
  head.set(http::field::content_type, answer.content_type);
  Harden(head);
  for (const auto& [name, value] : answer.headers) head.set(name, value);
  head.keep_alive(false);
  http::response_serializer<http::empty_body> serializer(head);
  co_await http::async_write_header(s, serializer, use_awaitable);
  std::string out = std::move(answer.body);
  asio::steady_timer wait(io);
  auto quiet_since = std::chrono::steady_clock::now();
  for (bool more = true; more && !stopping;) {
    try {
      more = answer.stream(out);
    } catch (const std::exception&) {
      more = false;  // a bug in the stream ends it, not the process; the client reconnects
    }
    if (out.empty() && std::chrono::steady_clock::now() - quiet_since >= kStreamPing) out = ":\n\n";
    if (!out.empty()) {
      stream.expires_after(kIoTimeout);
      co_await asio::async_write(s, asio::buffer(out), use_awaitable);
      out.clear();
      quiet_since = std::chrono::steady_clock::now();
    }
    if (!more) break;
    stream.expires_never();  // the timer below, not the stream, decides when the next look is
    wait.expires_after(std::chrono::milliseconds(answer.stream_poll_ms));
    co_await wait.async_wait(use_awaitable);
  }
}

}  // namespace swarm
