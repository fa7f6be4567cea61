#include "orchestrator/run/run_model.h"

#include <sys/prctl.h>

#include "absl/strings/str_format.h"

namespace swarm {

RunModel::RunModel(std::optional<ResolvedModel> model, ModelCaller* injected, double budget_usd,
                   double per_subtask_usd, Hooks hooks)
    : model_(std::move(model)),
      injected_(injected),
      budget_usd_(budget_usd),
      per_subtask_usd_(per_subtask_usd),
      hooks_(std::move(hooks)),
      bridge_(hooks_.post, [this](const FinishedModelCall& call) { Record(call); }) {}

RunModel::~RunModel() {
  bridge_.SetCaller(nullptr);
  gateway_.reset();
}

absl::Status RunModel::Start(const std::map<std::string, ModelSpend>& spent, double per_group_usd,
                             std::map<std::string, std::string> group_of) {
  if (injected_ != nullptr) {
    bridge_.SetCaller(injected_);
    return absl::OkStatus();
  }
  if (!model_ || gateway_ != nullptr) return absl::OkStatus();
  // Another process of this user must not read the key from our memory or /proc/PID/environ.
  if (!model_->api_key.empty()) prctl(PR_SET_DUMPABLE, 0);
  GatewayOptions options;
  options.budget_usd = budget_usd_;
  options.per_subtask_usd = per_subtask_usd_;
  options.per_group_usd = per_group_usd;
  options.group_of = std::move(group_of);
  for (const auto& [subtask, spend] : spent) {
    options.spent_usd += spend.cost_usd;
    options.spent_by_subtask[subtask] = spend.cost_usd;
  }
  absl::StatusOr<std::unique_ptr<ModelGateway>> gateway = ModelGateway::Start(*model_, options);
  if (!gateway.ok()) return gateway.status();
  gateway_ = std::move(*gateway);
  bridge_.SetCaller(gateway_.get());
  if (gateway_->budget_exhausted()) {
    budget_stopped_ = true;
    budget_reason_ = absl::StrFormat("the budget of $%.2f was spent before this session", budget_usd_);
  }
  return absl::OkStatus();
}

absl::StatusOr<PlannerResult> RunModel::Plan(const PlannerInput& input, std::vector<CallRecord>* calls) {
  if (gateway_ == nullptr) return absl::FailedPreconditionError("planning a task needs a model: give --model");
  return PlanTask(*gateway_, input, calls);
}

void RunModel::JoinGroups(const std::map<std::string, std::string>& group_of) {
  if (gateway_ == nullptr) return;
  for (const auto& [subtask, group] : group_of) gateway_->JoinGroup(subtask, group);
}

void RunModel::Complete(const std::string& lease_id, const std::string& subtask_id, int attempt,
                        v1::ChatRequest request, AgentHandler::CompleteDone done) {
  if (!has_model()) {
    done(absl::FailedPreconditionError("this run has no model: start it with --model PROVIDER:MODEL"));
    return;
  }
  if (budget_stopped_) {
    done(absl::ResourceExhaustedError("the run stopped on its budget: " + budget_reason_));
    return;
  }
  bridge_.Start(lease_id, subtask_id, attempt, std::move(request), std::move(done));
}

void RunModel::Record(const FinishedModelCall& c) {
  v1::Event e;
  v1::ModelCall* call = e.mutable_model_called()->mutable_call();
  *call = c.record.call;
  call->set_attempt(c.attempt);
  call->set_step(c.step);
  hooks_.record(std::move(e), {.model_request = c.record.request_body, .model_response = c.record.response_body});
  if (c.record.refused_by_run_budget) StopOnBudget(std::string(c.reply.status().message()));
}

void RunModel::StopOnBudget(const std::string& why) {
  if (budget_stopped_) return;
  budget_stopped_ = true;
  budget_reason_ = why;
  hooks_.budget_stopped(why);
}

void RunModel::Stop() {
  bridge_.SetCaller(nullptr);
  if (gateway_ != nullptr) limiter_at_end_ = gateway_->limiter();
  gateway_.reset();  // calls in flight end (recorded at their reservation)
  bridge_.Drain();   // the executor has stopped: record what is queued here
  bridge_.AnswerWaiting(absl::CancelledError("the run is finishing"));
}

const ResolvedModel* RunModel::model() const {
  if (gateway_ != nullptr) return &gateway_->model();
  return model_ ? &*model_ : nullptr;
}

std::optional<ModelGateway::LimiterState> RunModel::limiter() const {
  if (gateway_ == nullptr) return std::nullopt;
  return gateway_->limiter();
}

}  // namespace swarm
