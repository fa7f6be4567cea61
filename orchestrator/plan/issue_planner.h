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
// dependencies writes the test (it leaves its group: test first judges one patch alone) and every
// other subtask of the lane depends on it. InvalidArgument when an id would be in `taken` or too long.
absl::StatusOr<Plan> IssueLane(const v1::Issue& issue, const Plan& planned, const v1::Backlog& backlog,
                               const std::set<std::string>& taken);

// Plans one issue (RunModel::Plan, or a fake); called from several threads at once.
using PlanCall = std::function<absl::StatusOr<PlannerResult>(const PlannerInput&, std::vector<CallRecord>*)>;

struct IssuePlanning {
  Plan plan;                       // every issue's lane, in the issues' order; validated
  std::vector<CallRecord> calls;   // the model calls made, issue by issue
  std::vector<std::string> notes;  // for people: issues planned into several subtasks, and planning that failed
  double cost_usd = 0;
  // OK, or ResourceExhausted: the run's budget ran out while planning (issues not planned by then
  // are one subtask each).
  absl::Status budget;
};

// Plans every issue of `backlog` with `plan`, up to `concurrency` at once. An issue whose planning
// fails (the model's error, a plan invalid twice, the issue's own budget) stays one subtask and a
// note says why; the others go on.
IssuePlanning PlanIssues(const v1::Backlog& backlog, const std::string& test_command, const std::string& repository_map,
                         int concurrency, const PlanCall& plan);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_PLAN_ISSUE_PLANNER_H_
