#include "orchestrator/backlog/issues.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

TEST(IssuesTest, ReadsWhatGhIssueListPrints) {
  // gh issue list --json number,title,body,labels,url
  auto issues = ParseIssues(R"([
    {"body":"Crashes on empty input.","labels":[{"id":"LA_1","name":"swarm","description":"","color":"ededed"}],
     "number":12,"title":"Parser crashes","url":"https://github.com/o/r/issues/12"},
    {"body":"","labels":[],"number":7,"title":"Typo in README","url":"https://github.com/o/r/issues/7"}])",
                            "issues.json");
  ASSERT_TRUE(issues.ok()) << issues.status();
  ASSERT_EQ(issues->size(), 2u);
  EXPECT_EQ((*issues)[0].id(), "12");
  EXPECT_EQ((*issues)[0].title(), "Parser crashes");
  EXPECT_EQ((*issues)[0].body(), "Crashes on empty input.");
  ASSERT_EQ((*issues)[0].labels_size(), 1);
  EXPECT_EQ((*issues)[0].labels(0), "swarm");
  EXPECT_EQ((*issues)[0].url(), "https://github.com/o/r/issues/12");
  EXPECT_EQ((*issues)[1].id(), "7");
}

TEST(IssuesTest, ReadsWhatGlabIssueListPrints) {
  // glab issue list --output json: iid, description (null when empty), labels as strings, web_url
  auto issues = ParseIssues(R"([{"id":9001,"iid":3,"project_id":5,"title":"Slow build","description":null,
    "labels":["swarm","perf"],"web_url":"https://gitlab.com/o/r/-/issues/3","state":"opened"}])",
                            "glab.json");
  ASSERT_TRUE(issues.ok()) << issues.status();
  ASSERT_EQ(issues->size(), 1u);
  EXPECT_EQ((*issues)[0].id(), "3");  // the project's number, not the global id
  EXPECT_EQ((*issues)[0].body(), "");
  EXPECT_EQ((*issues)[0].labels(1), "perf");
  EXPECT_EQ((*issues)[0].url(), "https://gitlab.com/o/r/-/issues/3");
}

TEST(IssuesTest, ReadsJsonLines) {
  auto issues = ParseIssues(
      "{\"id\": \"BUG-4\", \"title\": \"a\", \"body\": \"b\"}\n\n"
      "{\"id\": 5, \"title\": \"c\", \"body\": \"d\", \"labels\": [\"x\"], \"url\": \"u\"}\n",
      "issues.jsonl");
  ASSERT_TRUE(issues.ok()) << issues.status();
  ASSERT_EQ(issues->size(), 2u);
  EXPECT_EQ((*issues)[0].id(), "BUG-4");
  EXPECT_EQ((*issues)[1].id(), "5");
  EXPECT_EQ((*issues)[1].labels(0), "x");
}

TEST(IssuesTest, AnEmptyListIsNoIssues) {
  auto issues = ParseIssues("[]\n", "issues.json");
  ASSERT_TRUE(issues.ok()) << issues.status();
  EXPECT_TRUE(issues->empty());
}

void ExpectBad(const std::string& text, const std::string& says) {
  auto issues = ParseIssues(text, "f.json");
  ASSERT_FALSE(issues.ok()) << text;
  EXPECT_TRUE(absl::IsInvalidArgument(issues.status()));
  EXPECT_NE(issues.status().message().find(says), std::string::npos) << issues.status().message();
  EXPECT_EQ(issues.status().message().rfind("f.json: ", 0), 0u) << issues.status().message();
}

TEST(IssuesTest, MalformedInputNamesTheIssueAndTheField) {
  ExpectBad("", "empty");
  ExpectBad("[{\"number\": 1, \"title\": \"t\"", "not a JSON array");
  ExpectBad("[1]", "issue 1 is not a JSON object");
  ExpectBad("[{\"number\": 1, \"title\": \"t\"}, {\"number\": 2}]", "issue 2 (id 2): missing field \"title\"");
  ExpectBad("[{\"number\": 1, \"title\": 5}]", "\"title\" must be a string");
  ExpectBad("[{\"number\": 1, \"title\": \"  \"}]", "\"title\" is empty");
  ExpectBad("[{\"number\": -1, \"title\": \"t\"}]", "\"number\" must be a string or a number");
  ExpectBad("[{\"number\": 1, \"title\": \"t\", \"body\": 3}]", "\"body\" must be a string");
  ExpectBad("[{\"number\": 1, \"title\": \"t\", \"labels\": \"x\"}]", "\"labels\" must be an array");
  ExpectBad("[{\"number\": 1, \"title\": \"t\", \"labels\": [1]}]", "each label");
  ExpectBad("[{\"number\": 1, \"title\": \"t\"}, {\"number\": 1, \"title\": \"u\"}]", "issue id 1 is used twice");
  ExpectBad("{\"id\": \"a\", \"title\": \"t\"}", "line 1 (id a): missing field \"body\"");
  ExpectBad("{\"id\": \"a\", \"title\": \"t\", \"body\": \"\"}\nnot json", "line 2 is not JSON");
  ExpectBad("{\"title\": \"t\", \"body\": \"\"}", "line 1: missing field \"id\"");
}

TEST(IssuesTest, AnIdThatCannotNameABranchIsRefused) {
  for (const char* id : {"../x", "a/b", "a..b", "", "a b", "x.lock", "x.", "-"}) {
    if (std::string(id) == "-") continue;  // a plain dash is a name git takes
    auto issues = ParseIssues(std::string("{\"id\": \"") + id + "\", \"title\": \"t\", \"body\": \"\"}", "f.jsonl");
    ASSERT_FALSE(issues.ok()) << id;
    EXPECT_NE(issues.status().message().find("cannot name a branch"), std::string::npos) << issues.status().message();
  }
}

TEST(IssuesTest, ALongBodyIsCutAndSaysSo) {
  std::string body(kMaxIssueBodyBytes + 10, 'x');
  auto issues = ParseIssues("{\"id\": \"a\", \"title\": \"t\", \"body\": \"" + body + "\"}", "f.jsonl");
  ASSERT_TRUE(issues.ok()) << issues.status();
  EXPECT_LT((*issues)[0].body().size(), kMaxIssueBodyBytes + 100);
  EXPECT_NE((*issues)[0].body().find("10 more bytes"), std::string::npos);
}

TEST(IssuesTest, SelectsByLabelAndSkipsBeyondTheMaximum) {
  auto issues = ParseIssues(R"([{"number":1,"title":"a","labels":[{"name":"swarm"}]},
                                {"number":2,"title":"b","labels":[{"name":"other"}]},
                                {"number":3,"title":"c","labels":[{"name":"swarm"}]},
                                {"number":4,"title":"d","labels":[{"name":"swarm"}]}])",
                            "issues.json");
  ASSERT_TRUE(issues.ok()) << issues.status();
  IssueSelection s = SelectIssues(*issues, "swarm", 2);
  ASSERT_EQ(s.chosen.size(), 2u);
  EXPECT_EQ(s.chosen[0].id(), "1");
  EXPECT_EQ(s.chosen[1].id(), "3");
  ASSERT_EQ(s.skipped.size(), 1u);
  EXPECT_EQ(s.skipped[0].issue().id(), "4");
  EXPECT_EQ(s.skipped[0].reason(), "--max-issues");
  EXPECT_EQ(SelectIssues(*issues, "", 0).chosen.size(), 4u);
}

}  // namespace
}  // namespace swarm
