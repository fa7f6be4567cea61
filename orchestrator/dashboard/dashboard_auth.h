// Who may see what on the dashboard. Without the token a client sees status (runs, subtasks, states,
// counts, cost); logs, transcripts, prompts and cancel need it. The token is the Control API's: sent
// as `Authorization: Bearer TOKEN`, or once in a page's URL (`?token=TOKEN`), which the server answers
// with a cookie (HttpOnly, SameSite=Strict) and a redirect to the same page without it. Cookies are not
// kept apart by port, so the cookie is named after the server's port and holds an HMAC of the token,
// never the token itself: another server on the same host (which gets every cookie of the host) learns
// nothing that opens the Control API.
#ifndef SWARM_ORCHESTRATOR_DASHBOARD_DASHBOARD_AUTH_H_
#define SWARM_ORCHESTRATOR_DASHBOARD_DASHBOARD_AUTH_H_

#include <optional>
#include <string>

#include "orchestrator/web/http_server.h"

namespace swarm {

// The session cookie's name for the server a request was sent to: kSessionCookiePrefix and the port
// of its Host ("swarm_session_8080").
inline constexpr char kSessionCookiePrefix[] = "swarm_session_";
std::string SessionCookieName(const WebRequest& request);
// What the session cookie holds for `token`: HMAC-SHA256(token, "swarm dashboard session"), hex.
std::string SessionValue(const std::string& token);
// The header the dashboard's own pages send with every request that changes something. A page of
// another site cannot send it without the server's leave (CORS), which this server never gives.
inline constexpr char kCsrfHeader[] = "x-swarm-request";

// Whether the request carries `token` (header or cookie). An empty `token` authorises nobody.
bool Authorized(const WebRequest& request, const std::string& token);

// Whether a request that changes something comes from the dashboard's own page: it has kCsrfHeader,
// and its Origin, when sent, is the server's own (the Host it was sent to).
bool SameOriginRequest(const WebRequest& request);

// The value of the query's parameter `name`, percent-decoded; nullopt when absent.
std::optional<std::string> QueryParameter(const std::string& query, const std::string& name);

// A page's URL carried the token: a redirect to the page without it that sets the session cookie
// (Secure when `secure`), or 401 when it is not the token.
WebResponse SignIn(const WebRequest& request, const std::string& token, bool secure);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_DASHBOARD_DASHBOARD_AUTH_H_
