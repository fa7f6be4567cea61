#include "orchestrator/run/run_metrics.h"

#include <vector>

#include "gtest/gtest.h"
#include "orchestrator/store/event_kinds.h"

namespace swarm {
namespace {

using metrics::Registry;

v1::Event ModelCalled(bool ok, int input, int output, double cost, int limiter_ms) {
  v1::Event e;
  v1::ModelCall* call = e.mutable_model_called()->mutable_call();
  call->set_model("openai:gpt-x");
  call->set_subtask_id("subtask-ids-never-become-labels");
  call->set_ok(ok);
  call->mutable_usage()->set_input_tokens(input);
  call->mutable_usage()->set_output_tokens(output);
  call->set_cost_usd(cost);
  call->set_limiter_wait_ms(limiter_ms);
  (*call->mutable_faults())["rate_limited"] = 2;
  (*call->mutable_faults())["a fault nobody listed"] = 1;
  return e;
}

TEST(RunMetricsTest, EventsAreCountedByClosedSets) {
  Registry r;
  RunMetrics run(r);
  run.Observe(ModelCalled(true, 100, 10, 0.25, 1500));
  run.Observe(ModelCalled(false, 0, 0, 0, 0));
  v1::Event leased;
  leased.mutable_subtask_leased()->set_subtask_id("a");
  run.Observe(leased);
  v1::Event test;
  test.mutable_test_run()->set_passed(true);
  test.mutable_test_run()->set_duration_ms(1200);
  SetStage(*test.mutable_test_run(), v1::TEST_STAGE_CHECK);
  run.Observe(test);
  v1::Event landed;
  landed.mutable_landed()->add_subtask_ids("a");
  landed.mutable_landed()->add_subtask_ids("b");
  run.Observe(landed);
  v1::Event rejected;
  SetReason(*rejected.mutable_patch_rejected(), v1::REJECTION_REASON_CONFLICT);
  run.Observe(rejected);
  v1::Event no_sandbox;
  no_sandbox.mutable_attempt_finished()->set_error("cannot sandbox the agent command: bwrap is missing");
  SetOutcome(*no_sandbox.mutable_attempt_finished(), v1::ATTEMPT_OUTCOME_FAILED);
  run.Observe(no_sandbox);

  const std::string m = "provider=\"openai\",model=\"openai:gpt-x\"";
  const std::string text = r.Text();
  for (const std::string& line : std::vector<std::string>{
           "swarm_model_calls_total{" + m + ",outcome=\"ok\"} 1",
           "swarm_model_calls_total{" + m + ",outcome=\"failed\"} 1",
           "swarm_model_tokens_total{" + m + ",kind=\"input\"} 100", "swarm_model_cost_usd_total{" + m + "} 0.25",
           "swarm_model_limiter_wait_seconds_total{" + m + "} 1.5",
           "swarm_model_faults_total{" + m + ",fault=\"rate_limited\"} 4",
           "swarm_model_faults_total{" + m + ",fault=\"other\"} 2", "swarm_leases_granted_total 1",
           std::string("swarm_test_runs_total{stage=\"check\",result=\"passed\"} 1"),
           std::string("swarm_test_run_duration_seconds_bucket{stage=\"check\",le=\"2.5\"} 1"),
           std::string("swarm_patches_landed_total 2"), std::string("swarm_landings_total 1"),
           std::string("swarm_patches_rejected_total{reason=\"conflict\"} 1"),
           std::string("swarm_attempts_total{outcome=\"failed\"} 1"),
           std::string("swarm_sandbox_failures_total{where=\"agent\"} 1"),
           std::string("swarm_sandbox_failures_total{where=\"test\"} 0")}) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  }
  EXPECT_EQ(text.find("subtask-ids"), std::string::npos);
  EXPECT_EQ(text.find("nobody listed"), std::string::npos);
}

TEST(RunMetricsTest, GaugesAddUpAcrossRunsAndARunTakesItsShareBackWhenItEnds) {
  Registry r;
  auto gauge = [&](const std::string& series) {
    const std::string text = r.Text();
    const size_t at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + 2));
  };
  DeclareRunMetrics(r);
  EXPECT_EQ(gauge("swarm_runs_live"), 0);
  EXPECT_EQ(gauge("swarm_subtasks{state=\"pending\"}"), 0);  // declared: every closed set shows
  auto first = std::make_unique<RunMetrics>(r);
  first->Update({.pending = 5, .running = 2, .hosts = 1, .slots = 4, .busy_agents = 2});
  {
    RunMetrics second(r);
    second.Update({.pending = 1, .hosts = 1, .slots = 2});
    EXPECT_EQ(gauge("swarm_runs_live"), 2);
    EXPECT_EQ(gauge("swarm_subtasks{state=\"pending\"}"), 6);
    EXPECT_EQ(gauge("swarm_agents{state=\"idle\"}"), 4);
    second.Update({.pending = 0, .landed = 1, .hosts = 1, .slots = 2});
    EXPECT_EQ(gauge("swarm_subtasks{state=\"pending\"}"), 5);
    EXPECT_EQ(gauge("swarm_subtasks{state=\"landed\"}"), 1);
  }
  EXPECT_EQ(gauge("swarm_runs_live"), 1);
  EXPECT_EQ(gauge("swarm_subtasks{state=\"landed\"}"), 0);
  EXPECT_EQ(gauge("swarm_agents{state=\"busy\"}"), 2);
  first.reset();
  EXPECT_EQ(gauge("swarm_runs_live"), 0);
  EXPECT_EQ(gauge("swarm_subtasks{state=\"pending\"}"), 0);
  EXPECT_EQ(gauge("swarm_hosts"), 0);
}

}  // namespace
}  // namespace swarm
