// An HTTP/1.1 client for one origin (scheme, host, port) over Boost.Beast, with TLS by OpenSSL: SNI,
// certificate and hostname verification against the system's CA store or a given CA file, keep-alive
// connections reused across requests, and a time-out per request. Runs on the caller's io_context,
// one request per coroutine; not thread-safe (the gateway owns it on its own thread).
#ifndef SWARM_MODELS_INTERNAL_HTTP_CLIENT_H_
#define SWARM_MODELS_INTERNAL_HTTP_CLIENT_H_

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_config.h"

namespace swarm {

struct HttpRequest {
  std::string path;  // absolute path, e.g. /v1/chat/completions
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent as POST
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;  // empty when the body went to a BodySink
};

// Receives a 2xx body piece by piece as it arrives (server-sent events). Other statuses' bodies are
// collected into HttpResponse::body instead, for their error messages.
using BodySink = std::function<void(std::string_view)>;

class HttpClient {
 public:
  // Fails (InvalidArgument) when `ca_file` cannot be loaded.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(boost::asio::io_context& io, const ParsedUrl& origin,
                                                            const std::string& ca_file);
  ~HttpClient();

  // `timeout` is the longest silence from the server once the request is sent, `total` the longest
  // the exchange may take (a stream of keep-alive comments does not last forever). Errors: Unavailable
  // (nothing was sent: could not connect, or the connection was reset or closed before a reply),
  // DeadlineExceeded (the request was sent and the server went silent), DataLoss (the reply started
  // and was cut off), PermissionDenied (the server's certificate was refused; never worth a retry).
  boost::asio::awaitable<absl::StatusOr<HttpResponse>> Post(HttpRequest request, std::chrono::milliseconds timeout,
                                                            std::chrono::milliseconds total, BodySink sink = nullptr);

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swarm

#endif  // SWARM_MODELS_INTERNAL_HTTP_CLIENT_H_
