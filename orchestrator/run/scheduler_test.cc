#include "orchestrator/run/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace swarm {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using State = Scheduler::State;
using Batches = std::vector<std::vector<std::string>>;

struct SubtaskDef {
  std::string id;
  std::vector<std::string> depends_on = {};
  std::vector<std::string> files = {};
  std::string group = "";
  double estimate_s = 0;
  std::string lane = "";
};

// A validated plan, so that dependencies on group members are effective as in a real run.
Plan MakePlan(const std::vector<SubtaskDef>& defs) {
  Plan plan;
  for (const auto& d : defs) {
    v1::Subtask s;
    s.set_id(d.id);
    s.set_title("title of " + d.id);
    s.set_instructions("do " + d.id);
    for (const auto& x : d.depends_on) s.add_depends_on(x);
    for (const auto& f : d.files) s.add_files(f);
    s.set_group(d.group);
    s.set_estimate_s(d.estimate_s);
    s.set_lane(d.lane);
    plan.subtasks.push_back(std::move(s));
  }
  absl::Status st = ValidatePlan(plan, "test plan");
  EXPECT_TRUE(st.ok()) << st;
  return plan;
}

// Every subtask ready now, in the order TakeReady hands them out.
std::vector<std::string> TakeAllReady(Scheduler& s) {
  std::vector<std::string> out;
  while (std::optional<std::string> id = s.TakeReady()) out.push_back(*id);
  return out;
}

TEST(SchedulerTest, IndependentSubtasksComeOutInPlanOrderEachCountingAnAttempt) {
  Scheduler s(MakePlan({{"zeta"}, {"alpha"}, {"mid"}}), 3);
  EXPECT_EQ(s.order(), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  for (const auto& id : s.order()) {
    EXPECT_EQ(s.state(id), State::kPending);
    EXPECT_EQ(s.attempts(id), 0);
  }
  EXPECT_THAT(TakeAllReady(s), ElementsAre("zeta", "alpha", "mid"));
  for (const auto& id : s.order()) {
    EXPECT_EQ(s.state(id), State::kRunning) << id;
    EXPECT_EQ(s.attempts(id), 1) << id;
  }
  EXPECT_EQ(s.spec("mid").instructions(), "do mid");
}

TEST(SchedulerTest, DependentWaitsUntilItsDependencyLands) {
  Scheduler s(MakePlan({{"b", {"a"}}, {"a"}, {"c", {"b"}}}), 3);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("a"));
  s.AttemptSucceeded("a", /*no_change=*/false);
  EXPECT_EQ(s.state("a"), State::kPatchReady);
  EXPECT_EQ(s.TakeReady(), std::nullopt) << "a patch that has not landed is not a base to build on";
  EXPECT_THAT(s.TakeMergeable(nullptr), ElementsAre(ElementsAre("a")));
  EXPECT_EQ(s.state("a"), State::kMerging);
  EXPECT_EQ(s.TakeReady(), std::nullopt);
  s.Finish("a", State::kLanded);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("b"));
  EXPECT_EQ(s.attempts("c"), 0);
}

TEST(SchedulerTest, DependencyThatNeededNoChangeUnblocks) {
  Scheduler s(MakePlan({{"a"}, {"b", {"a"}}}), 3);
  EXPECT_EQ(s.TakeReady(), "a");
  s.AttemptSucceeded("a", /*no_change=*/true);
  EXPECT_EQ(s.state("a"), State::kNoChange);
  EXPECT_THAT(s.TakeMergeable(nullptr), IsEmpty()) << "nothing to merge for no change";
  EXPECT_EQ(s.TakeReady(), "b");
}

TEST(SchedulerTest, DependentWaitsForTheWholeGroupOfItsDependency) {
  Scheduler s(MakePlan({{"g1", {}, {}, "g"}, {"g2", {}, {}, "g"}, {"x", {"g1"}}}), 3);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("g1", "g2"));
  s.AttemptSucceeded("g1", false);
  s.AttemptSucceeded("g2", false);
  EXPECT_THAT(s.TakeMergeable(nullptr), ElementsAre(ElementsAre("g1", "g2")));
  s.Finish("g1", State::kLanded);
  EXPECT_EQ(s.TakeReady(), std::nullopt) << "x depends on g1, so on all of group g";
  s.Finish("g2", State::kLanded);
  EXPECT_EQ(s.TakeReady(), "x");
}

TEST(SchedulerTest, FailedDependencySkipsDependentsTransitively) {
  // Dependents listed before what they depend on, so one pass over the plan is not enough.
  Scheduler s(MakePlan({{"d", {"c"}}, {"c", {"b"}}, {"b", {"a"}}, {"a"}, {"e"}}), 1);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("a", "e"));
  EXPECT_THAT(s.TakeBlocked(), IsEmpty()) << "nothing has failed yet";
  EXPECT_FALSE(s.AttemptFailed("a"));
  EXPECT_EQ(s.state("a"), State::kFailed);
  std::vector<std::string> blocked = s.TakeBlocked();
  EXPECT_THAT(blocked, ::testing::UnorderedElementsAre("b", "c", "d"));
  for (const char* id : {"b", "c", "d"}) {
    EXPECT_EQ(s.state(id), State::kSkipped) << id;
    EXPECT_EQ(s.attempts(id), 0) << id;
  }
  EXPECT_EQ(s.state("e"), State::kRunning) << "an unrelated subtask goes on";
  EXPECT_THAT(s.TakeBlocked(), IsEmpty()) << "each is reported once";
  EXPECT_EQ(s.TakeReady(), std::nullopt);
}

TEST(SchedulerTest, FailedAttemptsAreRetriedUntilMaxAttempts) {
  Scheduler s(MakePlan({{"a"}, {"b", {"a"}}}), 3);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_EQ(s.TakeReady(), "a") << "attempt " << attempt;
    EXPECT_EQ(s.attempts("a"), attempt);
    bool retried = s.AttemptFailed("a");
    EXPECT_EQ(retried, attempt < 3) << "attempt " << attempt;
    EXPECT_EQ(s.state("a"), attempt < 3 ? State::kPending : State::kFailed);
  }
  EXPECT_EQ(s.TakeReady(), std::nullopt);
  EXPECT_EQ(s.attempts("a"), 3);
  EXPECT_THAT(s.TakeBlocked(), ElementsAre("b"));
}

TEST(SchedulerTest, RetryAfterAFailureSucceeds) {
  Scheduler s(MakePlan({{"a"}}), 2);
  ASSERT_EQ(s.TakeReady(), "a");
  EXPECT_TRUE(s.AttemptFailed("a"));
  ASSERT_EQ(s.TakeReady(), "a");
  s.AttemptSucceeded("a", false);
  EXPECT_EQ(s.attempts("a"), 2);
  EXPECT_THAT(s.TakeMergeable(nullptr), ElementsAre(ElementsAre("a")));
}

TEST(SchedulerTest, SubtasksSharingFilesAreNotCoScheduled) {
  Scheduler s(MakePlan({{"a", {}, {"src/x.cc"}},
                        {"b", {}, {"src/y.cc", "src/x.cc"}},
                        {"c", {}, {"src/z.cc"}},
                        {"d", {}, {}},
                        {"e", {}, {"src/z.cc"}}}),
              3);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("a", "c", "d"))
      << "b would write src/x.cc while a does; e would write src/z.cc while c does";
  EXPECT_EQ(s.state("b"), State::kPending);
  EXPECT_EQ(s.attempts("b"), 0);
  s.AttemptSucceeded("a", false);
  EXPECT_THAT(TakeAllReady(s), IsEmpty()) << "a's patch has not landed: b would start from a stale base";
  s.Finish("a", State::kLanded);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("b")) << "a landed";
  EXPECT_TRUE(s.AttemptFailed("c"));
  // c, back to pending, now competes with e for src/z.cc: plan order decides.
  EXPECT_THAT(TakeAllReady(s), ElementsAre("c"));
  EXPECT_EQ(s.state("e"), State::kPending);
}

// Regression: members of one group that declare the same file waited for each other's patch to
// land, which a group only does once every member is done: the run hung.
TEST(SchedulerTest, GroupMembersSharingAFileDoNotWaitForEachOtherToLand) {
  Scheduler s(MakePlan({{"r1", {}, {"a.txt"}, "g"}, {"r2", {}, {"a.txt"}, "g"}}), 3);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("r1")) << "not at the same time";
  s.AttemptSucceeded("r1", false);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("r2")) << "r1's patch waits for the group, not r2 for it";
  s.AttemptSucceeded("r2", false);
  std::vector<std::string> failed_groups;
  EXPECT_THAT(s.TakeMergeable(&failed_groups), ElementsAre(ElementsAre("r1", "r2")));
}

TEST(SchedulerTest, LonePatchIsMergeableOnce) {
  Scheduler s(MakePlan({{"a"}, {"b"}, {"c"}}), 3);
  TakeAllReady(s);
  s.AttemptSucceeded("b", false);
  std::vector<std::string> failed_groups;
  EXPECT_THAT(s.TakeMergeable(&failed_groups), ElementsAre(ElementsAre("b")));
  EXPECT_EQ(s.state("b"), State::kMerging);
  EXPECT_THAT(s.TakeMergeable(&failed_groups), IsEmpty());
  s.AttemptSucceeded("c", false);
  s.AttemptSucceeded("a", false);
  EXPECT_THAT(s.TakeMergeable(&failed_groups), ElementsAre(ElementsAre("a"), ElementsAre("c")))
      << "separate batches, in plan order";
  EXPECT_THAT(failed_groups, IsEmpty());
}

TEST(SchedulerTest, AtomicGroupIsMergedAsOneBatchOnceEveryMemberIsDone) {
  Scheduler s(MakePlan({{"g1", {}, {}, "g"}, {"x"}, {"g2", {}, {}, "g"}, {"g3", {}, {}, "g"}}), 3);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("g1", "x", "g2", "g3"));
  s.AttemptSucceeded("g1", false);
  s.AttemptSucceeded("g2", true);
  std::vector<std::string> failed_groups;
  EXPECT_THAT(s.TakeMergeable(&failed_groups), IsEmpty()) << "g3 is still running";
  EXPECT_EQ(s.state("g1"), State::kPatchReady);
  s.AttemptSucceeded("x", false);
  EXPECT_THAT(s.TakeMergeable(&failed_groups), ElementsAre(ElementsAre("x")));
  EXPECT_TRUE(s.AttemptFailed("g3")) << "a retry keeps the group waiting";
  EXPECT_THAT(s.TakeMergeable(&failed_groups), IsEmpty());
  ASSERT_EQ(s.TakeReady(), "g3");
  s.AttemptSucceeded("g3", false);
  EXPECT_THAT(s.TakeMergeable(&failed_groups), ElementsAre(ElementsAre("g1", "g3")))
      << "one batch with the members that have patches; g2 needed no change";
  EXPECT_EQ(s.state("g1"), State::kMerging);
  EXPECT_EQ(s.state("g2"), State::kNoChange);
  EXPECT_EQ(s.state("g3"), State::kMerging);
  EXPECT_THAT(s.TakeMergeable(&failed_groups), IsEmpty()) << "returned once";
  EXPECT_THAT(failed_groups, IsEmpty());
}

TEST(SchedulerTest, GroupWhereNoMemberChangedAnythingHasNothingToMerge) {
  Scheduler s(MakePlan({{"g1", {}, {}, "g"}, {"g2", {}, {}, "g"}}), 3);
  TakeAllReady(s);
  s.AttemptSucceeded("g1", true);
  s.AttemptSucceeded("g2", true);
  std::vector<std::string> failed_groups;
  EXPECT_THAT(s.TakeMergeable(&failed_groups), IsEmpty());
  EXPECT_THAT(failed_groups, IsEmpty());
  EXPECT_TRUE(s.AllDone());
}

TEST(SchedulerTest, GroupWithAFailedMemberFailsWhole) {
  Scheduler s(MakePlan({{"g1", {}, {}, "g"}, {"g2", {}, {}, "g"}, {"g3", {}, {}, "g"}, {"after", {"g3"}},
                        {"y"}}),
              1);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("g1", "g2", "g3", "y"));
  s.AttemptSucceeded("g1", false);
  EXPECT_FALSE(s.AttemptFailed("g2"));
  std::vector<std::string> failed_groups;
  EXPECT_THAT(s.TakeMergeable(&failed_groups), IsEmpty());
  EXPECT_THAT(failed_groups, IsEmpty()) << "g3 is still running: decided once every member is done";
  EXPECT_EQ(s.state("g1"), State::kPatchReady);
  s.AttemptSucceeded("g3", false);
  s.AttemptSucceeded("y", false);
  EXPECT_THAT(s.TakeMergeable(&failed_groups), ElementsAre(ElementsAre("y"))) << "no batch from group g";
  EXPECT_THAT(failed_groups, ElementsAre("g"));
  for (const char* id : {"g1", "g2", "g3"}) EXPECT_EQ(s.state(id), State::kFailed) << id;
  EXPECT_THAT(s.TakeBlocked(), ElementsAre("after"));
  failed_groups.clear();
  EXPECT_THAT(s.TakeMergeable(&failed_groups), IsEmpty());
  EXPECT_THAT(failed_groups, IsEmpty()) << "named once";
}

TEST(SchedulerTest, PartialGroupMembersComeOneByOneAndAFailureHoldsBackNoOther) {
  Plan plan = MakePlan({{"p1", {}, {}, "p"}, {"p2", {}, {}, "p"}, {"p3", {}, {}, "p"}});
  plan.groups["p"].partial = true;
  Scheduler s(plan, 1);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("p1", "p2", "p3"));
  s.AttemptSucceeded("p2", false);
  std::vector<std::string> failed_groups;
  EXPECT_THAT(s.TakeMergeable(&failed_groups), ElementsAre(ElementsAre("p2"))) << "not waiting for p1 and p3";
  EXPECT_FALSE(s.AttemptFailed("p1"));
  s.AttemptSucceeded("p3", false);
  EXPECT_THAT(s.TakeMergeable(&failed_groups), ElementsAre(ElementsAre("p3")));
  EXPECT_THAT(failed_groups, IsEmpty());
  EXPECT_EQ(s.state("p2"), State::kMerging);
}

TEST(SchedulerTest, GroupWithASkippedMemberFailsWhole) {
  Scheduler s(MakePlan({{"base"}, {"g1", {}, {}, "g"}, {"g2", {"base"}, {}, "g"}}), 1);
  EXPECT_THAT(TakeAllReady(s), ElementsAre("base", "g1"));
  EXPECT_FALSE(s.AttemptFailed("base"));
  EXPECT_THAT(s.TakeBlocked(), ElementsAre("g2"));
  s.AttemptSucceeded("g1", false);
  std::vector<std::string> failed_groups;
  EXPECT_THAT(s.TakeMergeable(&failed_groups), IsEmpty());
  EXPECT_THAT(failed_groups, ElementsAre("g"));
  EXPECT_EQ(s.state("g1"), State::kFailed);
}

TEST(SchedulerTest, AllDoneAndCountFollowTheStates) {
  Scheduler s(MakePlan({{"a"}, {"b"}, {"c", {"b"}}, {"d"}}), 1);
  EXPECT_FALSE(s.AllDone());
  EXPECT_EQ(s.Count(State::kPending), 4);
  TakeAllReady(s);
  EXPECT_EQ(s.Count(State::kRunning), 3);
  EXPECT_EQ(s.Count(State::kPending), 1);
  s.AttemptSucceeded("a", false);
  s.AttemptSucceeded("d", true);
  EXPECT_FALSE(s.AttemptFailed("b"));
  s.TakeBlocked();
  EXPECT_FALSE(s.AllDone()) << "a's patch has not landed";
  EXPECT_EQ(s.Count(State::kPatchReady), 1);
  s.TakeMergeable(nullptr);
  EXPECT_FALSE(s.AllDone()) << "a is merging";
  s.Finish("a", State::kLanded);
  EXPECT_TRUE(s.AllDone());
  EXPECT_EQ(s.Count(State::kLanded), 1);
  EXPECT_EQ(s.Count(State::kFailed), 1);
  EXPECT_EQ(s.Count(State::kSkipped), 1);
  EXPECT_EQ(s.Count(State::kNoChange), 1);
  EXPECT_EQ(s.Count(State::kRunning), 0);
}

TEST(SchedulerTest, EmptyPlanIsDone) {
  Scheduler s(Plan{}, 3);
  EXPECT_TRUE(s.AllDone());
  EXPECT_EQ(s.TakeReady(), std::nullopt);
  EXPECT_THAT(s.TakeMergeable(nullptr), IsEmpty());
}

// Ready subtasks outnumber free agents: the head of the longest chain goes first, though plan order
// lists the short leaves before it; then the rest in plan order.
TEST(SchedulerTest, TheHeadOfTheLongestChainIsLeasedFirstAndTiesGoInPlanOrder) {
  Scheduler s(MakePlan({{"leaf1"}, {"leaf2"}, {"leaf3"},
                        {"c1"}, {"c2", {"c1"}}, {"c3", {"c2"}}, {"c4", {"c3"}},
                        {"leaf4"}}),
              3);
  EXPECT_EQ(s.ChainWeight("c1"), 4);
  EXPECT_EQ(s.ChainWeight("c4"), 1);
  EXPECT_EQ(s.ChainWeight("leaf1"), 1);
  EXPECT_EQ(s.TakeReady(), "c1");
  EXPECT_EQ(s.TakeReady(), "leaf1");
  EXPECT_EQ(s.TakeReady(), "leaf2");
  s.AttemptSucceeded("c1", /*no_change=*/true);
  EXPECT_EQ(s.TakeReady(), "c2") << "the chain goes on before the leaves left";
  EXPECT_EQ(s.TakeReady(), "leaf3");
  EXPECT_EQ(s.TakeReady(), "leaf4");
  EXPECT_EQ(s.TakeReady(), std::nullopt);
}

TEST(SchedulerTest, EstimatesWeighTheChains) {
  // One slow leaf (10 s) outweighs a chain of three subtasks with no estimate (1 each); a chain of
  // estimates sums them.
  Scheduler s(MakePlan({{"a"}, {"b", {"a"}}, {"c", {"b"}},
                        {"slow", {}, {}, "", 10},
                        {"x", {}, {}, "", 2}, {"y", {"x"}, {}, "", 9.5}}),
              3);
  EXPECT_EQ(s.ChainWeight("a"), 3);
  EXPECT_EQ(s.ChainWeight("x"), 11.5);
  EXPECT_EQ(s.TakeReady(), "x");
  EXPECT_EQ(s.TakeReady(), "slow");
  EXPECT_EQ(s.TakeReady(), "a");
}

TEST(SchedulerTest, ADiamondWeighsItsLongestBranchOnce) {
  Scheduler s(MakePlan({{"top"}, {"left", {"top"}}, {"right", {"top"}}, {"mid", {"right"}},
                        {"bottom", {"left", "mid"}}}),
              3);
  EXPECT_EQ(s.ChainWeight("top"), 4);  // top, right, mid, bottom
  EXPECT_EQ(s.ChainWeight("left"), 2);
  EXPECT_EQ(s.Count(State::kPending), 5);
  EXPECT_EQ(s.TakeReady(), "top");
  EXPECT_EQ(s.Count(State::kPending), 4);
  EXPECT_EQ(s.Count(State::kRunning), 1);
  s.AttemptSucceeded("top", /*no_change=*/true);
  EXPECT_EQ(s.TakeReady(), "right");
  EXPECT_EQ(s.TakeReady(), "left");
}

// Many subtasks: the counts and the ready set stay true through every kind of change.
TEST(SchedulerTest, CountsStayTrueOverALargePlan) {
  std::vector<SubtaskDef> defs;
  for (int i = 0; i < 2000; ++i) {
    SubtaskDef d{"s" + std::to_string(i)};
    if (i % 10 != 0) d.depends_on = {"s" + std::to_string(i - i % 10)};
    defs.push_back(d);
  }
  Scheduler s(MakePlan(defs), 1);
  int taken = 0;
  while (auto id = s.TakeReady()) {
    ++taken;
    if ((*id)[1] == '1' && id->size() == 5) {  // s1000..s1999's heads among them fail
      s.AttemptFailed(*id);
    } else {
      s.AttemptSucceeded(*id, /*no_change=*/true);
    }
  }
  std::vector<std::string> skipped = s.TakeBlocked();
  EXPECT_EQ(s.Count(State::kNoChange) + s.Count(State::kFailed) + s.Count(State::kSkipped), 2000);
  EXPECT_EQ(static_cast<int>(skipped.size()), s.Count(State::kSkipped));
  EXPECT_EQ(taken + s.Count(State::kSkipped), 2000);
  EXPECT_EQ(s.Count(State::kFailed), 100);
  EXPECT_EQ(s.Count(State::kSkipped), 900);
  EXPECT_TRUE(s.AllDone());
}

TEST(SchedulerLanesTest, ALaneHoldsAtMostItsShareAndFilesClashOnlyWithinALane) {
  // Lane A has three ready subtasks (the longest chains), lane B one; at most two running per lane.
  Plan plan = MakePlan({{.id = "a1", .files = {"x.c"}, .estimate_s = 9, .lane = "A"},
                        {.id = "a2", .estimate_s = 8, .lane = "A"},
                        {.id = "a3", .estimate_s = 7, .lane = "A"},
                        {.id = "b1", .files = {"x.c"}, .estimate_s = 1, .lane = "B"}});
  Scheduler s(plan, 3, /*max_running_per_lane=*/2);
  EXPECT_EQ(s.TakeReady(), "a1");
  EXPECT_EQ(s.TakeReady(), "a2");
  // A is full: B goes next although its chain is shorter, and x.c in lane A does not hold it back.
  EXPECT_EQ(s.TakeReady(), "b1");
  EXPECT_EQ(s.TakeReady(), std::nullopt);
  s.AttemptSucceeded("a1", /*no_change=*/true);
  EXPECT_EQ(s.TakeReady(), "a3") << "a slot of lane A came free";
}

TEST(SchedulerLanesTest, ALaneIsFinishedOnceEverySubtaskOfItIsTerminal) {
  Plan plan = MakePlan({{.id = "a1", .lane = "A"},
                        {.id = "a2", .depends_on = {"a1"}, .lane = "A"},
                        {.id = "b1", .lane = "B"},
                        {.id = "c1", .lane = "C"},
                        {.id = "c2", .depends_on = {"c1"}, .lane = "C"}});
  Scheduler s(plan, 1);
  EXPECT_EQ(TakeAllReady(s), (std::vector<std::string>{"a1", "c1", "b1"}));  // the longest chains first
  s.AttemptSucceeded("a1", /*no_change=*/false);
  s.Finish("a1", State::kLanded);
  EXPECT_TRUE(s.TakeFinishedLanes().empty()) << "a2 is still to come";
  s.AttemptSucceeded("b1", /*no_change=*/true);
  EXPECT_EQ(s.TakeFinishedLanes(), std::vector<std::string>{"B"});
  EXPECT_TRUE(s.TakeFinishedLanes().empty()) << "each lane once";
  EXPECT_FALSE(s.AttemptFailed("c1"));  // its one attempt: failed, and c2 can never run
  EXPECT_EQ(s.TakeBlocked(), std::vector<std::string>{"c2"});
  EXPECT_EQ(s.TakeFinishedLanes(), std::vector<std::string>{"C"});
  EXPECT_EQ(TakeAllReady(s), std::vector<std::string>{"a2"});
  s.AttemptSucceeded("a2", /*no_change=*/false);
  EXPECT_TRUE(s.TakeFinishedLanes().empty()) << "its patch has not merged";
  s.Finish("a2", State::kLanded);
  EXPECT_EQ(s.TakeFinishedLanes(), std::vector<std::string>{"A"});
}

}  // namespace
}  // namespace swarm
