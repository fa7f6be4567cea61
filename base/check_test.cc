#include "base/check.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace swarm {
namespace {

TEST(CheckTest, AHeldInvariantCostsNothingVisible) {
  std::map<std::string, int> m = {{"a", 1}};
  SWARM_CHECK(m.size() == 1) << "never printed";
  EXPECT_EQ(MustFind(m, std::string("a"), "subtask"), 1);
  MustFind(m, std::string("a"), "subtask") = 2;
  EXPECT_EQ(m["a"], 2);
}

TEST(CheckDeathTest, ABrokenInvariantAbortsNamingItsPlaceAndContext) {
  std::map<std::string, int> m;
  EXPECT_DEATH(MustFind(m, std::string("ghost"), "subtask"),
               "invariant broken at .*check.h:[0-9]+: .*subtask ghost is unknown");
  EXPECT_DEATH({ SWARM_CHECK(1 + 1 == 3) << "arithmetic"; }, "1 \\+ 1 == 3: arithmetic");
}

}  // namespace
}  // namespace swarm
