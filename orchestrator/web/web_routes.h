// The HTTP server's paths for machines (docs/metrics.md); the dashboard (orchestrator/dashboard/)
// answers these through it, and the rest itself:
//   GET /metrics   the process's Prometheus metrics (base/metrics.h), text exposition format 0.0.4
//   GET /healthz   "ok": the server is up
// Anything else is 404, a method other than GET or HEAD 405. Neither path needs the Control API's
// token: they show counts, never a log, a prompt or a name an agent chose.
#ifndef SWARM_ORCHESTRATOR_WEB_WEB_ROUTES_H_
#define SWARM_ORCHESTRATOR_WEB_WEB_ROUTES_H_

#include "orchestrator/web/http_server.h"

namespace swarm {

WebResponse AnswerWebRequest(const WebRequest& request);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_WEB_WEB_ROUTES_H_
