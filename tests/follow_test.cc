// Seeing a stuck agent from the command line (issue 18, item 3): `swarm show` gives a running attempt
// its start and how long it has run, and `swarm logs RUN SUBTASK --follow` shows its output as it is
// written, not only after it ends. The real binaries, real processes, real bubblewrap.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sandbox/process.h"
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
  // `swarm logs RUN slow --follow`, cut off (exit 124) if it does not end by itself.
  std::string Follow(const std::string& id) const {
    return absl::StrCat("timeout 120 ", BuildDir(), "/bin/swarm logs ", id, " slow --follow --state-dir ", state(),
                        " 2>&1");
  }
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

  FILE* follow = popen(Follow(id).c_str(), "r");
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

// Its coordinator killed, a run's open attempt never ends: following it stops at once, saying so,
// instead of waiting for an end that will not come. An agent that fails at once and is retried shows
// every attempt, not only those that were running when the follower looked.
TEST_F(FollowTest, FollowingStopsWhenTheCoordinatorIsDeadAndShowsAttemptsThatCameAndWent) {
  ProcessSpec spec;
  spec.argv = {BuildDir() + "/bin/swarm",
               "run",
               "--repo",
               repo(),
               "--state-dir",
               state(),
               "--plan",
               dir_ / "plan.json",
               "--max-attempts",
               "3",
               "--agent-cmd",
               "if [ \"$SWARM_ATTEMPT\" -lt 3 ]; then echo attempt-$SWARM_ATTEMPT-fails; exit 1; fi; "
               "echo still-going; sleep 60",
               "--test-cmd",
               "true"};
  spec.timeout = std::chrono::seconds(120);
  std::atomic<int> coordinator{0};
  spec.on_start = [&](int pid) { coordinator = pid; };
  absl::StatusOr<ProcessResult> result;
  std::jthread runner([&] { result = RunProcess(spec); });
  ASSERT_TRUE(WaitForEvent(state(), [](const v1::Event& e) {
                return e.has_subtask_leased() && e.subtask_leased().attempt() == 3;
              }).has_value());
  const std::string id = RunId();
  // While it runs: the two failed attempts (over before anyone looked), then the third as it comes.
  FILE* follow = popen(Follow(id).c_str(), "r");
  ASSERT_NE(follow, nullptr);
  std::string seen;
  char line[4096];
  while (fgets(line, sizeof line, follow) != nullptr) {
    seen += line;
    if (std::string(line) == "still-going\n") break;
  }
  EXPECT_TRUE(absl::StrContains(seen, "attempt-1-fails")) << seen;
  EXPECT_TRUE(absl::StrContains(seen, "attempt-2-fails")) << seen;
  // Now the coordinator and its hosts die (frozen first, so that it cannot close anything).
  ASSERT_EQ(kill(coordinator, SIGSTOP), 0);
  for (const auto& e : OnlyRunEvents(state())) {
    if (e.has_agent_registered()) kill(static_cast<int>(e.agent_registered().pid()), SIGKILL);
  }
  kill(coordinator, SIGKILL);
  runner.join();
  while (fgets(line, sizeof line, follow) != nullptr) seen += line;
  EXPECT_EQ(pclose(follow), 0) << "the follower did not stop by itself:\n" << seen;
  EXPECT_TRUE(absl::StrContains(seen, "(run interrupted)")) << seen;
  // A follower started afterwards stops too.
  std::string output;
  EXPECT_EQ(ShStatus(Follow(id), &output), 0) << output;
  EXPECT_TRUE(absl::StrContains(output, "(run interrupted)")) << output;
}

}  // namespace
}  // namespace swarm::testing
