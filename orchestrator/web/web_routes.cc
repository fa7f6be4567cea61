#include "orchestrator/web/web_routes.h"

#include "base/metrics.h"

namespace swarm {

WebResponse AnswerWebRequest(const WebRequest& request) {
  if (request.path != "/metrics" && request.path != "/healthz") {
    return WebResponse::Text(404, "not found: this server answers /metrics and /healthz\n");
  }
  if (request.method != "GET" && request.method != "HEAD") {
    WebResponse r = WebResponse::Text(405, "only GET and HEAD\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (request.path == "/healthz") return WebResponse::Text(200, "ok\n");
  WebResponse r = WebResponse::Text(200, metrics::Metrics().Text());
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

}  // namespace swarm
