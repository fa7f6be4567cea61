#include "orchestrator/dashboard/dashboard_auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/tokens_equal.h"

namespace swarm {
namespace {

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%' && i + 2 < in.size() && absl::ascii_isxdigit(in[i + 1]) &&
               absl::ascii_isxdigit(in[i + 2])) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// The cookie's value in a Cookie header ("a=1; swarm_token=...; b=2"); empty when absent.
std::string CookieValue(const std::string& header, const std::string& name) {
  for (const std::string& raw : std::vector<std::string>(absl::StrSplit(header, ';'))) {
    const std::string part(absl::StripAsciiWhitespace(raw));
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
  }
  return "";
}

}  // namespace

std::optional<std::string> QueryParameter(const std::string& query, const std::string& name) {
  for (const std::string& part : std::vector<std::string>(absl::StrSplit(query, '&'))) {
    const size_t eq = part.find('=');
    if (PercentDecode(part.substr(0, eq)) != name) continue;
    return eq == std::string::npos ? std::string() : PercentDecode(part.substr(eq + 1));
  }
  return std::nullopt;
}

std::string SessionCookieName(const WebRequest& request) {
  const std::string host = request.Header("host");
  const size_t colon = host.rfind(':');
  std::string port = colon == std::string::npos || host.back() == ']' ? "80" : host.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) port = "80";
  return kSessionCookiePrefix + port;
}

std::string SessionValue(const std::string& token) {
  static constexpr char kPurpose[] = "swarm dashboard session";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()), reinterpret_cast<const unsigned char*>(kPurpose),
       sizeof(kPurpose) - 1, mac, &size);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

bool Authorized(const WebRequest& request, const std::string& token) {
  if (token.empty()) return false;
  const std::string header = request.Header("authorization");
  if (absl::StartsWithIgnoreCase(header, "Bearer ") && TokensEqual(header.substr(7), token)) return true;
  const std::string cookie = CookieValue(request.Header("cookie"), SessionCookieName(request));
  return !cookie.empty() && TokensEqual(cookie, SessionValue(token));
}

bool SameOriginRequest(const WebRequest& request) {
  if (request.Header(kCsrfHeader).empty()) return false;
  const std::string origin = request.Header("origin");
  if (origin.empty()) return true;  // not a browser's cross-site request: those always name their origin
  const size_t scheme = origin.find("://");
  if (scheme == std::string::npos) return false;
  return absl::EqualsIgnoreCase(origin.substr(scheme + 3), request.Header("host"));
}

WebResponse SignIn(const WebRequest& request, const std::string& token, bool secure) {
  const std::optional<std::string> given = QueryParameter(request.query, "token");
  if (!given || token.empty() || !TokensEqual(*given, token)) {
    return WebResponse::Text(401, "that is not this server's token (swarm serve keeps it in control.token)\n");
  }
  WebResponse r = WebResponse::Text(303, "signed in\n");
  // The path only: the query held the token, and nothing else of it matters to a page.
  // One leading slash: "//elsewhere" would send the browser to another site.
  // A backslash is a slash to browsers: a path with one goes to the start page.
  const size_t start = request.path.find_first_not_of('/');
  const bool plain = start != std::string::npos && request.path.find('\\') == std::string::npos;
  r.headers.emplace_back("Location", plain ? "/" + request.path.substr(start) : "/");
  r.headers.emplace_back("Set-Cookie", absl::StrCat(SessionCookieName(request), "=", SessionValue(token),
                                                    "; Path=/; HttpOnly; SameSite=Strict", secure ? "; Secure" : ""));
  return r;
}

}  // namespace swarm
