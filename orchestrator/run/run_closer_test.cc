#include "orchestrator/run/run_closer.h"

#include <gtest/gtest.h>

#include "orchestrator/run/exit_codes.h"

namespace swarm {
namespace {

RunEnding Ending(int landed, int no_change, int total) {
  RunEnding e;
  e.landed = landed;
  e.no_change = no_change;
  e.total = total;
  e.failed = total - landed - no_change;
  return e;
}

TEST(RunCloserTest, EveryoneLandedOrUnchangedIsSuccessUnlessItCouldNotBePublished) {
  EXPECT_EQ(RunExitCode(Ending(3, 1, 4), false), kExitOk);
  EXPECT_EQ(RunEndState(Ending(3, 1, 4), kExitOk), v1::RUN_STATE_COMPLETED);
  EXPECT_EQ(RunExitCode(Ending(3, 1, 4), true), kExitEnvironment);
  EXPECT_EQ(RunExitCode(Ending(0, 0, 0), false), kExitOk);  // an empty plan
}

TEST(RunCloserTest, WhatDidNotLandIsIncompleteOrABudgetStop) {
  EXPECT_EQ(RunExitCode(Ending(2, 0, 4), false), kExitIncomplete);
  EXPECT_EQ(RunExitCode(Ending(2, 0, 4), true), kExitIncomplete);  // a publish failure does not hide it
  RunEnding budget = Ending(2, 0, 4);
  budget.budget_stopped = true;
  EXPECT_EQ(RunExitCode(budget, false), kExitBudget);
  EXPECT_EQ(RunEndState(budget, kExitBudget), v1::RUN_STATE_BUDGET);
  budget.landed = 4;  // the budget ran out after everything landed: a success
  EXPECT_EQ(RunExitCode(budget, false), kExitOk);
}

TEST(RunCloserTest, ACancelWinsWhateverLanded) {
  RunEnding cancelled = Ending(4, 0, 4);
  cancelled.cancel_exit = kExitInterrupted;
  cancelled.budget_stopped = true;
  EXPECT_EQ(RunExitCode(cancelled, true), kExitInterrupted);
  EXPECT_EQ(RunEndState(cancelled, kExitInterrupted), v1::RUN_STATE_CANCELLED);
}

}  // namespace
}  // namespace swarm
