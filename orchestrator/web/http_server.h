// The HTTP server behind `swarm serve --http` (docs/metrics.md): HTTP/1.1 on its own thread, plain
// on a loopback address and TLS elsewhere (a non-loopback address without a certificate is refused),
// answering each request with a Handler. It knows nothing of runs: web_routes.h says what each path
// answers.
//
// What a client can make it hold is capped: a request's head at 8 KiB and its body at 64 KiB, 10 s
// to send a request's head, 30 s for the rest and to take each part of an answer, 256 connections at
// once, 16 from one client address on a non-loopback address (more are closed at once), 64 streams at
// once and 8 from one client address on a non-loopback address (more are answered 503). On a loopback address only
// requests for a loopback Host are answered.
#ifndef SWARM_ORCHESTRATOR_WEB_HTTP_SERVER_H_
#define SWARM_ORCHESTRATOR_WEB_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace swarm {

struct WebRequest {
  std::string method = "";                                        // GET, POST, ...
  std::string path = "";                                          // the target without its query, not decoded
  std::string query = "";                                         // after '?', not decoded
  std::vector<std::pair<std::string, std::string>> headers = {};  // names in lower case
  std::string body = "";

  // The first header named `name` (lower case); empty when there is none.
  std::string Header(const std::string& name) const;
};

struct WebResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beside the ones every answer gets
  // A stream (server-sent events): after `body`, the server calls `stream` on its thread every
  // `stream_poll` and sends what it appended to its argument, until it returns false or the client
  // goes away; then the connection closes. It must not block for long.
  std::function<bool(std::string& more)> stream = nullptr;
  int stream_poll_ms = 250;

  static WebResponse Text(int status, std::string body);
};

struct WebServerOptions {
  std::string listen = "";    // HOST:PORT; [::1]:PORT for IPv6; port 0 picks a free one
  std::string tls_cert = "";  // PEM files; both or neither. Required unless `listen` is loopback
  std::string tls_key = "";
};

class HttpServer final {
 public:
  // Runs on the server's thread, one request at a time; must not block for long.
  using Handler = std::function<WebResponse(const WebRequest&)>;

  // Listens and starts the thread. InvalidArgument for an address that is not HOST:PORT, a
  // non-loopback one without TLS, or certificate files that do not load; Unavailable when the
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const WebServerOptions& options, Handler handler);
  ~HttpServer();  // stops listening, closes every connection and joins the thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // http(s)://HOST:PORT with the port bound (no trailing slash).
  std::string url() const;
  // Answers being streamed now. Thread-safe.
  int open_streams() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Splits HOST:PORT ([v6]:PORT); InvalidArgument naming `address` when it is not one.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address);
// Whether `host` (as SplitHostPort gives it) is loopback: 127.0.0.0/8, ::1 or localhost.
bool IsLoopbackHost(const std::string& host);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_WEB_HTTP_SERVER_H_
