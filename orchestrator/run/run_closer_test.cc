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

TEST(RunCloserTest, ALaneIsPublishedWhenEverySubtaskLandedOrNeededNoChangeAndOneLanded) {
  Plan plan;
  for (const auto& [id, lane] : std::vector<std::pair<std::string, std::string>>{
           {"a1", "A"}, {"a2", "A"}, {"b1", "B"}, {"c1", "C"}, {"d1", "D"}}) {
    v1::Subtask& s = plan.subtasks.emplace_back();
    s.set_id(id);
    s.set_lane(lane);
  }
  Scheduler scheduler(plan, 3);
  scheduler.Restore("a1", Scheduler::State::kLanded, 1, 0);
  scheduler.Restore("a2", Scheduler::State::kNoChange, 1, 0);
  scheduler.Restore("b1", Scheduler::State::kNoChange, 1, 0);  // nothing landed: no branch
  scheduler.Restore("c1", Scheduler::State::kFailed, 3, 0);
  scheduler.Restore("d1", Scheduler::State::kLanded, 1, 0);
  v1::Backlog backlog;
  for (const char* id : {"D", "A", "B", "C"}) backlog.add_issues()->set_id(id);
  backlog.set_branch_prefix("swarm/issue-");
  backlog.set_redo(true);
  std::vector<LaneToPublish> lanes = ResolvedLanes(scheduler, backlog);
  ASSERT_EQ(lanes.size(), 2u);
  EXPECT_EQ(lanes[0].lane, "D");  // in the backlog's order
  EXPECT_EQ(lanes[0].branch, "swarm/issue-D");
  EXPECT_TRUE(lanes[0].replace);
  EXPECT_EQ(lanes[1].lane, "A");
}

}  // namespace
}  // namespace swarm
