#include "orchestrator/run/cancel_requests.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "testing/test_util.h"

namespace swarm {
namespace {

TEST(CancelRequestsTest, NobodyAskedIsNothingPending) {
  CancelRequests requests;
  EXPECT_FALSE(requests.Pending("").has_value());
  testing::TempDir dir;
  EXPECT_FALSE(requests.Pending(dir.path()).has_value());
}

// --max-run-time: a run whose time is up is asked to stop as by a cancel; one with time left is not.
TEST(CancelRequestsTest, ARunWhoseTimeIsUpIsAskedToStop) {
  CancelRequests none;
  none.StopAfter("");
  EXPECT_FALSE(none.Pending("").has_value());
  CancelRequests later;
  later.StopAfter("1h");
  EXPECT_FALSE(later.Pending("").has_value());
  FakeClock clock;
  CancelRequests now;
  now.StopAfter("90s", clock);
  clock.Advance(std::chrono::seconds(89));
  EXPECT_FALSE(now.Pending("").has_value());
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(now.Pending(""), "the run reached --max-run-time 90s");
  now.Request("a call");
  EXPECT_EQ(now.Pending(""), "a call") << "a call made still says why";
}

TEST(CancelRequestsTest, TheFirstCallWinsOverLaterOnesAndOverTheFile) {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/cancel") << "from the file\n";
  CancelRequests requests;
  requests.Request("first");
  requests.Request("second");
  EXPECT_EQ(requests.Pending(dir.path()), "first");
}

TEST(CancelRequestsTest, TheCancelFileSaysWhyOrJustCancelled) {
  testing::TempDir dir;
  CancelRequests requests;
  std::ofstream(dir.path() + "/cancel") << "the release is today\nmore\n";
  EXPECT_EQ(requests.Pending(dir.path()), "the release is today");
  std::ofstream(dir.path() + "/cancel", std::ios::trunc) << "";
  EXPECT_EQ(requests.Pending(dir.path()), "cancelled");
}

}  // namespace
}  // namespace swarm
