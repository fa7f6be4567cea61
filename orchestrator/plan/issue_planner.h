// A backlog's issues as lanes of subtasks. Each issue is planned as `swarm run --task` is: its title
// and body are the task, the run's model answers with subtasks (a small issue is one), and those
// become the subtasks of the issue's lane. With `--no-plan`, without a model, or where an issue's
// planning fails, the issue is one subtask whose id is the issue's.
#ifndef SWARM_ORCHESTRATOR_PLAN_ISSUE_PLANNER_H_
#define SWARM_ORCHESTRATOR_PLAN_ISSUE_PLANNER_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/model_gateway.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/plan/planner.h"
#include "swarm/v1/events.pb.h"
#include "swarm/v1/run.pb.h"

namespace swarm {

// What an issue's lone subtask is told: the issue's title, address and body and, under test first,
// to write the test before the fix.
std::string IssueInstructions(const v1::Issue& issue, const v1::Backlog& backlog);

// One lane per issue of `backlog`, each one subtask whose id is the issue's (test first when the
// backlog requires a test).
Plan OneSubtaskPerIssue(const v1::Backlog& backlog);

// Whom the model calls that plan an issue are billed to: never a subtask's id (':' is not allowed in
// one); it belongs to the issue's budget group.
std::string IssuePlannerId(const std::string& issue_id);

// What the planner is asked for one issue.
std::string IssueTask(const v1::Issue& issue, const v1::Backlog& backlog);

// The model's plan for `issue` made its lane's subtasks. Ids are "<issue>.<n>" in plan order (the
// issue's id alone when the plan has one subtask); dependencies and groups ("<issue>:<group>") follow
// the renaming; each subtask is told the issue. Under test first, the first subtask without
// dependencies and outside any group (test first judges one patch alone) writes the test, and every
// other subtask of the lane depends on it. InvalidArgument when there is none, or when an id would be
// in `taken` or too long.
absl::StatusOr<Plan> IssueLane(const v1::Issue& issue, const Plan& planned, const v1::Backlog& backlog,
                               const std::set<std::string>& taken);

// Puts `lane` (IssueLane's) in `plan` where the issue's lone subtask is (its id is the issue's).
// FailedPrecondition when there is no such subtask.
absl::Status ApplyIssueLane(Plan& plan, const std::string& issue_id, const Plan& lane);

// The event that records `lane` as the issue's plan (its subtasks without their issue: the run's
// spec has it), and the lane as that event holds it.
v1::IssuePlanned IssuePlannedEvent(const std::string& issue_id, const Plan& lane);
Plan LaneOf(const v1::IssuePlanned& planned);

// Plans one issue (RunModel::Plan, or a fake); called from several threads at once.
using PlanCall = std::function<absl::StatusOr<PlannerResult>(const PlannerInput&, std::vector<CallRecord>*)>;

// One issue's planning, as it ended.
struct IssuePlan {
  int index = 0;                                                     // in the backlog's issues
  std::vector<CallRecord> calls;                                     // the model calls it made, whatever the outcome
  absl::StatusOr<Plan> planned = absl::UnknownError("not planned");  // the model's plan, or why none
};

// Why planning stopped before every issue was tried.
struct PlanningStop {
  std::string why;     // "" when every issue was tried
  bool final = false;  // more calls cannot help (the run's budget, the key or the model refused, the
                       // provider unreachable three times in a row): the issues left are one subtask
  bool run_budget = false;  // it was the run's budget that ran out
};

// Plans the issues at `which` (indices into the backlog's issues) with `plan`, up to `concurrency`
// at once. `done` runs on the calling thread for each issue as its planning ends, in the order they
// end. No further issue starts once `stop()` is true, or once more calls cannot help; those in flight
// finish.
PlanningStop PlanIssues(const v1::Backlog& backlog, const std::vector<int>& which, const std::string& test_command,
                        const std::string& repository_map, int concurrency, const PlanCall& plan,
                        const std::function<bool()>& stop, const std::function<void(IssuePlan)>& done);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_PLAN_ISSUE_PLANNER_H_
