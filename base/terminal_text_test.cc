#include "base/terminal_text.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(TerminalSafeTest, EscapesAnOscTitleSequence) {
  EXPECT_EQ(TerminalSafe("a\x1b]0;pwned\x07.c"), "a\\x1b]0;pwned\\x07.c");
}

TEST(TerminalSafeTest, EscapesCsiAndDel) {
  EXPECT_EQ(TerminalSafe("\x1b[2J\x7f"), "\\x1b[2J\\x7f");
}

TEST(TerminalSafeTest, EscapesC1ControlsEncodedAsUtf8) {
  EXPECT_EQ(TerminalSafe("x\xc2\x9b" "31m"), "x\\u009b31m");
}

TEST(TerminalSafeTest, EscapesBidiOverrides) { EXPECT_EQ(TerminalSafe("a\u202eb"), "a\\u202eb"); }

TEST(TerminalSafeTest, KeepsValidUtf8) {
  EXPECT_EQ(TerminalSafe("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9d"), "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x9d");
}

TEST(TerminalSafeTest, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(TerminalSafe("a\xff\xc3"), "a\\xff\\xc3");
  EXPECT_EQ(TerminalSafe("\xc0\xaf"), "\\xc0\\xaf");         // overlong '/'
  EXPECT_EQ(TerminalSafe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(TerminalSafeTest, SingleLineEscapesNewlinesAndTabs) {
  EXPECT_EQ(TerminalSafe("a\nb\tc\r"), "a\\x0ab\\x09c\\x0d");
}

TEST(TerminalSafeTest, MultiLineKeepsNewlinesAndTabsOnly) {
  EXPECT_EQ(TerminalSafe("a\nb\tc\r\x1b", TextLines::kMulti), "a\nb\tc\\x0d\\x1b");
}

TEST(TerminalSafeTest, NulIsEscaped) { EXPECT_EQ(TerminalSafe(absl::string_view("a\0b", 3)), "a\\x00b"); }

}  // namespace
}  // namespace swarm
