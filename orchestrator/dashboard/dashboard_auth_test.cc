#include "orchestrator/dashboard/dashboard_auth.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

WebRequest With(std::vector<std::pair<std::string, std::string>> headers) {
  WebRequest r;
  r.headers = std::move(headers);
  return r;
}

TEST(DashboardAuthTest, TheTokenComesByHeaderOrCookie) {
  const std::string token(40, 'x');
  EXPECT_TRUE(Authorized(With({{"authorization", "Bearer " + token}}), token));
  EXPECT_TRUE(Authorized(With({{"authorization", "bearer " + token}}), token));
  EXPECT_TRUE(Authorized(
      With({{"host", "127.0.0.1:7"}, {"cookie", "a=b; swarm_session_7=" + SessionValue(token) + "; c=d"}}), token));
  EXPECT_FALSE(Authorized(With({{"authorization", "Bearer " + token + "y"}}), token));
  EXPECT_FALSE(
      Authorized(With({{"host", "127.0.0.1:7"}, {"cookie", "xswarm_session_7=" + SessionValue(token)}}), token));
  EXPECT_EQ(SessionValue(token).size(), 64u);
  EXPECT_NE(SessionValue(token), SessionValue(token + "z"));
  EXPECT_FALSE(Authorized(With({}), token));
  EXPECT_FALSE(Authorized(With({{"authorization", "Bearer "}}), ""));  // no token: nobody
}

TEST(DashboardAuthTest, AChangeMustComeFromTheDashboardsOwnPage) {
  EXPECT_FALSE(SameOriginRequest(With({{"host", "127.0.0.1:1"}})));
  EXPECT_TRUE(SameOriginRequest(With({{"host", "127.0.0.1:1"}, {"x-swarm-request", "1"}})));
  EXPECT_TRUE(
      SameOriginRequest(With({{"host", "127.0.0.1:1"}, {"x-swarm-request", "1"}, {"origin", "http://127.0.0.1:1"}})));
  EXPECT_FALSE(
      SameOriginRequest(With({{"host", "127.0.0.1:1"}, {"x-swarm-request", "1"}, {"origin", "http://127.0.0.1:2"}})));
  EXPECT_FALSE(SameOriginRequest(With({{"host", "127.0.0.1:1"}, {"x-swarm-request", "1"}, {"origin", "null"}})));
}

TEST(DashboardAuthTest, QueryParametersArePercentDecoded) {
  EXPECT_EQ(QueryParameter("a=1&token=x%2By+z", "token"), "x+y z");
  EXPECT_EQ(QueryParameter("token", "token"), "");
  EXPECT_EQ(QueryParameter("a=1", "token"), std::nullopt);
  EXPECT_EQ(QueryParameter("", "token"), std::nullopt);
}

}  // namespace
}  // namespace swarm
