// A state directory written by an earlier swarm, kept as a fixture: its events carry the closed sets
// (attempt outcomes, rejection reasons, run states, test stages) as strings only. Today's swarm must
// show, watch and resume it as that swarm would have. (A RunSpec stored before its settings had
// presence is read by FromStoredSpec; run_settings_test keeps those bytes.)
//
// tests/fixtures/state-dir-2026-12.tar.gz holds /tmp/swarm-state-fixture: a repository, the plan, the
// agent script, and the state directory of a run killed at its fourth landing (SWARM_FAILPOINT=
// landed:4) by swarm at 3f511c9, the last before the enums: s1, s4 and s6 landed (s4 after a failed attempt), s3 changed nothing,
// s5 was rejected by its check, s2 conflicted and was being redone, s7 was landing. It is unpacked at
// the path where it was made, since the store names paths absolutely.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "testing/swarm_cli.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::RunSwarm;

constexpr char kRoot[] = "/tmp/swarm-state-fixture";
constexpr char kRun[] = "20261206-172636-eb90";
constexpr char kBase[] = "73b6647e8a4644767a588dd0db3be2c7f917ea46";

class StateFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::remove_all(kRoot);
    testing::Sh("tar xzf " + testing::SourceDir() + "/tests/fixtures/state-dir-2026-12.tar.gz -C /tmp");
    ASSERT_TRUE(fs::exists(state() + "/swarm.db"));
  }
  void TearDown() override { fs::remove_all(kRoot); }
  static std::string state() { return std::string(kRoot) + "/state"; }
  static std::string repo() { return std::string(kRoot) + "/repo"; }
};

TEST_F(StateFixtureTest, AnEarlierSwarmsRunIsShownWatchedAndResumedAsItWouldHaveBeen) {
  CliResult shown = RunSwarm({"show", kRun, "--state-dir", state()});
  ASSERT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  EXPECT_NE(shown.out.find("(interrupted"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("attempt 1 on host-1 from 73b6647e8a46: failed"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("s5  rejected_check"), std::string::npos) << shown.out;

  // The stored events read as they were written: outcomes, reasons and stages from their strings.
  CliResult watched = RunSwarm({"watch", kRun, "--state-dir", state()});
  EXPECT_NE(watched.exit_code, 0) << "its coordinator is gone without finishing it";
  EXPECT_NE(watched.err.find("is gone without finishing it"), std::string::npos) << watched.err;
  for (const char* line : {"attempt 1 of s4: failed", "attempt 1 of s3: no_change", "attempt 2 of s4: patch",
                           "patch of s2 rejected: conflict", "patch of s5 rejected: check_failed",
                           "test of the base passed"}) {
    EXPECT_NE(watched.out.find(line), std::string::npos) << line << "\n" << watched.out;
  }

  // Resumed: the conflict it had counted is not counted again, nothing lands twice, s5 stays failed.
  CliResult resumed = RunSwarm({"resume", kRun, "--state-dir", state()});
  EXPECT_EQ(resumed.exit_code, 1) << "one subtask failed: " << resumed.out << resumed.err;
  std::map<std::string, int> landed = testing::Landings(repo(), kBase, std::string("swarm/") + kRun);
  EXPECT_EQ(landed, (std::map<std::string, int>{{"s1", 1}, {"s2", 1}, {"s4", 1}, {"s6", 1}, {"s7", 1}}));
  CliResult after = RunSwarm({"show", kRun, "--state-dir", state()});
  EXPECT_NE(after.out.find("(completed)"), std::string::npos) << after.out;
  CliResult all = RunSwarm({"watch", kRun, "--state-dir", state()});
  EXPECT_EQ(all.exit_code, 1) << all.out << all.err;
  EXPECT_NE(all.out.find("run completed: 5 landed, 1 failed, 0 skipped, 1 unchanged"), std::string::npos) << all.out;
  // Today's events carry the enums and, for readers of --json, the strings too.
  std::vector<v1::Event> events = testing::OnlyRunEvents(state());
  ASSERT_FALSE(events.empty());
  const v1::RunFinished& finished = events.back().run_finished();
  EXPECT_EQ(finished.run_state(), v1::RUN_STATE_COMPLETED);
  EXPECT_EQ(finished.state(), "completed");
}

}  // namespace
}  // namespace swarm
