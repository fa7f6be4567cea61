#include "orchestrator/backlog/backlog_report.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "testing/test_util.h"

namespace swarm {
namespace {

using Kind = IssueOutcome::Kind;
using testing::TempDir;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<IssueOutcome> Outcomes() {
  std::vector<IssueOutcome> v(4);
  v[0].issue.set_id("12");
  v[0].issue.set_title("Parser crashes on <empty> input");
  v[0].issue.set_url("https://github.com/o/r/issues/12");
  v[0].kind = Kind::kResolved;
  v[0].branch = "swarm/issue-12";
  v[0].files = {"parse.c"};
  v[0].summaries = {"Return early on an empty buffer."};
  v[0].fixed_tests = {"test_empty"};
  v[0].overlaps = {"13"};
  v[0].cost_usd = 0.25;
  v[1].issue.set_id("13");
  v[1].issue.set_title("Tests | fail");
  v[1].kind = Kind::kUnresolved;
  v[1].reason = "tests failed";
  v[1].detail = "exit 1";
  v[2].issue.set_id("BUG-2");
  v[2].issue.set_title("b");
  v[2].kind = Kind::kFailed;
  v[2].reason = "cannot publish its branch";
  v[3].issue.set_id("14");
  v[3].issue.set_title("c");
  v[3].kind = Kind::kSkipped;
  v[3].reason = "its branch swarm/issue-14 exists";
  return v;
}

TEST(BacklogReportTest, WhatAgentsWroteClosesAndPingsNobody) {
  IssueOutcome o = Outcomes()[0];
  o.summaries = {"Fixes #99 for @all"};
  const std::string body = PullRequestBody(o, "make test");
  EXPECT_EQ(body.find("Fixes #99"), std::string::npos) << body;
  EXPECT_NE(body.find("Closes #12"), std::string::npos) << "its own issue is still closed";
}

TEST(BacklogReportTest, ThePullRequestBodySaysWhatAndWhyAndClosesTheIssue) {
  std::string body = PullRequestBody(Outcomes()[0], "make test");
  EXPECT_EQ(body.rfind("Fix #12: Parser crashes on <empty> input\n", 0), 0u) << body;
  EXPECT_NE(body.find("Return early on an empty buffer."), std::string::npos);
  EXPECT_NE(body.find("`make test` passes"), std::string::npos);
  EXPECT_NE(body.find("test_empty"), std::string::npos);
  EXPECT_NE(body.find("$0.2500"), std::string::npos);
  EXPECT_NE(body.find("Closes #12\n"), std::string::npos);
}

TEST(BacklogReportTest, WritesTheReportTheJUnitAndTheSummary) {
  TempDir dir;
  BacklogReportContext ctx{.run_id = "r1",
                           .out_dir = dir.path() + "/out",
                           .issues_file = "issues.json",
                           .test_command = "make test",
                           .exit_code = 1};
  std::vector<IssueOutcome> outcomes = Outcomes();
  ASSERT_TRUE(WritePullRequests(outcomes, ctx).ok());
  ASSERT_TRUE(WriteBacklogReport(outcomes, ctx).ok());
  EXPECT_NE(Read(ctx.out_dir + "/pr/12.md").find("Closes #12"), std::string::npos);
  EXPECT_FALSE(std::ifstream(ctx.out_dir + "/pr/13.md").good());  // only resolved issues get one

  nlohmann::json report = nlohmann::json::parse(Read(ctx.out_dir + "/report.json"));
  EXPECT_EQ(report["resolved"], 1);
  EXPECT_EQ(report["unresolved"], 1);
  EXPECT_EQ(report["failed"], 1);
  EXPECT_EQ(report["skipped"], 1);
  ASSERT_EQ(report["issues"].size(), 4u);
  EXPECT_EQ(report["issues"][0]["outcome"], "resolved");
  EXPECT_EQ(report["issues"][0]["branch"], "swarm/issue-12");
  EXPECT_EQ(report["issues"][1]["outcome"], "unresolved");
  EXPECT_EQ(report["issues"][1]["reason"], "tests failed");
  EXPECT_EQ(report["issues"][3]["outcome"], "skipped");

  const std::string junit = Read(ctx.out_dir + "/junit.xml");
  EXPECT_NE(junit.find("tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("Parser crashes on &lt;empty&gt; input"), std::string::npos) << junit;
  EXPECT_NE(junit.find("<failure message=\"tests failed\">tests failed: exit 1</failure>"), std::string::npos) << junit;

  const std::string md = Read(ctx.out_dir + "/summary.md");
  EXPECT_NE(md.find("1 resolved, 1 unresolved, 1 failed, 1 skipped"), std::string::npos) << md;
  EXPECT_NE(md.find("Tests \\| fail"), std::string::npos) << md;  // a pipe does not break the table
  EXPECT_NE(md.find("#12 and #13"), std::string::npos) << md;     // overlapping pull requests are named
}

TEST(BacklogReportTest, AnUnwritableDirectoryIsAnError) {
  BacklogReportContext ctx{
      .run_id = "", .out_dir = "/proc/swarm-cannot-write", .issues_file = "", .test_command = "", .exit_code = 0};
  EXPECT_FALSE(WriteBacklogReport(Outcomes(), ctx).ok());
}

}  // namespace
}  // namespace swarm
