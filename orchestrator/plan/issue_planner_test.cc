#include "orchestrator/plan/issue_planner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"

namespace swarm {
namespace {

v1::Issue MakeIssue(const std::string& id, const std::string& title) {
  v1::Issue issue;
  issue.set_id(id);
  issue.set_title(title);
  issue.set_body("body of " + id);
  issue.set_url("https://example.com/issues/" + id);
  return issue;
}

v1::Backlog MakeBacklog(std::vector<v1::Issue> issues, bool require_test) {
  v1::Backlog backlog;
  for (v1::Issue& issue : issues) *backlog.add_issues() = std::move(issue);
  backlog.set_require_test(require_test);
  backlog.add_test_globs("test_*.py");
  return backlog;
}

v1::Subtask Sub(const std::string& id, std::vector<std::string> deps = {}, const std::string& group = "") {
  v1::Subtask s;
  s.set_id(id);
  s.set_title("title " + id);
  s.set_instructions("do " + id);
  s.add_files(id + ".py");
  for (const std::string& d : deps) s.add_depends_on(d);
  s.set_group(group);
  return s;
}

Plan PlanOf(std::vector<v1::Subtask> subtasks) {
  Plan plan;
  plan.subtasks = std::move(subtasks);
  EXPECT_TRUE(ValidatePlan(plan, "test").ok());
  return plan;
}

TEST(IssueLaneTest, OneSubtaskKeepsTheIssuesIdAndIsTestFirst) {
  const v1::Backlog backlog = MakeBacklog({MakeIssue("12", "crash")}, true);
  absl::StatusOr<Plan> lane = IssueLane(backlog.issues(0), PlanOf({Sub("fix")}), backlog, {"13"});
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_EQ(lane->subtasks.size(), 1u);
  const v1::Subtask& s = lane->subtasks[0];
  EXPECT_EQ(s.id(), "12");
  EXPECT_EQ(s.lane(), "12");
  EXPECT_EQ(s.issue().id(), "12");
  EXPECT_TRUE(s.test_first());
  EXPECT_TRUE(absl::StrContains(s.instructions(), "Resolve issue 12: crash")) << s.instructions();
  EXPECT_TRUE(absl::StrContains(s.instructions(), "body of 12"));
  EXPECT_TRUE(absl::StrContains(s.instructions(), "First write a test")) << s.instructions();
}

TEST(IssueLaneTest, SeveralSubtasksAreRenamedAndWaitForTheTestFirstOne) {
  const v1::Backlog backlog = MakeBacklog({MakeIssue("7", "prices")}, true);
  // The model's ids, a dependency and a group of two; "docs" does not depend on the fix.
  Plan planned = PlanOf({Sub("fix"), Sub("api", {"fix"}, "g"), Sub("cli", {}, "g"), Sub("docs")});
  absl::StatusOr<Plan> lane = IssueLane(backlog.issues(0), planned, backlog, {});
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_EQ(lane->subtasks.size(), 4u);
  std::map<std::string, const v1::Subtask*> by_id;
  for (const v1::Subtask& s : lane->subtasks) by_id[s.id()] = &s;
  ASSERT_EQ(by_id.size(), 4u);
  EXPECT_TRUE(by_id["7.1"]->test_first());
  EXPECT_EQ(by_id["7.1"]->depends_on_size(), 0);
  for (const char* id : {"7.2", "7.3", "7.4"}) {
    const v1::Subtask& s = *by_id[id];
    EXPECT_FALSE(s.test_first()) << id;
    EXPECT_EQ(s.lane(), "7") << id;
    EXPECT_NE(std::find(s.depends_on().begin(), s.depends_on().end(), "7.1"), s.depends_on().end()) << id;
    EXPECT_TRUE(absl::StrContains(s.instructions(), "have landed before your part")) << s.instructions();
    EXPECT_FALSE(absl::StrContains(s.instructions(), "First write a test")) << id;
  }
  EXPECT_EQ(by_id["7.2"]->group(), "7:g");
  EXPECT_EQ(by_id["7.3"]->group(), "7:g");
  EXPECT_EQ(lane->groups.count("7:g"), 1u);
  EXPECT_TRUE(absl::StrContains(by_id["7.4"]->instructions(), "Yours: title docs\ndo docs"))
      << by_id["7.4"]->instructions();
}

TEST(IssueLaneTest, TheTestIsWrittenByTheFirstSubtaskThatNeedsNoOtherAndLandsAlone) {
  const v1::Backlog backlog = MakeBacklog({MakeIssue("a", "t")}, true);
  Plan planned = PlanOf({Sub("x", {}, "g"), Sub("y", {}, "g"), Sub("w", {"x"}), Sub("z")});
  planned.groups["g"].partial = true;
  absl::StatusOr<Plan> lane = IssueLane(backlog.issues(0), planned, backlog, {});
  ASSERT_TRUE(lane.ok()) << lane.status();
  EXPECT_EQ(lane->subtasks[3].id(), "a.4");
  EXPECT_TRUE(lane->subtasks[3].test_first());
  EXPECT_TRUE(absl::StrContains(lane->subtasks[3].instructions(), "Your patch is judged alone"))
      << lane->subtasks[3].instructions();
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(lane->subtasks[i].test_first());
    EXPECT_NE(std::find(lane->subtasks[i].depends_on().begin(), lane->subtasks[i].depends_on().end(), "a.4"),
              lane->subtasks[i].depends_on().end());
  }
  EXPECT_EQ(lane->subtasks[0].group(), "a:g");
  EXPECT_TRUE(lane->groups.at("a:g").partial) << "a partial group stays partial";
  // Every subtask in a group, or waiting for another: nobody can write the test alone.
  lane = IssueLane(backlog.issues(0), PlanOf({Sub("x", {}, "g"), Sub("y", {"x"})}), backlog, {});
  EXPECT_FALSE(lane.ok());
  EXPECT_TRUE(absl::StrContains(lane.status().message(), "no subtask of its plan can write the test"));
}

TEST(IssueLaneTest, ALaneGoesWhereItsIssuesLoneSubtaskWasAndRoundTripsThroughItsEvent) {
  const v1::Backlog backlog = MakeBacklog({MakeIssue("1", "one"), MakeIssue("2", "two"), MakeIssue("3", "x")}, true);
  Plan plan = OneSubtaskPerIssue(backlog);
  Plan planned = PlanOf({Sub("x"), Sub("y", {}, "g"), Sub("z", {}, "g")});
  planned.groups["g"].partial = true;
  absl::StatusOr<Plan> lane = IssueLane(backlog.issues(1), planned, backlog, {"1", "3"});
  ASSERT_TRUE(lane.ok()) << lane.status();
  const v1::IssuePlanned event = IssuePlannedEvent("2", *lane);
  EXPECT_EQ(event.lane(), "2");
  EXPECT_FALSE(event.subtasks(0).has_issue()) << "the run's spec has the issue; the event does not repeat it";
  EXPECT_EQ(event.partial_groups_size(), 1);
  ASSERT_TRUE(ApplyIssueLane(plan, "2", LaneOf(event)).ok());
  std::vector<std::string> ids;
  for (const v1::Subtask& s : plan.subtasks) ids.push_back(s.id());
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2.1", "2.2", "2.3", "3"}));
  EXPECT_TRUE(plan.groups.at("2:g").partial);
  EXPECT_TRUE(ValidatePlan(plan, "the whole").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(ApplyIssueLane(plan, "2", *lane))) << "its lone subtask is gone";
}

TEST(IssueLaneTest, WithoutTestFirstNothingIsAddedBetweenSubtasks) {
  const v1::Backlog backlog = MakeBacklog({MakeIssue("a", "t")}, false);
  absl::StatusOr<Plan> lane = IssueLane(backlog.issues(0), PlanOf({Sub("x"), Sub("y")}), backlog, {});
  ASSERT_TRUE(lane.ok()) << lane.status();
  for (const v1::Subtask& s : lane->subtasks) {
    EXPECT_FALSE(s.test_first());
    EXPECT_EQ(s.depends_on_size(), 0);
    EXPECT_FALSE(absl::StrContains(s.instructions(), "reproduces")) << s.instructions();
  }
}

TEST(IssueLaneTest, AnIdTakenByAnotherIssueOrTooLongIsRefused) {
  const v1::Backlog backlog = MakeBacklog({MakeIssue("3", "t"), MakeIssue("3.1", "u")}, false);
  absl::StatusOr<Plan> lane = IssueLane(backlog.issues(0), PlanOf({Sub("x"), Sub("y")}), backlog, {"3.1"});
  EXPECT_FALSE(lane.ok());
  EXPECT_TRUE(absl::StrContains(lane.status().message(), "3.1 is another issue's")) << lane.status();
  const v1::Backlog long_id = MakeBacklog({MakeIssue(std::string(99, 'a'), "t")}, false);
  lane = IssueLane(long_id.issues(0), PlanOf({Sub("x"), Sub("y")}), long_id, {});
  EXPECT_FALSE(lane.ok());
  EXPECT_TRUE(absl::StrContains(lane.status().message(), "100 characters")) << lane.status();
}

// A fake planner: thread-safe, answers by the issue named in the caller id.
class FakePlanner {
 public:
  std::map<std::string, absl::StatusOr<Plan>> answers;  // issue id -> its plan, or the error
  std::atomic<int> calls{0};
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  std::string refuse_run_budget_for;  // this issue's call is refused by the run's budget

  PlanCall Call() {
    return [this](const PlannerInput& input, std::vector<CallRecord>* made) -> absl::StatusOr<PlannerResult> {
      const int now = ++in_flight;
      for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
      }
      ++calls;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      --in_flight;
      const std::string issue = input.caller.substr(std::string("planner:").size());
      EXPECT_EQ(input.caller, IssuePlannerId(issue));
      EXPECT_TRUE(absl::StrContains(input.task, "Resolve issue " + issue)) << input.task;
      EXPECT_EQ(input.test_command, "make test");
      CallRecord& record = made->emplace_back();
      record.call.set_cost_usd(0.25);
      if (issue == refuse_run_budget_for) {
        record.refused_by_run_budget = true;
        return absl::ResourceExhaustedError("the run's budget of $1 cannot cover this call");
      }
      const absl::StatusOr<Plan>& answer = answers.at(issue);
      if (!answer.ok()) return answer.status();
      return PlannerResult{*answer, 0.25};
    };
  }
};

std::vector<int> All(int n) {
  std::vector<int> which(n);
  for (int i = 0; i < n; ++i) which[i] = i;
  return which;
}

TEST(PlanIssuesTest, EachIssuesPlanningIsHandedOverAsItEnds) {
  std::vector<v1::Issue> issues;
  FakePlanner planner;
  for (int i = 0; i < 40; ++i) {
    issues.push_back(MakeIssue(std::to_string(i), "t"));
    planner.answers.emplace(std::to_string(i), i % 7 == 3 ? absl::StatusOr<Plan>(absl::InvalidArgumentError("bad"))
                                                          : PlanOf({Sub("x"), Sub("y")}));
  }
  const v1::Backlog backlog = MakeBacklog(issues, false);
  const std::thread::id caller = std::this_thread::get_id();
  std::map<int, IssuePlan> results;
  PlanningStop stop = PlanIssues(
      backlog, All(40), "make test", "map", 8, planner.Call(), [] { return false; },
      [&](IssuePlan r) {
        EXPECT_EQ(std::this_thread::get_id(), caller);
        results.emplace(r.index, std::move(r));
      });
  EXPECT_EQ(stop.why, "");
  EXPECT_EQ(planner.calls, 40);
  EXPECT_GT(planner.peak, 1);
  EXPECT_LE(planner.peak, 8);
  ASSERT_EQ(results.size(), 40u);
  for (const auto& [i, r] : results) {
    EXPECT_EQ(r.calls.size(), 1u);
    EXPECT_EQ(r.planned.ok(), i % 7 != 3) << i;
  }
}

TEST(PlanIssuesTest, OnlyTheIssuesAskedForArePlanned) {
  FakePlanner planner;
  planner.answers.emplace("b", PlanOf({Sub("x")}));
  const v1::Backlog backlog = MakeBacklog({MakeIssue("a", "t"), MakeIssue("b", "t")}, false);
  std::vector<int> seen;
  PlanIssues(
      backlog, {1}, "make test", "map", 4, planner.Call(), [] { return false; },
      [&](IssuePlan r) { seen.push_back(r.index); });
  EXPECT_EQ(seen, std::vector<int>{1});
  seen.clear();
  PlanIssues(
      backlog, {}, "make test", "map", 4, planner.Call(), [] { return false; },
      [&](IssuePlan r) { seen.push_back(r.index); });
  EXPECT_TRUE(seen.empty());
}

TEST(PlanIssuesTest, TheRunsBudgetRunningOutStopsPlanningForGood) {
  std::vector<v1::Issue> issues;
  FakePlanner planner;
  for (int i = 0; i < 10; ++i) {
    issues.push_back(MakeIssue(std::to_string(i), "t"));
    planner.answers.emplace(std::to_string(i), PlanOf({Sub("x"), Sub("y")}));
  }
  planner.refuse_run_budget_for = "0";
  int handed = 0;
  PlanningStop stop = PlanIssues(
      MakeBacklog(issues, false), All(10), "make test", "map", 1, planner.Call(), [] { return false; },
      [&](IssuePlan) { ++handed; });
  EXPECT_TRUE(stop.final);
  EXPECT_TRUE(stop.run_budget);
  EXPECT_TRUE(absl::StrContains(stop.why, "the run's budget ran out")) << stop.why;
  EXPECT_EQ(planner.calls, 1) << "no issue is planned once the run's money is gone";
  EXPECT_EQ(handed, 1);
}

TEST(PlanIssuesTest, AModelThatRefusesOrCannotBeReachedStopsPlanningForGood) {
  for (const absl::Status& error :
       {absl::FailedPreconditionError("the provider refused the key"), absl::UnavailableError("connection refused")}) {
    std::vector<v1::Issue> issues;
    FakePlanner planner;
    for (int i = 0; i < 20; ++i) {
      issues.push_back(MakeIssue(std::to_string(i), "t"));
      planner.answers.emplace(std::to_string(i), error);
    }
    PlanningStop stop = PlanIssues(
        MakeBacklog(issues, false), All(20), "make test", "map", 1, planner.Call(), [] { return false; },
        [](IssuePlan) {});
    EXPECT_TRUE(stop.final) << error;
    EXPECT_TRUE(absl::StrContains(stop.why, error.message())) << stop.why;
    EXPECT_EQ(planner.calls, absl::IsUnavailable(error) ? 3 : 1) << error;
  }
}

TEST(PlanIssuesTest, AStopRequestStartsNoFurtherIssueAndIsNotFinal) {
  std::vector<v1::Issue> issues;
  FakePlanner planner;
  for (int i = 0; i < 10; ++i) {
    issues.push_back(MakeIssue(std::to_string(i), "t"));
    planner.answers.emplace(std::to_string(i), PlanOf({Sub("x")}));
  }
  std::atomic<int> handed{0};
  PlanningStop stop = PlanIssues(
      MakeBacklog(issues, false), All(10), "make test", "map", 2, planner.Call(), [&] { return handed >= 3; },
      [&](IssuePlan) { ++handed; });
  EXPECT_FALSE(stop.final) << "a resume plans the others";
  EXPECT_EQ(stop.why, "the run is stopping");
  EXPECT_LT(planner.calls, 10);
  EXPECT_EQ(handed, planner.calls) << "what was in flight was handed over";
}

TEST(PlanIssuesTest, OneSubtaskPerIssueIsTheFallbackShape) {
  const v1::Backlog backlog = MakeBacklog({MakeIssue("x", std::string(300, 't'))}, true);
  Plan plan = OneSubtaskPerIssue(backlog);
  ASSERT_EQ(plan.subtasks.size(), 1u);
  EXPECT_EQ(plan.subtasks[0].id(), "x");
  EXPECT_EQ(plan.subtasks[0].title().size(), 200u);
  EXPECT_TRUE(plan.subtasks[0].test_first());
  EXPECT_EQ(IssueInstructions(backlog.issues(0), backlog), plan.subtasks[0].instructions());
}

}  // namespace
}  // namespace swarm
