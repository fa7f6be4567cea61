// Seeing a stuck agent from the command line (issue 18, item 3): `swarm show` gives a running attempt
// its start and how long it has run, and `swarm logs RUN SUBTASK --follow` shows its output as it is
// written, not only after it ends. The real binaries, real processes, real bubblewrap.
#include <gtest/gtest.h>
#include <stdio.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

namespace fs = std::filesystem;

class FollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitRepo(repo());
    WriteFile(repo() + "/README", "hello\n");
    CommitAll(repo(), "base");
    WriteFile(dir_ / "plan.json", R"({"subtasks": [{"id": "slow", "title": "t", "instructions": "i"}]})");
  }
  std::string repo() const { return dir_ / "repo"; }
  std::string state() const { return dir_ / "state"; }
  std::string RunId() const {
    for (const auto& e : fs::directory_iterator(state() + "/runs")) return e.path().filename().string();
    return "";
  }
  TempDir dir_;
};

TEST_F(FollowTest, ARunningAttemptShowsItsTimeAndItsOutputAsItIsWritten) {
  // The agent says one thing, then takes its time before the next.
  auto run = std::async(std::launch::async, [&] {
    return RunSwarm({"run", "--repo", repo(), "--state-dir", state(), "--plan", dir_ / "plan.json", "--agent-cmd",
                     "echo step-one; sleep 4; echo step-two >&2; echo done > out.txt", "--test-cmd", "true"});
  });
  ASSERT_TRUE(WaitForEvent(state(), [](const v1::Event& e) { return e.has_subtask_leased(); }).has_value());
  const std::string id = RunId();

  CliResult shown = RunSwarm({"show", id, "--state-dir", state()});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(absl::StrContains(shown.out, "running for ")) << shown.out;
  EXPECT_TRUE(absl::StrContains(shown.out, "--follow")) << shown.out;

  FILE* follow = popen(
      absl::StrCat(BuildDir(), "/bin/swarm logs ", id, " slow --follow --state-dir ", state(), " 2>&1").c_str(), "r");
  ASSERT_NE(follow, nullptr);
  std::string seen;
  bool live = false;  // step-one was shown while the attempt still ran (before its final log existed)
  char line[4096];
  while (fgets(line, sizeof line, follow) != nullptr) {
    seen += line;
    if (std::string(line) == "step-one\n") {  // its output (the command line above it names it too)
      live = !fs::exists(absl::StrCat(state(), "/runs/", id, "/logs/slow.1.agent.log"));
    }
  }
  EXPECT_EQ(pclose(follow), 0) << seen;
  EXPECT_TRUE(live) << seen;
  EXPECT_TRUE(absl::StrContains(seen, "\nstep-two\n")) << seen;
  EXPECT_TRUE(absl::StrContains(seen, "attempt 1 ended: patch")) << seen;
  EXPECT_TRUE(absl::StrContains(seen, "subtask slow: landed")) << seen;
  CliResult r = run.get();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(absl::StrCat(state(), "/runs/", id, "/live/slow.1.log"))) << "the live log goes at the end";

  shown = RunSwarm({"show", id, "--state-dir", state()});
  EXPECT_TRUE(absl::StrContains(shown.out, "patch after ")) << shown.out;
  CliResult bad = RunSwarm({"logs", id, "--follow", "--state-dir", state()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "--follow needs a SUBTASK")) << bad.err;
}

}  // namespace
}  // namespace swarm::testing
