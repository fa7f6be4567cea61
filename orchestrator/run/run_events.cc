#include "orchestrator/run/run_events.h"

#include <unistd.h>

#include <set>

#include "orchestrator/plan/plan.h"
#include "orchestrator/run/recovery.h"
#include "orchestrator/run/run_config.h"
#include "orchestrator/run/run_layout.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {

v1::Event TestRunEvent(const std::string& command, TestFormat format, const std::string& tree,
                       const TestOutcome& outcome, const std::vector<std::string>& subtask_ids,
                       const std::string& verdict, const std::vector<std::string>& flaky, v1::TestStage stage) {
  v1::Event e;
  auto* t = e.mutable_test_run();
  t->set_tree(tree);
  t->set_command(command);
  t->set_passed(outcome.passed);
  t->set_result(outcome.result);
  t->set_log_path(outcome.log_path);
  t->set_duration_ms(outcome.duration.count());
  for (const auto& id : subtask_ids) t->add_subtask_ids(id);
  if (format != TestFormat::kExit) {
    std::set<std::string> failing = outcome.results.Failing();
    for (const auto& name : failing) t->add_failing_tests(name);
    t->set_tests_passed(static_cast<std::uint32_t>(outcome.results.tests.size() - failing.size()));
    t->set_suite_ran(outcome.results.ran);
  }
  t->set_verdict(verdict);
  for (const auto& name : flaky) t->add_flaky_tests(name);
  SetStage(*t, stage);
  return e;
}

v1::Event SubtaskLeasedEvent(const std::string& lease_id, const Lease& lease, const std::string& host_id) {
  v1::Event e;
  auto* l = e.mutable_subtask_leased();
  l->set_subtask_id(lease.subtask_id);
  l->set_attempt(lease.attempt);
  l->set_host_id(host_id);
  l->set_lease_id(lease_id);
  l->set_fence(lease.fence);
  l->set_base_commit(lease.base);
  return e;
}

v1::Event QueueTestingEvent(const std::string& stage, const std::string& lane, const std::vector<std::string>& ids,
                            bool done) {
  v1::Event e;
  v1::QueueTesting* q = e.mutable_queue_testing();
  q->set_stage(stage);
  q->set_lane(lane);
  for (const std::string& id : ids) q->add_subtask_ids(id);
  q->set_done(done);
  return e;
}

v1::Event AgentActivityEvent(const Lease& lease, const std::string& host_id) {
  v1::Event e;
  v1::AgentActivity* a = e.mutable_agent_activity();
  a->set_subtask_id(lease.subtask_id);
  a->set_attempt(static_cast<std::uint32_t>(lease.attempt));
  a->set_host_id(host_id);
  a->set_step(lease.step);
  a->set_action(lease.action);
  return e;
}

v1::Event LeaseExpiredEvent(const std::string& lease_id, const Lease& lease, const std::string& host_id) {
  v1::Event e;
  auto* x = e.mutable_lease_expired();
  x->set_subtask_id(lease.subtask_id);
  x->set_attempt(lease.attempt);
  x->set_lease_id(lease_id);
  x->set_host_id(host_id);
  return e;
}

v1::Event ResultRefusedEvent(const v1::AttemptResult& result, const std::string& host_id, const std::string& why) {
  v1::Event e;
  auto* r = e.mutable_result_refused();
  r->set_lease_id(result.lease_id());
  r->set_fence(result.fence());
  r->set_host_id(host_id);
  r->set_reason(why);
  return e;
}

v1::Event AttemptFinishedEvent(const std::string& subtask_id, int attempt, const v1::AttemptResult& result,
                               const std::string& log_path) {
  v1::Event e;
  auto* f = e.mutable_attempt_finished();
  f->set_subtask_id(subtask_id);
  f->set_attempt(attempt);
  f->set_error(result.error());
  f->set_log_path(log_path);
  f->set_duration_ms(result.duration_ms());
  switch (result.outcome()) {
    case v1::AttemptResult::PATCH:
      SetOutcome(*f, v1::ATTEMPT_OUTCOME_PATCH);
      break;
    case v1::AttemptResult::NO_CHANGE:
      SetOutcome(*f, v1::ATTEMPT_OUTCOME_NO_CHANGE);
      break;
    default:
      SetOutcome(*f, v1::ATTEMPT_OUTCOME_FAILED);
  }
  return e;
}

v1::Event AttemptCutShortEvent(const std::string& subtask_id, int attempt, const std::string& error) {
  v1::Event e;
  auto* f = e.mutable_attempt_finished();
  f->set_subtask_id(subtask_id);
  f->set_attempt(attempt);
  SetOutcome(*f, v1::ATTEMPT_OUTCOME_FAILED);
  f->set_error(error);
  return e;
}

v1::Event SubtaskFinishedEvent(const std::string& subtask_id, v1::SubtaskState state, const std::string& reason,
                               const std::string& log_path) {
  v1::Event e;
  auto* f = e.mutable_subtask_finished();
  f->set_subtask_id(subtask_id);
  f->set_state(state);
  f->set_reason(reason);
  f->set_log_path(log_path);
  return e;
}

v1::Event RunResumedEvent(const Recovery& recovery, int processes_killed, double budget_usd) {
  v1::Event resumed;
  auto* r = resumed.mutable_run_resumed();
  r->set_head(recovery.head);
  r->set_reconciled_landings(recovery.reconciled_landings);
  r->set_interrupted_attempts(recovery.interrupted_attempts);
  r->set_processes_killed(processes_killed);
  r->set_pid(getpid());
  r->set_budget_usd(budget_usd);
  return resumed;
}

v1::Event RunStartedEvent(const PreparedRun& run, const RunLayout& layout, const std::string& limits,
                          const std::string& sandbox) {
  const RunConfig& cfg = run.config;
  v1::Event started;
  auto* s = started.mutable_run_started();
  s->set_repo(run.repo_root);
  s->set_base_commit(run.base);
  for (const auto& sub : run.plan.subtasks) *s->add_subtasks() = sub;
  s->set_agents(cfg.agents);
  s->set_hosts(cfg.agent_hosts);
  s->set_limits(limits);
  s->set_sandbox(sandbox);
  s->set_test_command(cfg.test_command);
  s->set_agent_command(cfg.agent_command);
  s->set_result_branch(ResultBranch(cfg, run.run_id));
  s->set_run_dir(layout.run_dir);
  v1::RunSpec spec = ToSpec(cfg);
  spec.set_repo(run.repo_root);
  spec.set_base_rev(run.base);
  spec.clear_plan_file();
  spec.set_plan_text(PlanToJson(run.plan));
  spec.clear_shard_glob();
  spec.set_shard_parts(0);
  spec.set_independent(false);
  spec.clear_sandbox_env();
  for (const auto& kv : run.sandbox_env) spec.add_sandbox_env(kv);
  spec.set_state_dir(run.state_dir);
  spec.set_agent_binary(run.agent_binary);
  *s->mutable_spec() = std::move(spec);
  return started;
}

}  // namespace swarm
