#include "base/duration.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(DurationTest, AWholeNumberAndOneUnit) {
  EXPECT_EQ(*ParseDuration("90s", "--x"), std::chrono::seconds(90));
  EXPECT_EQ(*ParseDuration("30m", "--x"), std::chrono::minutes(30));
  EXPECT_EQ(*ParseDuration("12h", "--x"), std::chrono::hours(12));
  EXPECT_EQ(*ParseDuration("7d", "--x"), std::chrono::hours(7 * 24));
  EXPECT_EQ(*ParseDuration("2w", "--x"), std::chrono::hours(14 * 24));
  EXPECT_EQ(*ParseDuration("0", "--x"), std::chrono::seconds(0));
}

TEST(DurationTest, AnythingElseIsRefusedNamingTheFlag) {
  for (const char* bad : {"", "10", "1.5h", "h", "-1d", "3 d", "1d2h", "9999999999d", "1y"}) {
    absl::StatusOr<std::chrono::seconds> d = ParseDuration(bad, "--older-than");
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().message(), std::string("--older-than takes a duration such as 90s, 30m, 12h, 7d or 2w, not \"") +
                                        bad + "\"");
  }
}

}  // namespace
}  // namespace swarm
