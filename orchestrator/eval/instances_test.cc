#include "orchestrator/eval/instances.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace swarm {
namespace {

using nlohmann::json;

const char kTestPatch[] =
    "diff --git a/tests/test_a.py b/tests/test_a.py\n"
    "--- a/tests/test_a.py\n"
    "+++ b/tests/test_a.py\n"
    "@@ -1 +1,2 @@\n"
    " x\n"
    "+y\n";

json Instance() {
  return {{"instance_id", "acme__calc-1"},
          {"repo", "acme/calc"},
          {"base_commit", "0123456789abcdef0123456789abcdef01234567"},
          {"problem_statement", "add is wrong"},
          {"patch", "diff --git a/calc.py b/calc.py\n"},
          {"test_patch", kTestPatch},
          {"FAIL_TO_PASS", "[\"tests/test_a.py::test_add\"]"},  // a JSON string, as the exports hold it
          {"PASS_TO_PASS", json::array({"tests/test_a.py::test_sub"})},
          {"version", 3.1},
          {"created_at", "ignored"}};
}

TEST(InstancesTest, ReadsJsonLinesAndAnArrayWithTestListsAsStringsOrLists) {
  absl::StatusOr<std::vector<EvalInstance>> lines = ParseInstances(Instance().dump() + "\n\n", "i.jsonl");
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 1u);
  const EvalInstance& in = lines->front();
  EXPECT_EQ(in.id, "acme__calc-1");
  EXPECT_EQ(in.repo, "acme/calc");
  EXPECT_EQ(in.fail_to_pass, std::vector<std::string>{"tests/test_a.py::test_add"});
  EXPECT_EQ(in.pass_to_pass, std::vector<std::string>{"tests/test_a.py::test_sub"});
  EXPECT_EQ(in.version, "3.1");
  absl::StatusOr<std::vector<EvalInstance>> array = ParseInstances(json::array({Instance()}).dump(), "i.json");
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->front().problem_statement, "add is wrong");
}

TEST(InstancesTest, BadInputNamesTheLineTheInstanceAndTheField) {
  struct Case {
    std::string field;
    json value;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{{"instance_id", "../x", "instance_id cannot name"},
                                         {"repo", "calc", "owner/name"},
                                         {"base_commit", "main", "base_commit"},
                                         {"FAIL_TO_PASS", "[", "FAIL_TO_PASS"},
                                         {"FAIL_TO_PASS", json::array(), "nothing would tell"},
                                         {"PASS_TO_PASS", json::array({1}), "PASS_TO_PASS"},
                                         {"test_patch", "not a diff", "test_patch"},
                                         {"problem_statement", nullptr, "missing field \"problem_statement\""}}) {
    json j = Instance();
    j[c.field] = c.value;
    absl::StatusOr<std::vector<EvalInstance>> r = ParseInstances("\n" + j.dump() + "\n", "i.jsonl");
    ASSERT_FALSE(r.ok()) << c.field;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("i.jsonl: line 2"), std::string::npos) << r.status();
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status();
  }
  absl::StatusOr<std::vector<EvalInstance>> twice = ParseInstances(Instance().dump() + "\n" + Instance().dump(), "i");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("used twice"), std::string::npos);
  EXPECT_FALSE(ParseInstances("{not json", "i").ok());
}

TEST(PatchedFilesTest, NamesEachFileOnceWhateverTheHunksHold) {
  const std::string patch =
      "diff --git a/src/a.c b/src/a.c\n"
      "index 1..2 100644\n"
      "--- a/src/a.c\n"
      "+++ b/src/a.c\n"
      "@@ -1,3 +1,3 @@\n"
      " int a;\n"
      "--- not a header: a removed line that starts with two dashes\n"
      "+++ not a header either\n"
      " int b;\n"
      "diff --git a/old.txt b/old.txt\n"
      "deleted file mode 100644\n"
      "--- a/old.txt\n"
      "+++ /dev/null\n"
      "@@ -1 +0,0 @@\n"
      "-gone\n"
      "\\ No newline at end of file\n"
      "diff --git a/run.sh b/run.sh\n"
      "old mode 100644\n"
      "new mode 100755\n"
      "diff --git a/x.py b/y.py\n"
      "similarity index 100%\n"
      "rename from x.py\n"
      "rename to y.py\n"
      "diff --git \"a/sp ace\\tx\" \"b/sp ace\\tx\"\n"
      "new file mode 100644\n"
      "--- /dev/null\n"
      "+++ \"b/sp ace\\tx\"\n"
      "@@ -0,0 +1 @@\n"
      "+new\n"
      "diff --git a/src/a.c b/src/a.c\n";
  EXPECT_EQ(PatchedFiles(patch),
            (std::vector<std::string>{"src/a.c", "old.txt", "run.sh", "x.py", "y.py", "sp ace\tx"}));
  EXPECT_TRUE(PatchedFiles("").empty());
  EXPECT_TRUE(PatchedFiles("just text\n").empty());
}

}  // namespace
}  // namespace swarm
