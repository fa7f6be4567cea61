#include "orchestrator/run/run_start.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "orchestrator/run/exit_codes.h"

namespace swarm {
namespace {

constexpr char kBase[] = "73b6647e8a4644767a588dd0db3be2c7f917ea46";

TEST(EndBeforeAgentsTest, ARunThatMayGoOnHasNoEnding) {
  EXPECT_FALSE(EndBeforeAgents(absl::OkStatus(), absl::OkStatus(), 0, std::nullopt, kBase).has_value());
}

TEST(EndBeforeAgentsTest, AFailedSetupOrHeadFailsTheRunWithItsStatus) {
  std::optional<EarlyEnd> end =
      EndBeforeAgents(absl::OkStatus(), absl::InvalidArgumentError("the test command fails on the base"), 0,
                      std::nullopt, kBase);
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->why.message(), "the test command fails on the base");
  EXPECT_EQ(end->exit_code, ExitCodeFor(end->why));
  EXPECT_EQ(end->finished.run_finished().run_state(), v1::RUN_STATE_FAILED);
  EXPECT_EQ(end->finished.run_finished().state(), "failed");
  EXPECT_EQ(end->finished.run_finished().head(), kBase);
  EXPECT_EQ(end->finished.run_finished().exit_code(), end->exit_code);
  // The setup's error comes first.
  end = EndBeforeAgents(absl::FailedPreconditionError("store"), absl::InvalidArgumentError("head"), 0, std::nullopt,
                        kBase);
  EXPECT_EQ(end->why.message(), "store");
}

TEST(EndBeforeAgentsTest, ASignalOrACancelDuringSetupCancelsTheRun) {
  std::optional<EarlyEnd> interrupted = EndBeforeAgents(absl::OkStatus(), absl::OkStatus(), SIGINT, std::nullopt, kBase);
  ASSERT_TRUE(interrupted.has_value());
  EXPECT_EQ(interrupted->exit_code, kExitInterrupted);
  EXPECT_EQ(interrupted->finished.run_finished().run_state(), v1::RUN_STATE_CANCELLED);
  EXPECT_EQ(interrupted->why.message(), "interrupted before any agent started");
  std::optional<EarlyEnd> terminated = EndBeforeAgents(absl::OkStatus(), absl::OkStatus(), SIGTERM, std::nullopt, kBase);
  EXPECT_EQ(terminated->exit_code, ExitCodeFor(absl::CancelledError("")));
  std::optional<EarlyEnd> cancelled =
      EndBeforeAgents(absl::OkStatus(), absl::OkStatus(), 0, std::string("cancelled by swarm cancel"), kBase);
  ASSERT_TRUE(cancelled.has_value());
  EXPECT_EQ(cancelled->why.message(), "cancelled by swarm cancel before any agent started");
  EXPECT_EQ(cancelled->finished.run_finished().run_state(), v1::RUN_STATE_CANCELLED);
}

}  // namespace
}  // namespace swarm
