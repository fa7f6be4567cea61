#include "orchestrator/run/run_metrics.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {
namespace {

using metrics::Counter;
using metrics::Family;
using metrics::Gauge;
using metrics::Histogram;
using metrics::Registry;

// What ModelCall.faults may hold (model_gateway.cc); anything else counts as "other".
constexpr std::string_view kFaults[] = {"rate_limited", "server_error", "timeout", "cut_off",
                                        "not_json",     "unreachable",  "refused", "malformed_tool_args"};

// An attempt whose agent never ran: its sandbox or workspace could not be made (agents/*.cc's words).
bool SandboxFailed(std::string_view error) {
  for (std::string_view prefix : {"cannot sandbox ", "cannot start the agent command", "cannot make the workspace"}) {
    if (error.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::string_view ClosedFault(std::string_view fault) {
  for (std::string_view f : kFaults) {
    if (f == fault) return f;
  }
  return "other";
}

}  // namespace

// Every family a run adds to, looked up once (the registry gives each part the same one).
struct RunMetrics::Families {
  explicit Families(Registry& r)
      : hosts_registered(r.CounterFamily("swarm_hosts_registered_total", "Agent hosts that registered.")),
        leases_granted(r.CounterFamily("swarm_leases_granted_total", "Leases granted: attempts started.")),
        leases_expired(r.CounterFamily("swarm_leases_expired_total",
                                       "Leases that expired: hosts silent past the lease time-out.")),
        results_refused(r.CounterFamily("swarm_results_refused_total",
                                        "Results refused: a stale fence, or a lease that had ended.")),
        attempts(r.CounterFamily("swarm_attempts_total", "Attempts that ended, by outcome (patch, no_change, failed).",
                                 {"outcome"})),
        sandbox_failures(r.CounterFamily("swarm_sandbox_failures_total",
                                         "Sandboxes that could not be made or started: an agent's or a test run's.",
                                         {"where"})),
        patches_submitted(r.CounterFamily("swarm_patches_submitted_total", "Patches agents submitted.")),
        patches_rejected(r.CounterFamily(
            "swarm_patches_rejected_total",
            "Patches the merge rejected, by reason (conflict, tests_failed, check_failed, merge_error).", {"reason"})),
        landings(r.CounterFamily("swarm_landings_total", "Commits the merge queue landed (a group lands as one).")),
        patches_landed(r.CounterFamily("swarm_patches_landed_total", "Subtasks' patches landed.")),
        subtasks_finished(r.CounterFamily("swarm_subtasks_finished_total",
                                          "Subtasks that reached their outcome, by state.", {"state"})),
        runs_finished(r.CounterFamily("swarm_runs_finished_total", "Runs that ended, by state.", {"state"})),
        test_runs(r.CounterFamily("swarm_test_runs_total", "Test runs, by stage (head, check, queue) and result.",
                                  {"stage", "result"})),
        test_duration(r.HistogramFamily("swarm_test_run_duration_seconds", "How long test runs took, by stage.",
                                        {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}, {"stage"})),
        model_calls(r.CounterFamily("swarm_model_calls_total",
                                    "Model calls made, by outcome (ok, or failed after its retries).",
                                    {"provider", "model", "outcome"})),
        model_tokens(r.CounterFamily(
            "swarm_model_tokens_total",
            "Tokens of model calls: input (cached ones included), cached_input, output (reasoning included).",
            {"provider", "model", "kind"})),
        model_cost(r.CounterFamily("swarm_model_cost_usd_total", "What the model calls cost, in US dollars.",
                                   {"provider", "model"})),
        limiter_wait(r.CounterFamily("swarm_model_limiter_wait_seconds_total",
                                     "Time model calls waited for the rate limiter to admit them.",
                                     {"provider", "model"})),
        budget_wait(r.CounterFamily("swarm_model_budget_wait_seconds_total",
                                    "Time model calls waited for other calls' budget reservations to settle.",
                                    {"provider", "model"})),
        model_faults(r.CounterFamily("swarm_model_faults_total",
                                     "Failed HTTP attempts of model calls (retried or not), by kind.",
                                     {"provider", "model", "fault"})),
        runs_live(r.GaugeFamily("swarm_runs_live", "Runs this process is running.")),
        subtasks(r.GaugeFamily("swarm_subtasks", "Subtasks of the live runs, by state.", {"state"})),
        merge_queue_depth(r.GaugeFamily("swarm_merge_queue_depth",
                                        "Patches between their submission and their landing or rejection.")),
        hosts(r.GaugeFamily("swarm_hosts", "Agent hosts connected.")),
        agents(r.GaugeFamily("swarm_agents", "Agent slots of the connected hosts: busy (a lease) or idle.", {"state"})),
        model_in_flight(r.GaugeFamily("swarm_model_requests_in_flight", "Model calls admitted and not answered.")),
        model_limit(
            r.GaugeFamily("swarm_model_concurrency_limit", "The rate limiters' concurrency now (halved after a 429).")),
        budget(r.GaugeFamily("swarm_budget_usd", "The live runs' budgets (0: none).")) {}

  Family<Counter>& hosts_registered;
  Family<Counter>& leases_granted;
  Family<Counter>& leases_expired;
  Family<Counter>& results_refused;
  Family<Counter>& attempts;
  Family<Counter>& sandbox_failures;
  Family<Counter>& patches_submitted;
  Family<Counter>& patches_rejected;
  Family<Counter>& landings;
  Family<Counter>& patches_landed;
  Family<Counter>& subtasks_finished;
  Family<Counter>& runs_finished;
  Family<Counter>& test_runs;
  Family<Histogram>& test_duration;
  Family<Counter>& model_calls;
  Family<Counter>& model_tokens;
  Family<Counter>& model_cost;
  Family<Counter>& limiter_wait;
  Family<Counter>& budget_wait;
  Family<Counter>& model_faults;
  Family<Gauge>& runs_live;
  Family<Gauge>& subtasks;
  Family<Gauge>& merge_queue_depth;
  Family<Gauge>& hosts;
  Family<Gauge>& agents;
  Family<Gauge>& model_in_flight;
  Family<Gauge>& model_limit;
  Family<Gauge>& budget;
  // The gauges' series, found once: Update runs after every event.
  std::vector<Gauge*> subtask_states;  // kSubtaskStates' order
  Gauge* busy = &agents.With({"busy"});
  Gauge* idle = &agents.With({"idle"});
};

namespace {

constexpr const char* kSubtaskStates[] = {"pending", "running", "merging", "landed", "failed", "skipped", "no_change"};

void CountModelCall(RunMetrics::Families& f, const std::string& provider, const std::string& model,
                    const v1::ModelCall& call) {
  f.model_calls.With({provider, model, call.ok() ? "ok" : "failed"}).Add();
  f.model_tokens.With({provider, model, "input"}).Add(static_cast<double>(call.usage().input_tokens()));
  f.model_tokens.With({provider, model, "cached_input"}).Add(static_cast<double>(call.usage().cached_input_tokens()));
  f.model_tokens.With({provider, model, "output"}).Add(static_cast<double>(call.usage().output_tokens()));
  f.model_cost.With({provider, model}).Add(call.cost_usd());
  f.limiter_wait.With({provider, model}).Add(call.limiter_wait_ms() / 1000.0);
  f.budget_wait.With({provider, model}).Add(call.budget_wait_ms() / 1000.0);
  for (const auto& [fault, n] : call.faults()) f.model_faults.With({provider, model, ClosedFault(fault)}).Add(n);
}

std::string ProviderLabel(const std::optional<ResolvedModel>& m) {
  return m ? m->ref.substr(0, m->ref.find(':')) : "none";
}

std::string ModelLabel(const std::optional<ResolvedModel>& m) {
  if (!m) return "none";
  const std::string provider = ProviderLabel(m);
  if (provider.rfind("scripted", 0) == 0) return "script";
  return m->provider.models.count(m->model) ? m->model : "other";
}

void CountTestRun(RunMetrics::Families& f, const v1::TestRun& run) {
  const char* stage = Name(StageOf(run));
  if (*stage == '\0') stage = "unknown";
  f.test_runs.With({stage, run.passed() ? "passed" : "failed"}).Add();
  f.test_duration.With({stage}).Observe(run.duration_ms() / 1000.0);
}

// A closed set's name, or "unknown" for the empty one.
const char* Known(const char* name) { return *name == '\0' ? "unknown" : name; }

}  // namespace

void DeclareRunMetrics(Registry& registry) {
  RunMetrics::Families f(registry);
  // The series of closed sets a scrape should always show, zero until something happens.
  for (metrics::Family<Counter>* c : {&f.hosts_registered, &f.leases_granted, &f.leases_expired, &f.results_refused,
                                      &f.patches_submitted, &f.landings, &f.patches_landed}) {
    c->Get();
  }
  for (const char* where : {"agent", "test"}) f.sandbox_failures.With({where});
  for (const char* state : kSubtaskStates) f.subtasks.With({state});
  for (const char* state : {"busy", "idle"}) f.agents.With({state});
  for (metrics::Family<Gauge>* g :
       {&f.runs_live, &f.merge_queue_depth, &f.hosts, &f.model_in_flight, &f.model_limit, &f.budget}) {
    g->Get();
  }
}

RunMetrics::RunMetrics(const std::optional<ResolvedModel>& model, Registry& registry)
    : families_(std::make_unique<Families>(registry)), provider_(ProviderLabel(model)), model_(ModelLabel(model)) {
  DeclareRunMetrics(registry);
  Share(families_->runs_live.Get(), 1);
}

RunMetrics::~RunMetrics() { End(); }

void RunMetrics::End() {
  for (auto& [gauge, share] : shares_) {
    gauge->Add(-share);
    share = 0;
  }
  ended_ = true;
}

void RunMetrics::Share(Gauge& gauge, double value) {
  double& share = shares_[&gauge];
  gauge.Add(value - share);
  share = value;
}

void RunMetrics::Observe(const v1::Event& e) {
  Families& f = *families_;
  switch (e.kind_case()) {
    case v1::Event::kAgentRegistered:
      f.hosts_registered.Get().Add();
      break;
    case v1::Event::kSubtaskLeased:
      f.leases_granted.Get().Add();
      break;
    case v1::Event::kLeaseExpired:
      f.leases_expired.Get().Add();
      break;
    case v1::Event::kResultRefused:
      f.results_refused.Get().Add();
      break;
    case v1::Event::kAttemptFinished:
      f.attempts.With({Known(Name(OutcomeOf(e.attempt_finished())))}).Add();
      if (SandboxFailed(e.attempt_finished().error())) f.sandbox_failures.With({"agent"}).Add();
      break;
    case v1::Event::kPatchSubmitted:
      f.patches_submitted.Get().Add();
      break;
    case v1::Event::kTestRun:
      CountTestRun(f, e.test_run());
      break;
    case v1::Event::kPatchRejected:
      f.patches_rejected.With({Known(Name(ReasonOf(e.patch_rejected())))}).Add();
      break;
    case v1::Event::kLanded:
      f.landings.Get().Add();
      f.patches_landed.Get().Add(e.landed().subtask_ids_size());
      break;
    case v1::Event::kSubtaskFinished:
      // A fix-up is on its way to an outcome, not one.
      if (e.subtask_finished().state() == v1::FIX_UP_PENDING ||
          e.subtask_finished().state() == v1::SUBTASK_STATE_UNSPECIFIED) {
        break;
      }
      f.subtasks_finished.With({absl::AsciiStrToLower(v1::SubtaskState_Name(e.subtask_finished().state()))}).Add();
      break;
    case v1::Event::kModelCalled:
      CountModelCall(f, provider_, model_, e.model_called().call());
      break;
    case v1::Event::kRunFinished:
      f.runs_finished.With({Known(Name(StateOf(e.run_finished())))}).Add();
      End();
      break;
    default:
      break;
  }
}

void RunMetrics::Update(const Now& now) {
  if (ended_) return;
  Families& f = *families_;
  if (f.subtask_states.empty()) {
    for (const char* state : kSubtaskStates) f.subtask_states.push_back(&f.subtasks.With({state}));
  }
  const int values[] = {now.pending, now.running, now.merging, now.landed, now.failed, now.skipped, now.no_change};
  for (size_t i = 0; i < std::size(kSubtaskStates); ++i) Share(*f.subtask_states[i], values[i]);
  Share(f.merge_queue_depth.Get(), now.merging);
  Share(f.hosts.Get(), now.hosts);
  Share(*f.busy, now.busy_agents);
  Share(*f.idle, now.slots > now.busy_agents ? now.slots - now.busy_agents : 0);
  Share(f.model_in_flight.Get(), now.model_in_flight);
  Share(f.model_limit.Get(), now.model_limit);
  Share(f.budget.Get(), now.budget_usd);
}

RunMetrics::Now MetricsNow(const Scheduler* scheduler, int subtasks, const LeaseTable* leases, int model_in_flight,
                           int model_limit, double budget_usd) {
  using State = Scheduler::State;
  auto count = [scheduler](State state) { return scheduler != nullptr ? scheduler->Count(state) : 0; };
  return RunMetrics::Now{.pending = scheduler != nullptr ? count(State::kPending) : subtasks,
                         .running = count(State::kRunning),
                         .merging = count(State::kPatchReady) + count(State::kMerging),
                         .landed = count(State::kLanded),
                         .failed = count(State::kFailed),
                         .skipped = count(State::kSkipped),
                         .no_change = count(State::kNoChange),
                         .hosts = leases != nullptr ? leases->hosts() : 0,
                         .slots = leases != nullptr ? leases->slots() : 0,
                         .busy_agents = leases != nullptr ? static_cast<int>(leases->leases().size()) : 0,
                         .model_in_flight = model_in_flight,
                         .model_limit = model_limit,
                         .budget_usd = budget_usd};
}

}  // namespace swarm
