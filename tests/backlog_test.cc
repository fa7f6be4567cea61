// `swarm backlog` end to end: the real binaries, real git, real bubblewrap; issues in every format a
// tracker prints, one lane per issue, branches, pull request bodies, reports, --on-resolved, reruns
// and a coordinator killed mid-backlog.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// report.json's issues by id.
std::map<std::string, nlohmann::json> IssuesById(const nlohmann::json& report) {
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& i : report["issues"]) by_id[i["id"]] = i;
  return by_id;
}

// The agent: issues 1-5 get a fix (a file holding the issue's address, read from the subtask JSON);
// "cannot" changes nothing; "breaks" writes what the tests refuse.
constexpr char kAgent[] =
    "case $SWARM_SUBTASK_ID in "
    "cannot) exit 0;; "
    "breaks) echo BROKEN > broken.txt;; "
    "*) sed -n 's/.*\"url\": \"\\(.*\\)\".*/\\1/p' \"$SWARM_SUBTASK_JSON\" > fix-$SWARM_SUBTASK_ID.txt;; "
    "esac";
constexpr char kTest[] = "! grep -rqs BROKEN --exclude-dir=.git .";

class BacklogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/README.md", "a project with a backlog\n");
    Sh("git -C " + repo() + " add -A && git -C " + repo() + " commit -qm base");
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  std::string out() const { return dir_ / "out"; }
  std::string Branches() {
    return Trim(Sh("git -C " + repo() + " for-each-ref --format='%(refname:short)' refs/heads/swarm/ | sort"));
  }
  // gh issue list --json number,title,body,labels,url, for issues 1-5, "cannot" and "breaks".
  std::string GhIssues() {
    nlohmann::json issues = nlohmann::json::array();
    for (int i = 1; i <= 5; ++i) {
      issues.push_back({{"number", i},
                        {"title", absl::StrCat("Issue ", i)},
                        {"body", "Please fix it."},
                        {"labels", {{{"id", "L1"}, {"name", "swarm"}, {"description", ""}, {"color", "ededed"}}}},
                        {"url", absl::StrCat("https://github.com/o/r/issues/", i)}});
    }
    issues.push_back({{"number", 99},
                      {"title", "Not ours"},
                      {"body", ""},
                      {"labels", nlohmann::json::array()},
                      {"url", "https://github.com/o/r/issues/99"}});
    std::string path = dir_ / "issues.json";
    WriteFile(path, issues.dump());
    // "cannot" and "breaks" are not numbers: gh prints numbers, so these come as JSON lines.
    return path;
  }
  std::vector<std::string> Args(const std::string& issues, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {
        "backlog",
        "--repo",
        repo(),
        "--issues",
        issues,
        "--agent-cmd",
        kAgent,
        "--test-cmd",
        kTest,
        "--agents",
        "4",
        "--state-dir",
        state(),
        "--out",
        out(),
        "--on-resolved",
        "echo \"$SWARM_ISSUE_ID $SWARM_BRANCH $SWARM_ISSUE_URL $(head -1 \"$SWARM_PR_BODY\")\" >> " +
            (dir_ / "published.txt")};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  // Six issues, one lane each; the coordinator is SIGKILLed after a lane's ref moved (the third
  // landing) and before the landing was recorded. The run's id, or "" (the test has failed).
  std::string KillMidBacklog() {
    std::string issues = dir_ / "issues.jsonl";
    std::string jsonl;
    for (int i = 1; i <= 6; ++i) {
      absl::StrAppend(&jsonl,
                      nlohmann::json{{"id", std::to_string(i)},
                                     {"title", absl::StrCat("Issue ", i)},
                                     {"body", ""},
                                     {"url", absl::StrCat("https://t/", i)}}
                          .dump(),
                      "\n");
    }
    WriteFile(issues, jsonl);
    CliResult killed =
        RunSwarm(Args(issues, {"--heartbeat-interval", "1", "--lease-timeout", "3"}), {"SWARM_FAILPOINT=ref_moved:3"});
    EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.out << killed.err;
    std::vector<std::string> runs;
    for (const auto& e : fs::directory_iterator(state() + "/runs")) runs.push_back(e.path().filename());
    EXPECT_EQ(runs.size(), 1u);
    return killed.exit_code == 128 + SIGKILL && runs.size() == 1 ? runs[0] : "";
  }

  TempDir dir_;
};

TEST_F(BacklogTest, ResolvesWhatItCanReportsWhyNotAndARerunSkipsTheResolved) {
  std::string lines = dir_ / "issues.jsonl";
  std::string jsonl;
  for (int i = 1; i <= 5; ++i) {
    absl::StrAppend(&jsonl,
                    nlohmann::json{{"id", std::to_string(i)},
                                   {"title", absl::StrCat("Issue ", i)},
                                   {"body", "Please fix it."},
                                   {"url", absl::StrCat("https://t/", i)}}
                        .dump(),
                    "\n");
  }
  absl::StrAppend(&jsonl, R"({"id": "cannot", "title": "Cannot be fixed", "body": "nothing to do"})", "\n",
                  R"({"id": "breaks", "title": "Fix breaks the tests", "body": "x"})", "\n");
  WriteFile(lines, jsonl);
  const std::string before = UserVisibleState(repo());

  CliResult r = RunSwarm(Args(lines));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // two issues unresolved
  EXPECT_EQ(UserVisibleState(repo()), before) << "the user's HEAD, index, work tree or branches changed";
  EXPECT_EQ(Branches(), "swarm/issue-1\nswarm/issue-2\nswarm/issue-3\nswarm/issue-4\nswarm/issue-5");
  // Each branch holds its own issue's fix alone, read from the issue the agent was given.
  for (int i = 1; i <= 5; ++i) {
    const std::string branch = absl::StrCat("swarm/issue-", i);
    EXPECT_EQ(Trim(Sh("git -C " + repo() + " show " + branch + ":fix-" + std::to_string(i) + ".txt")),
              absl::StrCat("https://t/", i));
    EXPECT_EQ(Trim(Sh("git -C " + repo() + " diff --name-only HEAD " + branch)), absl::StrCat("fix-", i, ".txt"));
    EXPECT_EQ(Landings(repo(), Trim(Sh("git -C " + repo() + " rev-parse HEAD")), branch)[std::to_string(i)], 1);
    const std::string pr = Read(out() + "/pr/" + std::to_string(i) + ".md");
    EXPECT_EQ(pr.rfind(absl::StrCat("Fix #", i, ": Issue ", i, "\n"), 0), 0u) << pr;
    EXPECT_NE(pr.find(absl::StrCat("Closes #", i)), std::string::npos) << pr;
  }
  EXPECT_FALSE(fs::exists(out() + "/pr/cannot.md"));

  nlohmann::json report = nlohmann::json::parse(Read(out() + "/report.json"));
  EXPECT_EQ(report["resolved"], 5);
  EXPECT_EQ(report["unresolved"], 2);
  EXPECT_EQ(report["exit_code"], 1);
  std::map<std::string, nlohmann::json> by_id = IssuesById(report);
  EXPECT_EQ(by_id["1"]["outcome"], "resolved");
  EXPECT_EQ(by_id["1"]["branch"], "swarm/issue-1");
  EXPECT_EQ(by_id["1"]["files"], nlohmann::json::array({"fix-1.txt"}));
  EXPECT_EQ(by_id["cannot"]["outcome"], "unresolved");
  EXPECT_EQ(by_id["cannot"]["reason"], "no change");
  EXPECT_EQ(by_id["breaks"]["outcome"], "unresolved");
  EXPECT_EQ(by_id["breaks"]["reason"], "tests failed");
  const std::string junit = Read(out() + "/junit.xml");
  EXPECT_NE(junit.find("tests=\"7\" failures=\"2\" errors=\"0\" skipped=\"0\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<failure message=\"tests failed\">"), std::string::npos) << junit;
  const std::string md = Read(out() + "/summary.md");
  EXPECT_NE(md.find("5 resolved, 2 unresolved, 0 failed, 0 skipped"), std::string::npos) << md;

  // --on-resolved ran once per resolved issue, in the user's environment, with its branch and body.
  std::vector<std::string> published = absl::StrSplit(Trim(Read(dir_ / "published.txt")), '\n');
  std::sort(published.begin(), published.end());
  ASSERT_EQ(published.size(), 5u) << Read(dir_ / "published.txt");
  EXPECT_EQ(published[0], "1 swarm/issue-1 https://t/1 Fix #1: Issue 1");

  // A rerun skips the resolved issues (their branches exist) and tries the others again.
  CliResult again = RunSwarm(Args(lines));
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  report = nlohmann::json::parse(Read(out() + "/report.json"));
  EXPECT_EQ(report["skipped"], 5);
  EXPECT_EQ(report["unresolved"], 2);
  for (const auto& i : report["issues"]) {
    if (i["outcome"] == "skipped") {
      EXPECT_TRUE(absl::StrContains(i["reason"].get<std::string>(), "exists")) << i;
    }
  }
  EXPECT_EQ(absl::StrSplit(Trim(Read(dir_ / "published.txt")), '\n').begin()->size() > 0, true);
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(Trim(Read(dir_ / "published.txt")), '\n')).size(), 5u)
      << "--on-resolved ran again for a skipped issue";
  EXPECT_EQ(UserVisibleState(repo()), before);

  // A CI job's fresh clone has the branches pushed before as its remote's only: they count too.
  const std::string clone = dir_ / "clone";
  Sh("git clone -q " + repo() + " " + clone);
  std::vector<std::string> in_clone = Args(lines, {"--dry-run"});
  in_clone[2] = clone;  // --repo
  CliResult fresh = RunSwarm(in_clone);
  EXPECT_EQ(fresh.exit_code, 0) << fresh.out << fresh.err;
  EXPECT_TRUE(absl::StrContains(fresh.out, "skipped (its branch origin/swarm/issue-3 exists")) << fresh.out;
  EXPECT_TRUE(absl::StrContains(fresh.out, "2 issues, one lane each")) << fresh.out;
}

TEST_F(BacklogTest, ReadsGhOutputFiltersByLabelAndCapsTheIssues) {
  CliResult r = RunSwarm(Args(GhIssues(), {"--label", "swarm", "--max-issues", "3"}));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Branches(), "swarm/issue-1\nswarm/issue-2\nswarm/issue-3");
  nlohmann::json report = nlohmann::json::parse(Read(out() + "/report.json"));
  EXPECT_EQ(report["resolved"], 3);
  EXPECT_EQ(report["skipped"], 2);  // 4 and 5, beyond --max-issues; 99 is not labelled: not reported
  EXPECT_EQ(report["issues"].size(), 5u);
  EXPECT_EQ(Trim(Sh("git -C " + repo() + " show swarm/issue-2:fix-2.txt")), "https://github.com/o/r/issues/2");
}

TEST_F(BacklogTest, AFailingOnResolvedIsReportedAndKeepsTheBranch) {
  std::string issues = dir_ / "one.jsonl";
  WriteFile(issues, R"({"id": "7", "title": "Seven", "body": ""})"
                    "\n");
  std::vector<std::string> args = Args(issues);
  args.back() = "echo cannot push >&2; exit 3";  // --on-resolved's command
  CliResult r = RunSwarm(args);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Branches(), "swarm/issue-7");
  EXPECT_NE(r.out.find("--on-resolved failed: exit 3: cannot push"), std::string::npos) << r.out;
  nlohmann::json report = nlohmann::json::parse(Read(out() + "/report.json"));
  EXPECT_EQ(report["issues"][0]["outcome"], "resolved");
  EXPECT_TRUE(absl::StrContains(report["issues"][0]["on_resolved_error"].get<std::string>(), "exit 3"));
  EXPECT_NE(Read(out() + "/summary.md").find("--on-resolved failed"), std::string::npos);
  EXPECT_NE(Read(out() + "/junit.xml").find("<error message=\"--on-resolved failed\">"), std::string::npos);
}

TEST_F(BacklogTest, MalformedIssuesStartNothing) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c : {Case{"[{\"number\": 1}]", "issue 1 (id 1): missing field \"title\""},
                        Case{"{\"id\": \"../../x\", \"title\": \"t\", \"body\": \"\"}", "cannot name a branch"},
                        Case{"[{\"iid\": 2, \"title\": \"t\", \"labels\": \"swarm\"}]", "\"labels\" must be an array"},
                        Case{"not json", "line 1 is not JSON"}}) {
    std::string issues = dir_ / "bad.json";
    WriteFile(issues, c.text);
    const std::string before = UserVisibleState(repo());
    CliResult r = RunSwarm(Args(issues));
    EXPECT_EQ(r.exit_code, 2) << c.text << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(state() + "/runs")) << "a run started";
    EXPECT_FALSE(fs::exists(out())) << "a report was written";
    EXPECT_EQ(UserVisibleState(repo()), before);
  }
  CliResult missing = RunSwarm(
      {"backlog", "--repo", repo(), "--issues", dir_ / "none.json", "--agent-cmd", "true", "--state-dir", state()});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

// --require-test (the default with a per-test format): a fix lands only with a test that fails on the
// base without it and passes with it; a test that passes there, or fails to load there, is no
// reproduction.
TEST_F(BacklogTest, TestFirstLandsOnlyAFixWhoseTestFailedWithoutIt) {
  WriteFile(repo() + "/calc.py", "def add(a, b):\n    return a - b\n\ndef sub(a, b):\n    return a - b\n");
  WriteFile(repo() + "/test_calc.py",
            "import unittest\nfrom calc import sub\n\nclass CalcTest(unittest.TestCase):\n"
            "    def test_sub(self):\n        self.assertEqual(sub(3, 1), 2)\n");
  Sh("git -C " + repo() + " add -A && git -C " + repo() + " commit -qm calc");
  constexpr char kFixAdd[] =
      "printf 'def add(a, b):\\n    return a + b\\n\\ndef sub(a, b):\\n    return a - b\\n' > calc.py";
  const std::string agent = absl::StrCat(
      "case $SWARM_SUBTASK_ID in "
      "fixed) ",
      kFixAdd,
      "; printf 'import unittest\\nfrom calc import add\\nclass T(unittest.TestCase):\\n"
      "    def test_add(self):\\n        self.assertEqual(add(2, 2), 4)\\n' > test_issue_fixed.py;; "
      "notest) ",
      kFixAdd,
      ";; "
      "passing) ",
      kFixAdd,
      "; printf 'import unittest\\nfrom calc import sub\\nclass T(unittest.TestCase):\\n"
      "    def test_sub_again(self):\\n        self.assertEqual(sub(2, 2), 0)\\n' > test_issue_passing.py;; "
      "loadfail) printf 'def div(a, b):\\n    return a / b\\n' >> calc.py; printf 'import unittest\\nfrom calc import "
      "div\\n"
      "class T(unittest.TestCase):\\n    def test_div(self):\\n        self.assertEqual(div(4, 2), 2)\\n' > "
      "test_issue_loadfail.py;; "
      "esac");
  std::string issues = dir_ / "issues.jsonl";
  WriteFile(issues, R"({"id": "fixed", "title": "add subtracts", "body": ""}
{"id": "notest", "title": "add subtracts, fixed without a test", "body": ""}
{"id": "passing", "title": "add subtracts, with a test that passes anyway", "body": ""}
{"id": "loadfail", "title": "no div", "body": ""}
)");
  CliResult r = RunSwarm({"backlog", "--repo", repo(), "--issues", issues, "--agent-cmd", agent, "--test-cmd",
                          "python3 -m unittest discover -v -s . -p 'test_*.py'", "--test-format", "unittest",
                          "--state-dir", state(), "--out", out()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(Branches(), "swarm/issue-fixed");
  nlohmann::json report = nlohmann::json::parse(Read(out() + "/report.json"));
  std::map<std::string, nlohmann::json> by_id = IssuesById(report);
  EXPECT_EQ(by_id["fixed"]["outcome"], "resolved") << by_id["fixed"];
  EXPECT_EQ(by_id["fixed"]["files"], nlohmann::json::array({"calc.py", "test_issue_fixed.py"}));
  EXPECT_TRUE(absl::StrContains(by_id["fixed"]["tests"]["fixed"].dump(), "test_add")) << by_id["fixed"];
  for (const char* id : {"notest", "passing", "loadfail"}) {
    EXPECT_EQ(by_id[id]["outcome"], "unresolved") << id;
    EXPECT_EQ(by_id[id]["reason"], "no failing test") << by_id[id];
  }
  EXPECT_TRUE(absl::StrContains(by_id["notest"]["detail"].get<std::string>(), "changes no test file"))
      << by_id["notest"];
  // The agent was told to write the test first.
  EXPECT_TRUE(absl::StrContains(Read(out() + "/pr/fixed.md"), "Fix fixed: add subtracts"));
}

// Three issues for the model (the scripted one) to plan, with command agents and a test required.
// Issue a: two subtasks, the test and its fix first, then the rest; b: the model's plan is invalid
// twice, so b is one subtask; c: the subtask that was to write the test changes nothing.
std::vector<std::string> PlannedBacklog(const std::string& dir, const std::string& repo, const std::string& state,
                                        const std::string& out) {
  std::string jsonl;
  for (const char* id : {"a", "b", "c"}) {
    absl::StrAppend(
        &jsonl, nlohmann::json{{"id", id}, {"title", absl::StrCat("Issue ", id)}, {"body", "Fix it."}}.dump(), "\n");
  }
  const std::string issues = fs::path(dir) / "issues.jsonl";
  WriteFile(issues, jsonl);
  auto plan_of = [](std::vector<std::string> ids) {
    nlohmann::json subtasks = nlohmann::json::array();
    for (const std::string& id : ids) {
      subtasks.push_back({{"id", id}, {"title", "Part " + id}, {"instructions", "Do part " + id + "."}});
    }
    return nlohmann::json{{"name", "submit_plan"}, {"arguments", {{"subtasks", subtasks}}}};
  };
  const nlohmann::json invalid = {{"name", "submit_plan"},
                                  {"arguments", {{"subtasks", {{{"id", "x"}, {"instructions", "no title"}}}}}}};
  const nlohmann::json script = {
      {"conversations",
       {{"planner:a", {{{"expect", "Issue a"}, {"tool_calls", {plan_of({"test", "rest"})}}}}},
        {"planner:b", {{{"tool_calls", {invalid}}}, {{"tool_calls", {invalid}}}}},
        {"planner:c", {{{"tool_calls", {plan_of({"test", "rest"})}}}}}}}};
  const std::string script_path = fs::path(dir) / "planner.json";
  WriteFile(script_path, script.dump());
  const std::string agent =
      "case $SWARM_SUBTASK_ID in "
      "a.1) mkdir -p tests && echo 'test -f fixed-a' > tests/a.sh && echo a > fixed-a;; "
      "a.2) echo 'how a works' > docs-a.txt;; "
      "b) mkdir -p tests && echo 'test -f fixed-b' > tests/b.sh && echo b > fixed-b;; "
      "c.1) exit 0;; "
      "c.2) echo c > fixed-c;; "
      "*) exit 3;; "
      "esac";
  const std::string test = "for t in tests/*.sh; do [ -e \"$t\" ] || continue; sh \"$t\" || exit 1; done";
  return {"backlog",     "--repo", repo,         "--issues", issues,           "--model",  "scripted:" + script_path,
          "--agent-cmd", agent,    "--test-cmd", test,       "--require-test", "--agents", "4",
          "--state-dir", state,    "--out",      out};
}

// Each issue planned by the model into its lane's subtasks, each recorded as it is planned.
TEST_F(BacklogTest, PlannedIssuesLandInTheirLanesTestFirstAndAFailedPlanningLeavesOneSubtask) {
  const std::vector<std::string> args = PlannedBacklog(dir_.path(), repo(), state(), out());
  CliResult dry = RunSwarm([&] {
    auto a = args;
    a.push_back("--dry-run");
    return a;
  }());
  EXPECT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_TRUE(absl::StrContains(dry.out, "each planned by the model as the run starts")) << dry.out;
  CliResult unplanned = RunSwarm([&] {
    auto a = args;
    a.insert(a.end(), {"--dry-run", "--no-plan"});
    return a;
  }());
  EXPECT_TRUE(absl::StrContains(unplanned.out, "each one subtask")) << unplanned.out;

  const std::string before = UserVisibleState(repo());
  CliResult r = RunSwarm(args);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(UserVisibleState(repo()), before);
  EXPECT_TRUE(absl::StrContains(r.err, "issue a: planned into 2 subtasks")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "issue b: planning failed (the planner's plan failed validation twice"))
      << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "issue c: planned into 2 subtasks")) << r.err;
  EXPECT_EQ(Branches(), "swarm/issue-a\nswarm/issue-b");

  nlohmann::json report = nlohmann::json::parse(Read(out() + "/report.json"));
  std::map<std::string, nlohmann::json> by_id = IssuesById(report);
  EXPECT_EQ(by_id["a"]["outcome"], "resolved") << by_id["a"];
  EXPECT_EQ(by_id["a"]["subtasks"], nlohmann::json::array({"a.1", "a.2"}));
  EXPECT_EQ(by_id["a"]["files"], nlohmann::json::array({"docs-a.txt", "fixed-a", "tests/a.sh"}));
  EXPECT_EQ(by_id["a"]["steps"], 1) << "the call that planned it is the issue's";
  EXPECT_GT(by_id["a"]["cost_usd"].get<double>(), 0);
  const std::string base = Trim(Sh("git -C " + repo() + " rev-parse HEAD"));
  std::map<std::string, int> landed = Landings(repo(), base, "swarm/issue-a");
  EXPECT_EQ(landed, (std::map<std::string, int>{{"a.1", 1}, {"a.2", 1}}));
  EXPECT_EQ(by_id["b"]["outcome"], "resolved") << by_id["b"];
  EXPECT_EQ(by_id["b"]["subtasks"], nlohmann::json::array({"b"}));
  EXPECT_EQ(by_id["b"]["steps"], 2);
  EXPECT_EQ(by_id["c"]["outcome"], "unresolved") << by_id["c"];
  EXPECT_EQ(by_id["c"]["reason"], "no failing test") << by_id["c"];
  EXPECT_TRUE(absl::StrContains(by_id["c"]["detail"].get<std::string>(), "changed nothing")) << by_id["c"];
  EXPECT_EQ(by_id["c"]["attempts"], 1) << "c.2 waited for the test in vain, and never ran";
  // Each issue's planning is recorded: what a resume works from.
  std::map<std::string, std::string> planned;  // issue -> its subtasks, or why it is one
  for (const v1::Event& e : OnlyRunEvents(state())) {
    if (!e.has_issue_planned()) continue;
    std::string& what = planned[e.issue_planned().lane()];
    for (const v1::Subtask& s : e.issue_planned().subtasks()) {
      absl::StrAppend(&what, s.id(), s.test_first() ? "(test first) " : " ");
    }
    absl::StrAppend(&what, e.issue_planned().note().substr(0, 23));
  }
  EXPECT_EQ(planned,
            (std::map<std::string, std::string>{
                {"a", "a.1(test first) a.2 "}, {"b", "its planning failed: th"}, {"c", "c.1(test first) c.2 "}}));
}

// A coordinator killed while it plans: what was planned (and spent) is kept, and the resume plans only
// the issues left.
TEST_F(BacklogTest, ACoordinatorKilledWhilePlanningResumesPlanningOnlyTheIssuesLeft) {
  std::vector<std::string> args = PlannedBacklog(dir_.path(), repo(), state(), out());
  *(std::find(args.begin(), args.end(), "--agents") + 1) = "1";  // one issue planned at a time: a, b, c
  CliResult killed = RunSwarm(args, {"SWARM_FAILPOINT=issue_planned@a"});
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.out << killed.err;
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(state() + "/runs")) runs.push_back(e.path().filename());
  ASSERT_EQ(runs.size(), 1u);
  CliResult resumed = RunSwarm({"resume", runs[0], "--state-dir", state()});
  EXPECT_EQ(resumed.exit_code, 1) << resumed.out << resumed.err;
  EXPECT_TRUE(absl::StrContains(resumed.err, "planning 2 issues")) << resumed.err;
  EXPECT_EQ(Branches(), "swarm/issue-a\nswarm/issue-b");
  nlohmann::json report = nlohmann::json::parse(Read(out() + "/report.json"));
  std::map<std::string, nlohmann::json> by_id = IssuesById(report);
  EXPECT_EQ(by_id["a"]["subtasks"], nlohmann::json::array({"a.1", "a.2"})) << by_id["a"];
  EXPECT_EQ(by_id["a"]["steps"], 1) << "a was planned once, before the kill";
  EXPECT_EQ(by_id["b"]["steps"], 2);
  EXPECT_EQ(by_id["c"]["subtasks"], nlohmann::json::array({"c.1", "c.2"})) << by_id["c"];
}

// The run's budget cannot cover planning: no issue is planned (each is one subtask, for good), the
// run stops on its budget (exit 4), and a resume with a larger budget works on the issues unplanned.
TEST_F(BacklogTest, ABudgetSpentWhilePlanningStopsTheRunResumablyAndLeavesEachIssueOneSubtask) {
  std::vector<std::string> args = PlannedBacklog(dir_.path(), repo(), state(), out());
  args.insert(args.end(), {"--budget-usd", "0.0001"});
  CliResult r = RunSwarm(args);
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "stopped: the run's budget ran out")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "planned 0 of 3 issues")) << r.err;
  EXPECT_EQ(Branches(), "");
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(state() + "/runs")) runs.push_back(e.path().filename());
  ASSERT_EQ(runs.size(), 1u);
  CliResult resumed = RunSwarm({"resume", runs[0], "--state-dir", state(), "--budget-usd", "5"});
  EXPECT_EQ(resumed.exit_code, 1) << resumed.out << resumed.err;
  EXPECT_FALSE(absl::StrContains(resumed.err, "planning ")) << "what was decided holds: " << resumed.err;
  EXPECT_EQ(Branches(), "swarm/issue-b");  // the agent knows b alone by its issue's id
}

// The bundled example (examples/backlog): eight issues, swarm's LLM agents on the scripted model,
// test first by default (unittest is a per-test format), a budget per issue.
TEST_F(BacklogTest, EightIssuesWithTheLlmAgentFiveResolvedThreeUnresolvedEachWithItsReason) {
  const std::string example = SourceDir() + "/examples/backlog";
  std::string shop = dir_ / "shop";
  Sh("cp -r " + example + "/repo " + shop);
  InitRepo(shop);
  CommitAll(shop, "shop");
  const std::string before = UserVisibleState(shop);
  auto run = [&] {
    return RunSwarm({"backlog",
                     "--repo",
                     shop,
                     "--issues",
                     example + "/issues.json",
                     "--label",
                     "swarm",
                     "--model",
                     "scripted:" + example + "/scripted-model.json",
                     "--test-cmd",
                     "python3 -m unittest discover -v -s . -p 'test_*.py'",
                     "--test-format",
                     "unittest",
                     "--budget-usd",
                     "5",
                     "--budget-per-issue-usd",
                     "0.1",
                     "--agents",
                     "8",
                     "--state-dir",
                     state(),
                     "--out",
                     out(),
                     "--on-resolved",
                     "echo \"$SWARM_ISSUE_ID\" >> " + (dir_ / "published.txt")});
  };
  CliResult r = run();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(UserVisibleState(shop), before);
  EXPECT_EQ(Trim(Sh("git -C " + shop + " for-each-ref --format='%(refname:short)' refs/heads/swarm/ | sort")),
            "swarm/issue-1\nswarm/issue-2\nswarm/issue-3\nswarm/issue-4\nswarm/issue-5");
  nlohmann::json report = nlohmann::json::parse(Read(out() + "/report.json"));
  std::map<std::string, nlohmann::json> by_id = IssuesById(report);
  for (const char* id : {"1", "2", "3", "4", "5"}) {
    EXPECT_EQ(by_id[id]["outcome"], "resolved") << by_id[id];
    EXPECT_EQ(by_id[id]["files"], nlohmann::json::array({"shop.py", absl::StrCat("test_issue_", id, ".py")}));
    EXPECT_TRUE(absl::StrContains(by_id[id]["tests"]["fixed"].dump(), absl::StrCat("test_issue_", id))) << by_id[id];
    EXPECT_GT(by_id[id]["cost_usd"].get<double>(), 0);
    // One call plans the issue; issue 3 is planned in two subtasks (test and fix, then its docstring).
    EXPECT_EQ(by_id[id]["steps"], std::string(id) == "3" ? 6 : 4) << by_id[id];
    const std::string pr = Read(out() + "/pr/" + id + ".md");
    EXPECT_TRUE(absl::StrContains(pr, "Closes #" + std::string(id))) << pr;
  }
  EXPECT_TRUE(absl::StrContains(Read(out() + "/pr/1.md"), "It now returns the price less the discount."));
  EXPECT_EQ(by_id["3"]["subtasks"], nlohmann::json::array({"3.1", "3.2"})) << by_id["3"];
  EXPECT_TRUE(absl::StrContains(Read(out() + "/pr/3.md"), "docstring says what an empty basket gives"));
  EXPECT_TRUE(absl::StrContains(Sh("git -C " + shop + " show swarm/issue-3:shop.py"), "0.0 for an empty basket"));
  EXPECT_TRUE(absl::StrContains(r.err, "issue 3: planned into 2 subtasks")) << r.err;
  EXPECT_FALSE(absl::StrContains(r.err, ": planning failed (")) << r.err;
  EXPECT_EQ(by_id["6"]["reason"], "no change") << by_id["6"];
  EXPECT_EQ(by_id["7"]["reason"], "no failing test") << by_id["7"];
  EXPECT_EQ(by_id["7"]["attempts"], 2) << "refused once, it was told why and tried again (--max-fixups 1)";
  EXPECT_EQ(by_id["8"]["reason"], "budget") << by_id["8"];
  EXPECT_EQ(by_id["8"]["attempts"], 1) << "an issue whose budget is spent gets no further attempt";
  EXPECT_TRUE(report["run"].contains("subtasks")) << "the run's own report is kept in the backlog's";
  for (const char* id : {"6", "7", "8"}) EXPECT_EQ(by_id[id]["outcome"], "unresolved") << by_id[id];
  EXPECT_NE(Read(out() + "/junit.xml").find("tests=\"8\" failures=\"3\" errors=\"0\" skipped=\"0\""),
            std::string::npos);
  std::vector<std::string> published = absl::StrSplit(Trim(Read(dir_ / "published.txt")), '\n');
  std::sort(published.begin(), published.end());
  EXPECT_EQ(published, (std::vector<std::string>{"1", "2", "3", "4", "5"}));

  // Again: the five are skipped, the three tried again; --on-resolved does not run for the five.
  CliResult again = run();
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  report = nlohmann::json::parse(Read(out() + "/report.json"));
  EXPECT_EQ(report["skipped"], 5);
  EXPECT_EQ(report["unresolved"], 3);
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(Trim(Read(dir_ / "published.txt")), '\n')).size(), 5u);
  EXPECT_EQ(UserVisibleState(shop), before);
}

TEST_F(BacklogTest, ACoordinatorKilledMidBacklogResumesAndNothingLandsTwice) {
  const std::string run = KillMidBacklog();
  ASSERT_FALSE(run.empty());
  EXPECT_EQ(Branches(), "");  // branches are published at the end

  CliResult resumed = RunSwarm({"resume", run, "--state-dir", state()});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Branches(), "swarm/issue-1\nswarm/issue-2\nswarm/issue-3\nswarm/issue-4\nswarm/issue-5\nswarm/issue-6");
  const std::string base = Trim(Sh("git -C " + repo() + " rev-parse HEAD"));
  for (int i = 1; i <= 6; ++i) {
    std::map<std::string, int> landings = Landings(repo(), base, absl::StrCat("swarm/issue-", i));
    EXPECT_EQ(landings.size(), 1u) << "issue " << i;
    EXPECT_EQ(landings[std::to_string(i)], 1) << "issue " << i << " landed twice, or never";
  }
  nlohmann::json report = nlohmann::json::parse(Read(out() + "/report.json"));
  EXPECT_EQ(report["resolved"], 6);
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(Trim(Read(dir_ / "published.txt")), '\n')).size(), 6u);
}

TEST_F(BacklogTest, CancelOfADeadBacklogPublishesWhatWasResolvedAndResumeFinishesTheRest) {
  const std::string run = KillMidBacklog();
  ASSERT_FALSE(run.empty());
  // The lanes whose ref moved before the kill: the third landing's, and those before it (another lane's
  // queue may have moved its ref too while the third's was being killed).
  const std::string base = Trim(Sh("git -C " + repo() + " rev-parse HEAD"));
  std::vector<std::string> landed;
  for (absl::string_view line : absl::StrSplit(
           Sh("git --git-dir=" + state() + "/runs/" + run +
              "/integration.git for-each-ref --format='%(objectname) %(refname:lstrip=3)' refs/heads/lanes/"),
           '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, base)) landed.push_back(absl::StrCat("swarm/issue-", line.substr(line.find(' ') + 1)));
  }
  std::sort(landed.begin(), landed.end());
  ASSERT_GE(landed.size(), 3u);
  CliResult cancelled = RunSwarm({"cancel", run, "--state-dir", state()});
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.out << cancelled.err;
  // Each issue whose fix had landed (the third found on its lane's ref alone) has its branch.
  EXPECT_EQ(Branches(), absl::StrJoin(landed, "\n"));

  CliResult resumed = RunSwarm({"resume", run, "--state-dir", state()});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(Branches(), "swarm/issue-1\nswarm/issue-2\nswarm/issue-3\nswarm/issue-4\nswarm/issue-5\nswarm/issue-6");
  for (int i = 1; i <= 6; ++i) {
    EXPECT_EQ(Landings(repo(), base, absl::StrCat("swarm/issue-", i))[std::to_string(i)], 1) << "issue " << i;
  }
  EXPECT_EQ(nlohmann::json::parse(Read(out() + "/report.json"))["resolved"], 6);
}

}  // namespace
}  // namespace swarm::testing
