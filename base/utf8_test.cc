#include "base/utf8.h"

#include "gtest/gtest.h"

namespace swarm {
namespace {

TEST(Utf8Test, OneLineIsCappedAndCutBetweenCharacters) {
  EXPECT_EQ(OneLine("ab\tc\r\n", 200), "ab c  ");
  EXPECT_EQ(OneLine(std::string(300, 'x'), 200).size(), 200u);
  const std::string cut = OneLine("\u00e9\u00e9\u00e9\u00e9", 6);  // 8 bytes
  EXPECT_EQ(cut, "\u00e9...");
}

}  // namespace
}  // namespace swarm
