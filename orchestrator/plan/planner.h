// The planner: a task in words, a map of the repository at the run's base (files and top-level
// symbols from universal-ctags, trimmed to a size) and the test command go to the model, which
// answers with a submit_plan tool call holding a plan in the plan-file format. The plan is validated;
// invalid output goes back once with the errors. Subtasks expected to touch the same files never
// run at the same time (the scheduler keeps them apart), without depending on each other.
#ifndef SWARM_ORCHESTRATOR_PLAN_PLANNER_H_
#define SWARM_ORCHESTRATOR_PLAN_PLANNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_gateway.h"
#include "orchestrator/plan/plan.h"
#include "git/git.h"

namespace swarm {

inline constexpr char kPlannerConversation[] = "planner";

struct PlannerInput {
  std::string task;
  std::string test_command;
  std::string repository_map;
  std::string caller = kPlannerConversation;  // whom the gateway bills the calls to (a budget group's member)
};

struct PlannerResult {
  Plan plan;
  double cost_usd = 0;
};

// InvalidArgument (exit 2) when the model's plan fails validation twice, naming the errors; the
// gateway's errors otherwise. `calls` receives the model calls made, whatever the outcome, to be
// recorded once the run has started.
absl::StatusOr<PlannerResult> PlanTask(ModelGateway& gateway, const PlannerInput& input,
                                       std::vector<CallRecord>* calls);

// Files and their top-level symbols at `commit`, one file a line, at most `max_bytes`.
std::string RepositoryMap(const Git& repo, const std::string& commit, std::size_t max_bytes = 24000);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_PLAN_PLANNER_H_
