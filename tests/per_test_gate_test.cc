// The per-test gate, end to end, in every format: on a base with a failing test, a fix lands, a
// regression does not, and a spoofed run (claims success, exits non-zero, or writes no report) does
// not. The fixture's test runner prints each format as the real tool does (see test_results_test.cc
// for the parsers against the tools' own output).
#include <gtest/gtest.h>

#include <filesystem>

#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

// t/alpha, t/beta, t/gamma hold "pass" or "fail"; run_tests.sh FORMAT reports each as a test named
// after its file, writes report.xml for junit, and exits 1 when any failed.
constexpr char kRunner[] = R"SH(#!/bin/sh
format=$1; failed=0; n=0
[ "$format" = junit ] && echo '<testsuites><testsuite name="Suite">' > report.xml
[ "$format" = tap ] && echo "1..3"
[ "$format" = gtest ] && echo "[==========] Running 3 tests from 1 test suite."
for f in t/*; do
  name=$(basename "$f"); n=$((n+1))
  if [ "$(cat "$f")" = pass ]; then ok=1; else ok=0; failed=1; fi
  case "$format" in
    gtest) echo "[ RUN      ] Suite.$name"
           if [ $ok = 1 ]; then echo "[       OK ] Suite.$name (0 ms)"; else echo "[  FAILED  ] Suite.$name (0 ms)"; fi;;
    ctest) if [ $ok = 1 ]; then echo "$n/3 Test #$n: $name ..........   Passed    0.01 sec";
           else echo "$n/3 Test #$n: $name ..........***Failed    0.01 sec"; fi;;
    pytest) if [ $ok = 1 ]; then echo "PASSED tests/test_t.py::$name"; else echo "FAILED tests/test_t.py::$name - assert 0"; fi;;
    unittest) if [ $ok = 1 ]; then echo "$name (tests.Suite.$name) ... ok" >&2; else echo "$name (tests.Suite.$name) ... FAIL" >&2; fi;;
    tap) if [ $ok = 1 ]; then echo "ok $n - $name"; else echo "not ok $n - $name"; fi;;
    junit) if [ $ok = 1 ]; then echo "<testcase classname=\"Suite\" name=\"$name\"/>" >> report.xml;
           else echo "<testcase classname=\"Suite\" name=\"$name\"><failure message=\"no\"/></testcase>" >> report.xml; fi;;
  esac
done
[ "$format" = junit ] && echo '</testsuite></testsuites>' >> report.xml
exit $failed
)SH";

// A spoof: claims that everything passed in the format, writes no report, and exits 1.
constexpr char kSpoof[] = R"SH(#!/bin/sh
echo "PASS: all tests passed"
echo "[       OK ] Suite.alpha (0 ms)"; echo "ok 1 - alpha"; echo "PASSED tests/test_t.py::alpha"
exit 1
)SH";

std::string TestName(const std::string& format, const std::string& file) {
  if (format == "gtest" || format == "junit") return "Suite." + file;
  if (format == "pytest") return "tests/test_t.py::" + file;
  if (format == "unittest") return "tests.Suite." + file;
  return file;  // ctest, tap
}

class PerTestGateTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  TempDir dir_;
};

TEST_P(PerTestGateTest, AFixLandsOnAFailingBaseARegressionAndASpoofDoNot) {
  const std::string format = GetParam();
  InitRepo(repo());
  WriteFile(repo() + "/t/alpha", "pass\n");
  WriteFile(repo() + "/t/beta", "fail\n");  // the base fails beta: a fix task starts from it
  WriteFile(repo() + "/t/gamma", "pass\n");
  WriteFile(repo() + "/run_tests.sh", kRunner);
  Sh("chmod +x " + repo() + "/run_tests.sh");
  // A report committed in the tree must not count: only one this run writes does.
  WriteFile(repo() + "/report.xml", R"(<testsuites><testsuite><testcase classname="Suite" name="alpha"/>
<testcase classname="Suite" name="beta"/><testcase classname="Suite" name="gamma"/></testsuite></testsuites>)");
  CommitAll(repo(), "base");
  WriteFile(dir_ / "plan.json", R"({"subtasks": [
    {"id": "fix", "title": "fix beta", "instructions": "", "files": ["t/beta"], "tests": [")" +
                                        TestName(format, "beta") + R"("]},
    {"id": "regress", "title": "break gamma", "instructions": "", "files": ["t/gamma"]},
    {"id": "spoof", "title": "claim success", "instructions": "", "files": ["run_tests.sh"]}]})");
  WriteFile(dir_ / "spoof.sh", kSpoof);
  std::string agent = "case $SWARM_SUBTASK_ID in fix) echo pass > t/beta;; regress) echo fail > t/gamma;; "
                      "spoof) cp " + (dir_ / "spoof.sh") + " run_tests.sh;; esac";
  std::vector<std::string> args = {"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json",
                                   "--agents", "3", "--sandbox-ro-bind", dir_ / "spoof.sh", "--agent-cmd", agent,
                                   "--test-cmd", "./run_tests.sh " + format, "--test-format", format};
  if (format == "junit") args.insert(args.end(), {"--test-report", "report.xml"});
  CliResult r = RunSwarm(args);
  EXPECT_EQ(r.exit_code, 1) << "two subtasks do not land\n" << r.out << r.err;
  nlohmann::json report = OnlyReport(state());
  auto outcomes = Outcomes(report);
  EXPECT_EQ(outcomes["fix"], "landed") << report.dump(2);
  EXPECT_EQ(outcomes["regress"], "rejected_check") << report.dump(2);
  EXPECT_EQ(outcomes["spoof"], "rejected_check") << report.dump(2);
  EXPECT_EQ(report["tests"]["format"], format);
  EXPECT_EQ(report["tests"]["failing_at_base"], nlohmann::json::array({TestName(format, "beta")}));
  EXPECT_EQ(report["tests"]["failing_at_end"], nlohmann::json::array());
  // The regression was checked alone and never entered the integration queue.
  CliResult queue = RunSwarm({"show", report["run_id"], "--queue", "--state-dir", state()});
  EXPECT_NE(queue.out.find("checked   regress: rejected"), std::string::npos) << queue.out;
  EXPECT_EQ(queue.out.find("tested    regress"), std::string::npos) << queue.out;
  EXPECT_NE(queue.out.find("tested    fix"), std::string::npos) << queue.out;
  for (const auto& s : report["subtasks"]) {
    if (s["id"] == "regress") {
      EXPECT_NE(s["reason"].get<std::string>().find(TestName(format, "gamma")), std::string::npos) << s.dump();
      // The tests it broke as a list (beta, failing on the base already, is not its doing).
      EXPECT_EQ(s["failing_tests"], nlohmann::json::array({TestName(format, "gamma")})) << s.dump();
    }
    if (s["id"] == "fix") {
      // A landed subtask names its agent's log and the test run that let it land, inside the run directory.
      const std::string run_dir = report["run_dir"];
      EXPECT_EQ(s["log"], "logs/fix.1.agent.log") << s.dump();
      ASSERT_TRUE(s.contains("test_log")) << s.dump();
      EXPECT_TRUE(std::filesystem::exists(run_dir + "/" + s["log"].get<std::string>())) << s.dump();
      EXPECT_TRUE(std::filesystem::exists(run_dir + "/" + s["test_log"].get<std::string>())) << s.dump();
      EXPECT_FALSE(s.contains("failing_tests")) << s.dump();
    }
  }
  EXPECT_EQ(report["result_patch"], "result.patch");
}

INSTANTIATE_TEST_SUITE_P(Formats, PerTestGateTest,
                         ::testing::Values("junit", "gtest", "ctest", "pytest", "unittest", "tap"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// Stacked candidates are each judged against the one before them: a request may not break a test that
// a request ahead of it (not yet landed) fixed, even though that test failed on the head.
TEST(PerTestGateStackTest, ARequestThatBreaksWhatTheOneAheadFixedIsRejected) {
  TempDir dir;
  std::string repo = dir / "repo";
  InitRepo(repo);
  WriteFile(repo + "/a", "fail\n");
  WriteFile(repo + "/b", "good\n");
  WriteFile(repo + "/other", "x\n");
  // Suite.t passes when a says pass and b is not bad; Suite.u always passes. Trees with the fix test
  // slowly, so rebreak's check (submitted later, done sooner) waits for fix's: both reach the queue
  // together and are tested as stacked candidates, head+fix and head+fix+rebreak.
  WriteFile(repo + "/run.sh", R"SH(#!/bin/sh
if [ "$(cat a)" = pass ]; then sleep 0.5; fi
echo "[       OK ] Suite.u (0 ms)"
if [ "$(cat a)" = pass ] && [ "$(cat b)" != bad ]; then echo "[       OK ] Suite.t (0 ms)"; exit 0; fi
echo "[  FAILED  ] Suite.t (0 ms)"; exit 1
)SH");
  Sh("chmod +x " + repo + "/run.sh");
  CommitAll(repo, "base");
  WriteFile(dir / "plan.json", R"({"subtasks": [
    {"id": "fix", "title": "fix t", "instructions": "", "files": ["a"]},
    {"id": "rebreak", "title": "break t again", "instructions": "", "files": ["b"]}]})");
  CliResult r = RunSwarm({"run", "--repo", repo, "--state-dir", dir / "state", "--plan", dir / "plan.json",
                          "--agents", "2", "--queue-depth", "3", "--agent-cmd",
                          "case $SWARM_SUBTASK_ID in fix) echo pass > a;; rebreak) sleep 0.3; echo bad > b;; esac",
                          "--test-cmd", "./run.sh", "--test-format", "gtest"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto outcomes = Outcomes(OnlyReport(dir / "state"));
  EXPECT_EQ(outcomes["fix"], "landed");
  EXPECT_EQ(outcomes["rebreak"], "rejected_queue");
  std::string run_id = OnlyReport(dir / "state")["run_id"];
  std::string queue = RunSwarm({"show", run_id, "--queue", "--state-dir", dir / "state"}).out;
  EXPECT_NE(queue.find("tests that passed before fail: Suite.t"), std::string::npos) << queue;
}

TEST(PerTestGateBadInputTest, FormatAndReportAreChecked) {
  TempDir dir;
  InitRepo(dir / "repo");
  WriteFile(dir / "repo/a", "x\n");
  CommitAll(dir / "repo", "base");
  WriteFile(dir / "plan.json", R"({"subtasks": [{"id": "a", "title": "A", "instructions": ""}]})");
  std::vector<std::string> base = {"run", "--repo", dir / "repo", "--state-dir", dir / "state", "--plan",
                                   dir / "plan.json", "--agent-cmd", "true", "--test-cmd", "true"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return RunSwarm(args);
  };
  CliResult guess = with({"--test-format", "auto"});
  EXPECT_EQ(guess.exit_code, 2);
  EXPECT_NE(guess.err.find("--test-format auto"), std::string::npos) << guess.err;
  EXPECT_EQ(with({"--test-format", "junit"}).exit_code, 2) << "junit needs --test-report";
  EXPECT_EQ(with({"--test-report", "r.xml"}).exit_code, 2) << "--test-report needs junit";
  CliResult outside = with({"--test-format", "junit", "--test-report", "../r.xml"});
  EXPECT_EQ(outside.exit_code, 2);
  EXPECT_NE(outside.err.find("inside the repository"), std::string::npos) << outside.err;
  // A test command that prints nothing the format knows: no evidence the suite ran.
  CliResult silent = with({"--test-format", "gtest"});
  EXPECT_EQ(silent.exit_code, 2);
  EXPECT_NE(silent.err.find("no gtest results"), std::string::npos) << silent.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "state/runs") && !std::filesystem::is_empty(dir / "state/runs") &&
               RunSwarm({"runs", "--state-dir", dir / "state"}).out.find("completed") != std::string::npos);
}

}  // namespace
}  // namespace swarm::testing
