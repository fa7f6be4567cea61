#include "agents/attempt.h"

#include "gtest/gtest.h"

namespace swarm {
namespace {

v1::ToolCall Call(const std::string& name, const std::string& arguments) {
  v1::ToolCall c;
  c.set_name(name);
  c.set_arguments_json(arguments);
  return c;
}

TEST(AttemptTest, AToolCallsActivityNamesTheToolAndWhatItActsOn) {
  EXPECT_EQ(ToolCallAction(Call("edit", R"({"path": "src/a.c", "old": "x", "new": "y"})")), "edit: src/a.c");
  EXPECT_EQ(ToolCallAction(Call("run", R"({"command": "make -j2"})")), "run: make -j2");
  EXPECT_EQ(ToolCallAction(Call("search", R"({"pattern": "Foo\\(", "path": "src"})")), "search: src");
  EXPECT_EQ(ToolCallAction(Call("run_tests", "{}")), "run_tests");
  EXPECT_EQ(ToolCallAction(Call("read_file", "not json")), "read_file");
  EXPECT_EQ(ToolCallAction(Call("run", R"({"command": "a\nb\u001b[2J"})")), "run: a b [2J");
}

}  // namespace
}  // namespace swarm
