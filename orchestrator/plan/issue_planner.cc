#include "orchestrator/plan/issue_planner.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
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
  // Under test first, the first subtask that can start at once and lands alone (test first judges one
  // patch) writes the test, with the fix.
  int test_first = -1;
  if (backlog.require_test()) {
    for (std::size_t i = 0; i < in.size() && test_first < 0; ++i) {
      if (in[i].depends_on_size() == 0 && in[i].group().empty()) test_first = static_cast<int>(i);
    }
    if (test_first < 0) {
      return absl::InvalidArgumentError(
          "no subtask of its plan can write the test: each depends on another or is in a group");
    }
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
    if (!from.group().empty()) s.set_group(absl::StrCat(issue.id(), ":", from.group()));
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
    if (in.size() == 1) {
      absl::StrAppend(&text, "\nChange the repository so that the issue is resolved and the tests pass.");
    } else if (writes_test) {
      absl::StrAppend(&text,
                      "\nYour patch is judged alone: with it, the test you write must pass, and the other tests "
                      "too. Whatever that takes is your part; the other subtasks do the rest.");
    } else {
      absl::StrAppend(&text, "\nChange the repository so that your part is done and the tests pass.");
    }
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

absl::Status ApplyIssueLane(Plan& plan, const std::string& issue_id, const Plan& lane) {
  auto at = std::find_if(plan.subtasks.begin(), plan.subtasks.end(),
                         [&](const v1::Subtask& s) { return s.id() == issue_id && s.lane() == issue_id; });
  if (at == plan.subtasks.end()) {
    return absl::FailedPreconditionError(absl::StrCat("issue ", issue_id, " has no lone subtask to plan"));
  }
  at = plan.subtasks.erase(at);
  plan.subtasks.insert(at, lane.subtasks.begin(), lane.subtasks.end());
  for (const auto& [name, group] : lane.groups) plan.groups[name].partial = group.partial;
  return absl::OkStatus();
}

v1::IssuePlanned IssuePlannedEvent(const std::string& issue_id, const Plan& lane) {
  v1::IssuePlanned e;
  e.set_lane(issue_id);
  for (const v1::Subtask& s : lane.subtasks) {
    v1::Subtask& stored = *e.add_subtasks() = s;
    stored.clear_issue();
  }
  for (const auto& [name, group] : lane.groups) {
    if (group.partial) e.add_partial_groups(name);
  }
  return e;
}

Plan LaneOf(const v1::IssuePlanned& planned) {
  Plan lane;
  lane.subtasks.assign(planned.subtasks().begin(), planned.subtasks().end());
  for (const v1::Subtask& s : lane.subtasks) {
    if (!s.group().empty()) lane.groups[s.group()];
  }
  for (const std::string& name : planned.partial_groups()) lane.groups[name].partial = true;
  return lane;
}

PlanningStop PlanIssues(const v1::Backlog& backlog, const std::vector<int>& which, const std::string& test_command,
                        const std::string& repository_map, int concurrency, const PlanCall& plan,
                        const std::function<bool()>& stop, const std::function<void(IssuePlan)>& done) {
  std::mutex mu;
  std::condition_variable ended;
  std::deque<IssuePlan> finished;  // guarded by mu, as are the two below
  PlanningStop stopped;
  int unreachable_in_a_row = 0;
  std::size_t next = 0;
  // The next issue to plan, or -1: none is left, or planning has stopped.
  auto take = [&]() -> int {
    std::lock_guard<std::mutex> lock(mu);
    if (!stopped.why.empty() || next >= which.size()) return -1;
    if (stop()) {
      stopped.why = "the run is stopping";
      return -1;
    }
    return which[next++];
  };
  auto work = [&] {
    for (int i = take(); i >= 0; i = take()) {
      const v1::Issue& issue = backlog.issues(i);
      IssuePlan result;
      result.index = i;
      result.planned = [&]() -> absl::StatusOr<Plan> {
        absl::StatusOr<PlannerResult> r =
            plan({IssueTask(issue, backlog), test_command, repository_map, IssuePlannerId(issue.id())}, &result.calls);
        if (!r.ok()) return r.status();
        return std::move(r->plan);
      }();
      std::lock_guard<std::mutex> lock(mu);
      const absl::Status& st = result.planned.status();
      const bool run_budget = std::any_of(result.calls.begin(), result.calls.end(),
                                          [](const CallRecord& c) { return c.refused_by_run_budget; });
      unreachable_in_a_row = absl::IsUnavailable(st) || absl::IsDeadlineExceeded(st) ? unreachable_in_a_row + 1 : 0;
      if (stopped.why.empty() || !stopped.final) {
        if (run_budget) {
          stopped = {absl::StrCat("the run's budget ran out (", st.message(), ")"), true, true};
        } else if (absl::IsFailedPrecondition(st) || absl::IsPermissionDenied(st) || absl::IsUnauthenticated(st)) {
          stopped = {absl::StrCat("the model refused (", st.message(), ")"), true};
        } else if (unreachable_in_a_row >= 3) {
          stopped = {absl::StrCat("the model is unreachable (", st.message(), ")"), true};
        }
      }
      finished.push_back(std::move(result));
      ended.notify_one();
    }
    ended.notify_one();  // this worker is done: planning may be over
  };
  const int workers = std::clamp(concurrency, 1, std::max<int>(1, which.size()));
  std::vector<std::thread> threads;
  for (int t = 0; t < workers; ++t) threads.emplace_back(work);
  // Each result is handed over here, on the calling thread, as it comes.
  for (std::size_t handed = 0;;) {
    std::unique_lock<std::mutex> lock(mu);
    // Over when nothing is in flight and nothing more will start.
    ended.wait(lock,
               [&] { return !finished.empty() || (handed == next && (!stopped.why.empty() || next >= which.size())); });
    if (finished.empty()) break;
    IssuePlan result = std::move(finished.front());
    finished.pop_front();
    ++handed;
    lock.unlock();
    done(std::move(result));
  }
  for (std::thread& t : threads) t.join();
  return stopped;
}

}  // namespace swarm
