#include "orchestrator/web/web_routes.h"

#include "base/metrics.h"
#include "gtest/gtest.h"

namespace swarm {
namespace {

TEST(WebRoutesTest, MetricsAreTheProcessRegistryInTheExpositionFormat) {
  metrics::Metrics().CounterFamily("swarm_web_routes_test_total", "A counter of this test.").Get().Add(7);
  WebResponse r = AnswerWebRequest({.method = "GET", .path = "/metrics"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("# TYPE swarm_web_routes_test_total counter\nswarm_web_routes_test_total 7\n"),
            std::string::npos)
      << r.body;
}

TEST(WebRoutesTest, OtherPathsAndMethodsAreRefused) {
  EXPECT_EQ(AnswerWebRequest({.method = "GET", .path = "/healthz"}).status, 200);
  EXPECT_EQ(AnswerWebRequest({.method = "GET", .path = "/etc/passwd"}).status, 404);
  WebResponse post = AnswerWebRequest({.method = "POST", .path = "/metrics"});
  EXPECT_EQ(post.status, 405);
  ASSERT_EQ(post.headers.size(), 1u);
  EXPECT_EQ(post.headers[0].second, "GET, HEAD");
}

}  // namespace
}  // namespace swarm
