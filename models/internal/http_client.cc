#include "models/internal/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace swarm {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kMaxBody = 64 << 20;  // a model reply is far smaller; a larger one is an error
constexpr std::size_t kMaxIdle = 64;        // idle connections kept for reuse
constexpr auto kConnectTimeout = std::chrono::seconds(10);  // per address tried

// One of the two is set.
struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<ssl::stream<beast::tcp_stream>> tls;
  beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }
};

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct HttpClient::Impl {
  asio::io_context& io;
  ParsedUrl origin;
  ssl::context tls_context{ssl::context::tls_client};
  std::deque<std::unique_ptr<Connection>> idle;

  Impl(asio::io_context& io, ParsedUrl origin) : io(io), origin(std::move(origin)) {}

  // Failures here happen before anything is sent: Unavailable, worth a retry.
  asio::awaitable<absl::StatusOr<std::unique_ptr<Connection>>> Connect() {
    auto c = std::make_unique<Connection>();
    beast::tcp_stream raw(io);
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto endpoints = co_await resolver.async_resolve(origin.host, origin.port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return absl::UnavailableError(absl::StrCat("cannot resolve ", origin.host, ": ", ec.message()));
    for (const auto& endpoint : endpoints) {  // each address gets its own time-out (a dead IPv6 route)
      boost::system::error_code ignored;
      if (raw.socket().is_open()) raw.socket().close(ignored);  // the next address may be another family
      raw.expires_after(kConnectTimeout);
      co_await raw.async_connect(endpoint.endpoint(), asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) break;
    }
    if (ec == beast::error::timeout) co_return absl::UnavailableError(absl::StrCat("connecting to ", origin.host, " timed out"));
    if (ec) co_return absl::UnavailableError(absl::StrCat("cannot connect to ", origin.host, ":", origin.port, ": ", ec.message()));
    raw.socket().set_option(tcp::no_delay(true), ec);
    if (!origin.tls) {
      c->plain = std::make_unique<beast::tcp_stream>(std::move(raw));
      co_return c;
    }
    c->tls = std::make_unique<ssl::stream<beast::tcp_stream>>(std::move(raw), tls_context);
    SSL* native = c->tls->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (IsIpLiteral(origin.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, origin.host.c_str());
    } else {
      SSL_set_tlsext_host_name(native, origin.host.c_str());  // SNI
      X509_VERIFY_PARAM_set1_host(param, origin.host.c_str(), 0);
    }
    c->tls->set_verify_mode(ssl::verify_peer);
    c->tls->next_layer().expires_after(kConnectTimeout);
    co_await c->tls->async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == beast::error::timeout) co_return absl::UnavailableError(absl::StrCat("TLS handshake with ", origin.host, " timed out"));
    if (ec) {
      const long verify = SSL_get_verify_result(native);
      if (verify != X509_V_OK) {
        co_return absl::PermissionDeniedError(absl::StrCat("TLS: the certificate of ", origin.host, " was refused: ",
                                                           X509_verify_cert_error_string(verify)));
      }
      co_return absl::UnavailableError(absl::StrCat("TLS handshake with ", origin.host, " failed: ", ec.message()));
    }
    co_return c;
  }

  template <typename Stream>
  asio::awaitable<absl::StatusOr<HttpResponse>> Exchange(Stream& stream, Connection& c,
                                                         http::request<http::string_body>& req,
                                                         std::chrono::milliseconds idle,
                                                         std::chrono::steady_clock::time_point deadline,
                                                         const BodySink& sink, bool& keep_alive, bool& got_reply) {
    // Silence times out after `idle`; the whole exchange, at `deadline`.
    auto expire = [&] { c.tcp().expires_at(std::min(std::chrono::steady_clock::now() + idle, deadline)); };
    boost::system::error_code ec;
    expire();
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == beast::error::timeout) co_return absl::DeadlineExceededError("sending the request timed out");
    if (ec) co_return absl::UnavailableError(absl::StrCat("sending the request failed: ", ec.message()));

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(kMaxBody);
    expire();
    co_await http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == beast::error::timeout) co_return absl::DeadlineExceededError("no reply before the time-out");
    if (ec) co_return absl::UnavailableError(absl::StrCat("the connection ended before a reply: ", ec.message()));
    got_reply = true;

    HttpResponse response;
    response.status = static_cast<int>(parser.get().result_int());
    for (const auto& field : parser.get()) {
      response.headers[absl::AsciiStrToLower(std::string(field.name_string()))] = std::string(field.value());
    }
    const bool to_sink = sink != nullptr && response.status / 100 == 2;
    std::size_t total = 0;
    char chunk[16384];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      expire();  // a long reply may stream for long; silence (or the whole deadline) is what times out
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t n = sizeof chunk - parser.get().body().size;
      total += n;
      if (n > 0) {
        if (to_sink) {
          sink(std::string_view(chunk, n));
        } else {
          response.body.append(chunk, n);
        }
      }
      if (ec == beast::error::timeout) co_return absl::DeadlineExceededError("the reply did not finish before the time-out");
      if (ec) {
        co_return absl::DataLossError(absl::StrCat("the reply was cut off after ", total, " bytes: ", ec.message()));
      }
    }
    keep_alive = parser.keep_alive();
    co_return response;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;


absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(asio::io_context& io, const ParsedUrl& origin,
                                                               const std::string& ca_file) {
  auto impl = std::make_unique<Impl>(io, origin);
  boost::system::error_code ec;
  if (!ca_file.empty()) {
    impl->tls_context.load_verify_file(ca_file, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot load ca_file ", ca_file, ": ", ec.message()));
  } else {
    impl->tls_context.set_default_verify_paths(ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot load the system's CA store: ", ec.message()));
  }
  impl->tls_context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

asio::awaitable<absl::StatusOr<HttpResponse>> HttpClient::Post(HttpRequest request, std::chrono::milliseconds timeout,
                                                               std::chrono::milliseconds total, BodySink sink) {
  Impl& impl = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + total;
  http::request<http::string_body> req{http::verb::post, request.path, 11};
  const bool default_port = impl.origin.port == (impl.origin.tls ? "443" : "80");
  const std::string host = impl.origin.host.find(':') != std::string::npos ? "[" + impl.origin.host + "]" : impl.origin.host;
  req.set(http::field::host, default_port ? host : absl::StrCat(host, ":", impl.origin.port));
  req.set(http::field::user_agent, "swarm/0.1");
  req.keep_alive(true);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = std::move(request.body);
  req.prepare_payload();

  // A reused connection may have been closed by the server while idle; that is only known when the
  // request fails before any reply, and then one fresh connection is tried.
  for (int round = 0;; ++round) {
    std::unique_ptr<Connection> c;
    const bool reused = !impl.idle.empty();
    if (reused) {
      c = std::move(impl.idle.back());
      impl.idle.pop_back();
    } else {
      absl::StatusOr<std::unique_ptr<Connection>> fresh = co_await impl.Connect();
      if (!fresh.ok()) co_return fresh.status();
      c = std::move(*fresh);
    }
    bool keep_alive = false;
    bool got_reply = false;
    // (Not a conditional expression: GCC 12 miscompiles co_await inside one.)
    absl::StatusOr<HttpResponse> response = absl::UnknownError("unreached");
    if (c->tls) {
      response = co_await impl.Exchange(*c->tls, *c, req, timeout, deadline, sink, keep_alive, got_reply);
    } else {
      response = co_await impl.Exchange(*c->plain, *c, req, timeout, deadline, sink, keep_alive, got_reply);
    }
    if (response.ok() && keep_alive && impl.idle.size() < kMaxIdle) {
      c->tcp().expires_never();
      impl.idle.push_back(std::move(c));
    }
    if (!response.ok() && reused && !got_reply && round == 0 && absl::IsUnavailable(response.status())) continue;
    co_return response;
  }
}

}  // namespace swarm
