#include "orchestrator/run/cancel_requests.h"

#include <gtest/gtest.h>

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
