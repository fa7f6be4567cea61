#include "orchestrator/plan/issue_planner.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/utf8.h"

namespace swarm {
namespace {

// The issue as the agents and the planner see it: its id, title, address and body.
std::string IssueText(const v1::Issue& issue) {
  std::string text = absl::StrCat("Resolve issue ", issue.id(), ": ", issue.title(), "\n");
  if (!issue.url().empty()) absl::StrAppend(&text, issue.url(), "\n");
  if (!issue.body().empty()) absl::StrAppend(&text, "\n", issue.body(), "\n");
  return text;
}

std::string TestGlobs(const v1::Backlog& backlog) { return absl::StrJoin(backlog.test_globs(), " "); }

// What the subtask that writes the test is told.
std::string TestFirstWords(const v1::Backlog& backlog) {
  return absl::StrCat(
      "\nFirst write a test that reproduces the issue, in a test file (a file matching one of: ", TestGlobs(backlog),
      "). It must fail without your fix and pass with it; a fix without such a test is refused. "
      "The test must run, and fail, without the fix: import what the fix adds inside the test, "
      "not at the top of the file, and need no change to a build file. Then fix the issue.");
}

v1::Subtask LoneSubtask(const v1::Issue& issue, const v1::Backlog& backlog) {
  v1::Subtask s;
  s.set_id(issue.id());
  s.set_title(ToUtf8(issue.title().substr(0, 200)));  // a cut never splits a character
  s.set_instructions(IssueInstructions(issue, backlog));
  s.set_lane(issue.id());
  s.set_test_first(backlog.require_test());
  *s.mutable_issue() = issue;
  return s;
}

}  // namespace

std::string IssueInstructions(const v1::Issue& issue, const v1::Backlog& backlog) {
  std::string text = IssueText(issue);
  if (backlog.require_test()) absl::StrAppend(&text, TestFirstWords(backlog));
  absl::StrAppend(&text, "\nChange the repository so that the issue is resolved and the tests pass.");
  return text;
}

Plan OneSubtaskPerIssue(const v1::Backlog& backlog) {
  Plan plan;
  for (const v1::Issue& issue : backlog.issues()) plan.subtasks.push_back(LoneSubtask(issue, backlog));
  return plan;
}

std::string IssuePlannerId(const std::string& issue_id) { return "planner:" + issue_id; }

std::string IssueTask(const v1::Issue& issue, const v1::Backlog& backlog) {
  std::string task = IssueText(issue);
  absl::StrAppend(&task,
                  "\nThis is one issue of a backlog: its subtasks land, one after another, on the issue's own "
                  "branch. Plan as few subtasks as the issue needs; a small issue is one subtask.");
  if (backlog.require_test()) {
    absl::StrAppend(&task,
                    " The first subtask must write a test that reproduces the issue, in a test file (a file "
                    "matching one of: ",
                    TestGlobs(backlog),
                    "), together with the fix that makes it pass: its patch is refused unless that test fails "
                    "without the fix. Every other subtask starts once it has landed.");
  }
  return task;
}

absl::StatusOr<Plan> IssueLane(const v1::Issue& issue, const Plan& planned, const v1::Backlog& backlog,
                               const std::set<std::string>& taken) {
  const std::vector<v1::Subtask>& in = planned.subtasks;
  if (in.empty()) return absl::InvalidArgumentError("the plan has no subtasks");
  std::map<std::string, std::string> id_of;  // the planner's id -> the lane's
  for (std::size_t i = 0; i < in.size(); ++i) {
    const std::string id = in.size() == 1 ? issue.id() : absl::StrCat(issue.id(), ".", i + 1);
    if (id.size() > 100) return absl::InvalidArgumentError(absl::StrCat("its subtask ids would pass 100 characters"));
    if (taken.count(id)) return absl::InvalidArgumentError(absl::StrCat("subtask id ", id, " is another issue's"));
    id_of[in[i].id()] = id;
  }
  // Under test first, the first subtask that can start at once writes the test, with the fix.
  int test_first = -1;
  if (backlog.require_test()) {
    for (std::size_t i = 0; i < in.size() && test_first < 0; ++i) {
      if (in[i].depends_on_size() == 0) test_first = static_cast<int>(i);
    }
    if (test_first < 0) return absl::InvalidArgumentError("every subtask of its plan depends on another");
  }
  Plan lane;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const v1::Subtask& from = in[i];
    v1::Subtask& s = lane.subtasks.emplace_back();
    s.set_id(id_of[from.id()]);
    s.set_title(ToUtf8(from.title().substr(0, 200)));
    s.mutable_files()->CopyFrom(from.files());
    s.mutable_tests()->CopyFrom(from.tests());
    s.set_estimate_s(from.estimate_s());
    s.set_lane(issue.id());
    *s.mutable_issue() = issue;
    const bool writes_test = static_cast<int>(i) == test_first;
    s.set_test_first(writes_test);
    if (!from.group().empty() && !writes_test) s.set_group(absl::StrCat(issue.id(), ":", from.group()));
    for (const std::string& d : from.depends_on()) s.add_depends_on(id_of[d]);
    if (test_first >= 0 && !writes_test &&
        std::find(from.depends_on().begin(), from.depends_on().end(), in[test_first].id()) == from.depends_on().end()) {
      s.add_depends_on(id_of[in[test_first].id()]);
    }
    std::string text = IssueText(issue);
    if (in.size() > 1) {
      absl::StrAppend(&text, "\nIt is planned in ", in.size(),
                      " subtasks, one after another where they depend "
                      "on each other. Yours: ",
                      from.title(), "\n", from.instructions(), "\n");
    }
    if (writes_test) absl::StrAppend(&text, TestFirstWords(backlog));
    if (test_first >= 0 && !writes_test) {
      absl::StrAppend(&text, "\nThe test that reproduces the issue, and its fix, have landed before your part.");
    }
    absl::StrAppend(&text, in.size() > 1 ? "\nChange the repository so that your part is done and the tests pass."
                                         : "\nChange the repository so that the issue is resolved and the tests pass.");
    s.set_instructions(std::move(text));
  }
  for (const auto& [name, group] : planned.groups) {
    const std::string renamed = absl::StrCat(issue.id(), ":", name);
    if (std::any_of(lane.subtasks.begin(), lane.subtasks.end(),
                    [&](const v1::Subtask& s) { return s.group() == renamed; })) {
      lane.groups[renamed].partial = group.partial;
    }
  }
  if (absl::Status st = ValidatePlan(lane, "its plan"); !st.ok()) return st;
  return lane;
}

IssuePlanning PlanIssues(const v1::Backlog& backlog, const std::string& test_command, const std::string& repository_map,
                         int concurrency, const PlanCall& plan) {
  struct Slot {
    bool tried = false;
    absl::StatusOr<PlannerResult> result = absl::UnknownError("not planned");
    std::vector<CallRecord> calls;
  };
  const int n = backlog.issues_size();
  std::vector<Slot> slots(n);
  std::atomic<int> next{0};
  std::mutex mu;
  absl::Status budget;  // guarded by mu: the first refusal by the run's budget
  std::atomic<bool> budget_spent{false};
  auto work = [&] {
    for (int i = next++; i < n; i = next++) {
      if (budget_spent) continue;  // the run's money is gone: no issue is planned any more
      const v1::Issue& issue = backlog.issues(i);
      Slot& slot = slots[i];
      slot.tried = true;
      slot.result =
          plan({IssueTask(issue, backlog), test_command, repository_map, IssuePlannerId(issue.id())}, &slot.calls);
      if (std::any_of(slot.calls.begin(), slot.calls.end(),
                      [](const CallRecord& c) { return c.refused_by_run_budget; })) {
        std::lock_guard<std::mutex> lock(mu);
        if (budget.ok()) {
          budget = slot.result.ok() ? absl::ResourceExhaustedError("the run's budget ran out while planning")
                                    : slot.result.status();
        }
        budget_spent = true;
      }
    }
  };
  std::vector<std::thread> threads;
  const int workers = std::clamp(concurrency, 1, std::max(1, n));
  for (int t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();

  IssuePlanning out;
  out.budget = budget;
  std::set<std::string> taken;  // ids of every issue (a lone subtask's), then of planned subtasks
  for (const v1::Issue& issue : backlog.issues()) taken.insert(issue.id());
  int not_planned = 0;
  for (int i = 0; i < n; ++i) {
    const v1::Issue& issue = backlog.issues(i);
    Slot& slot = slots[i];
    for (CallRecord& c : slot.calls) {
      out.cost_usd += c.call.cost_usd();
      out.calls.push_back(std::move(c));
    }
    absl::StatusOr<Plan> lane = absl::UnknownError("not planned");
    if (!slot.tried) {
      ++not_planned;
    } else if (!slot.result.ok()) {
      lane = slot.result.status();
    } else {
      taken.erase(issue.id());
      lane = IssueLane(issue, slot.result->plan, backlog, taken);
      taken.insert(issue.id());
    }
    if (!lane.ok()) {
      out.plan.subtasks.push_back(LoneSubtask(issue, backlog));
      if (slot.tried) {
        out.notes.push_back(
            absl::StrCat("issue ", issue.id(), ": planning failed (", lane.status().message(), "): it is one subtask"));
      }
      continue;
    }
    if (lane->subtasks.size() > 1) {
      out.notes.push_back(absl::StrCat("issue ", issue.id(), ": planned into ", lane->subtasks.size(), " subtasks"));
    }
    for (v1::Subtask& s : lane->subtasks) {
      taken.insert(s.id());
      out.plan.subtasks.push_back(std::move(s));
    }
    out.plan.groups.merge(lane->groups);
  }
  if (not_planned > 0) {
    out.notes.push_back(
        absl::StrCat(not_planned, " issues were not planned (the run's budget ran out): each is one subtask"));
  }
  if (absl::Status st = ValidatePlan(out.plan, "the issues' plans"); !st.ok()) {
    // Each lane was valid on its own; a whole that is not would be swarm's error: fall back.
    out.notes.push_back(
        absl::StrCat("the issues' plans do not fit together (", st.message(), "): each issue is one subtask"));
    out.plan = OneSubtaskPerIssue(backlog);
  }
  return out;
}

}  // namespace swarm
