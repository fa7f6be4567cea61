#include "base/inert_text.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

const std::string kZw = "\xE2\x80\x8B";

TEST(InertTextTest, ClosingWordsThatNameAnIssueAndMentionsAreMadeInert) {
  EXPECT_EQ(Inert("Fixes #3, closes https://x/4; resolved: #5"),
            "F" + kZw + "ixes #3, c" + kZw + "loses https://x/4; r" + kZw + "esolved: #5");
  EXPECT_EQ(Inert("Implements group/sub/project#7 and closing owner/repo#8"),
            "I" + kZw + "mplements group/sub/project#7 and c" + kZw + "losing owner/repo#8");
  EXPECT_EQ(Inert("cc @team and @x"), "cc @" + kZw + "team and @" + kZw + "x");
}

TEST(InertTextTest, OrdinaryWordsCodeAndAddressesStayAsTheyAre) {
  for (const std::string text :
       {"Fixed the parser; it closes the file with close(fd) in src/fix.c", "prefix fixture closet a@b.c @ #12",
        "fix #x is not an issue", "see `fixes #3` and `@property`", "```\n@Override\nFixes #3\n```\n",
        "héllo — fixes nothing"}) {
    EXPECT_EQ(Inert(text), text) << text;
  }
  // After a fenced block, text is prose again.
  EXPECT_EQ(Inert("```\ncode\n```\nFixes #3"), "```\ncode\n```\nF" + kZw + "ixes #3");
}

}  // namespace
}  // namespace swarm
