#include "base/file_limit.h"

#include <sys/resource.h>

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(FileLimitTest, RaisesTheSoftLimitUpToTheHardOneAndNeverLowersIt) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  rlimit low = before;
  low.rlim_cur = std::min<rlim_t>(256, before.rlim_max);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);

  FileLimit got = RaiseFileLimit(1u << 30);  // more than any hard limit here
  EXPECT_EQ(got.soft, got.hard);
  EXPECT_GT(got.soft, low.rlim_cur);
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(static_cast<std::uint64_t>(now.rlim_cur), got.soft);

  FileLimit again = RaiseFileLimit(64);  // less than it is: unchanged
  EXPECT_EQ(again.soft, got.soft);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
}

}  // namespace
}  // namespace swarm
