#include "tools/tool_set.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "testing/test_util.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;

v1::ToolCall Call(const std::string& name, const std::string& arguments) {
  v1::ToolCall c;
  c.set_id("c");
  c.set_name(name);
  c.set_arguments_json(arguments);
  return c;
}

class ToolSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::canonical(dir_.path()).string();
    testing::WriteFile(root_ + "/a.c", "int f(void);\n");
  }
  testing::TempDir dir_;
  std::string root_;
};

TEST_F(ToolSetTest, OffersTheToolsByTheirNamesWithSchemas) {
  ToolSet tools(root_, {});
  std::vector<std::string> names;
  for (const auto& s : tools.specs()) {
    names.push_back(s.name());
    EXPECT_EQ(nlohmann::json::parse(s.parameters_json())["type"], "object");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"list_dir", "read_file", "search", "edit", "create_file", "run",
                                             "run_tests", "submit"}));
}

TEST_F(ToolSetTest, MalformedCallsAreFormatErrorsNotActions) {
  ToolSet tools(root_, {});
  auto unknown = tools.Call(Call("delete_everything", "{}"));
  EXPECT_TRUE(unknown.format_error);
  EXPECT_NE(unknown.observation.find("there is no tool delete_everything"), std::string::npos);
  auto not_json = tools.Call(Call("read_file", "{\"path\": "));
  EXPECT_TRUE(not_json.format_error);
  auto wrong_type = tools.Call(Call("read_file", R"({"path": "a.c", "start_line": "one"})"));
  EXPECT_TRUE(wrong_type.format_error);
  EXPECT_NE(wrong_type.observation.find("start_line of read_file must be a positive integer"), std::string::npos);
  auto missing = tools.Call(Call("edit", R"({"path": "a.c", "old": "f"})"));
  EXPECT_TRUE(missing.format_error);
  EXPECT_NE(missing.observation.find("needs the argument new"), std::string::npos);
  auto extra = tools.Call(Call("create_file", R"({"path": "b.c", "content": "", "mode": "755"})"));
  EXPECT_TRUE(extra.format_error);
  EXPECT_FALSE(fs::exists(root_ + "/b.c"));
}

TEST_F(ToolSetTest, ToolsRunAndSubmitEnds) {
  std::string ran;
  ToolSet tools(root_, {.run = [&](const std::string& c) { ran = c; return std::string("ok\n[exit 0]"); },
                        .run_tests = [] { return std::string("2 passed"); }});
  auto edit = tools.Call(Call("edit", R"({"path": "a.c", "old": "int f(void);", "new": "int g(void);"})"));
  EXPECT_FALSE(edit.failed) << edit.observation;
  EXPECT_EQ(testing::ReadFile(root_ + "/a.c"), "int g(void);\n");
  auto failed = tools.Call(Call("edit", R"({"path": "a.c", "old": "nope", "new": "x"})"));
  EXPECT_TRUE(failed.failed);
  EXPECT_FALSE(failed.format_error) << "a tool that reports an error is not a format error";
  EXPECT_EQ(tools.Call(Call("run", R"({"command": "make"})")).observation, "ok\n[exit 0]");
  EXPECT_EQ(ran, "make");
  EXPECT_EQ(tools.Call(Call("run_tests", "")).observation, "2 passed");
  auto submit = tools.Call(Call("submit", R"({"summary": "renamed f"})"));
  EXPECT_TRUE(submit.submitted);
  EXPECT_EQ(submit.summary, "renamed f");
}

TEST_F(ToolSetTest, SearchKeepsToTheAttemptsDeadline) {
  ToolSet tools(root_, {}, std::chrono::steady_clock::now() - std::chrono::seconds(1));
  auto late = tools.Call(Call("search", R"({"pattern": "f"})"));
  EXPECT_FALSE(late.failed) << late.observation;
  EXPECT_NE(late.observation.find("the attempt's time is up"), std::string::npos) << late.observation;
  auto bad = ToolSet(root_, {}).Call(Call("search", R"({"pattern": "a(b"})"));
  EXPECT_TRUE(bad.failed);
  EXPECT_NE(bad.observation.find("error: the pattern is not a valid regular expression: missing )"),
            std::string::npos) << bad.observation;
}

}  // namespace
}  // namespace swarm
