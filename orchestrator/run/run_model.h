// The run's model: the gateway that planning and the agents' calls go through (or a caller that a
// test injects), the bridge that brings each finished call to the executor to be recorded before
// its agent is answered, and the budget: once a call is refused because the run's budget cannot
// cover it, the run takes no new work. On the coordinator's executor, except where said.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_MODEL_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_MODEL_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/model_gateway.h"
#include "orchestrator/plan/planner.h"
#include "orchestrator/run/agent_handler.h"
#include "orchestrator/run/model_call_bridge.h"
#include "orchestrator/store/store.h"

namespace swarm {

class RunModel {
 public:
  struct Hooks {
    ModelCallBridge::Post post;  // from any thread: runs a task on the executor
    // Records an event of the run (a model call).
    std::function<void(v1::Event, const EventBodies&)> record;
    // The budget stopped the run (once): no new subtask starts.
    std::function<void(const std::string& why)> budget_stopped;
  };
  // `model`: the run's model, if it has one. `injected`, when not null, takes the calls instead of a
  // gateway and must not call back after Stop(). Budgets of 0 are no cap.
  RunModel(std::optional<ResolvedModel> model, ModelCaller* injected, double budget_usd, double per_subtask_usd,
           Hooks hooks);
  ~RunModel();
  RunModel(const RunModel&) = delete;
  RunModel& operator=(const RunModel&) = delete;

  // Starts the gateway, once (a no-op without a model). What earlier sessions of the run spent
  // counts: a budget spent before this session stops the run from the start. Not on the executor:
  // before it runs. Also protects the key from other processes of this user.
  // `group_of` puts subtasks in groups (a backlog's lanes) capped at `per_group_usd` each.
  absl::Status Start(const std::map<std::string, ModelSpend>& spent, double per_group_usd = 0,
                     std::map<std::string, std::string> group_of = {});
  // Plans a task in words (planner.h), before the executor runs; the calls made go to `calls`.
  // Thread-safe: a backlog's issues are planned at once.
  absl::StatusOr<PlannerResult> Plan(const PlannerInput& input, std::vector<CallRecord>* calls);
  // Subtasks made after Start (an issue's planned ones) join their group: subtask -> group.
  void JoinGroups(const std::map<std::string, std::string>& group_of);

  // An agent's call under a live lease: refused when the run has no model or its budget stopped it.
  void Complete(const std::string& lease_id, const std::string& subtask_id, int attempt, v1::ChatRequest request,
                AgentHandler::CompleteDone done);
  // The lease ended: its calls are not retried any more.
  void EndLease(const std::string& lease_id) { bridge_.EndLease(lease_id); }
  // Stops the run's new work on the budget, with the reason (once).
  void StopOnBudget(const std::string& why);
  // At the end of the run, once the executor stopped: the gateway stops, what it finished is
  // recorded, and every call still waiting is answered (Cancelled), so that no RPC is left open.
  void Stop();

  bool has_model() const { return injected_ != nullptr || model_.has_value(); }
  // Whether Start would start a gateway (the only case in which it reads what was spent).
  bool gateway_due() const { return injected_ == nullptr && model_.has_value() && gateway_ == nullptr; }
  bool budget_stopped() const { return budget_stopped_; }
  const std::string& budget_reason() const { return budget_reason_; }
  // What hosts are told to call: the gateway's model, else the run's; null without one.
  const ResolvedModel* model() const;
  // The rate limiter now (nullopt without a gateway), and as it was when the gateway stopped.
  std::optional<ModelGateway::LimiterState> limiter() const;
  const ModelGateway::LimiterState& limiter_at_end() const { return limiter_at_end_; }

 private:
  void Record(const FinishedModelCall& call);

  const std::optional<ResolvedModel> model_;
  ModelCaller* const injected_;
  const double budget_usd_;
  const double per_subtask_usd_;
  const Hooks hooks_;
  ModelCallBridge bridge_;
  std::unique_ptr<ModelGateway> gateway_;  // ends before bridge_: its calls end through it
  ModelGateway::LimiterState limiter_at_end_;
  bool budget_stopped_ = false;
  std::string budget_reason_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_MODEL_H_
