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

// A run's model: "gpt-x" is in its provider's table.
ResolvedModel TestModel() {
  ResolvedModel m;
  m.ref = "openai:gpt-x";
  m.model = "gpt-x";
  m.provider.models["gpt-x"] = ModelInfo{};
  return m;
}

TEST(RunMetricsTest, EventsAreCountedByClosedSets) {
  Registry r;
  RunMetrics run(TestModel(), r);
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

  const std::string m = "provider=\"openai\",model=\"gpt-x\"";
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

TEST(RunMetricsTest, AModelNameNoTableListsIsOtherAndAScriptIsScript) {
  Registry r;
  ResolvedModel any = TestModel();
  any.ref = "ollama:whatever-a-client-sent";
  any.model = "whatever-a-client-sent";
  RunMetrics run(any, r);
  run.Observe(ModelCalled(true, 1, 1, 0, 0));
  ResolvedModel script = TestModel();
  script.ref = "scripted:/home/someone/script.json";
  script.model = "/home/someone/script.json";
  RunMetrics scripted(script, r);
  scripted.Observe(ModelCalled(true, 1, 1, 0, 0));
  const std::string text = r.Text();
  EXPECT_NE(text.find("swarm_model_calls_total{provider=\"ollama\",model=\"other\",outcome=\"ok\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("swarm_model_calls_total{provider=\"scripted\",model=\"script\",outcome=\"ok\"} 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("whatever"), std::string::npos);
  EXPECT_EQ(text.find("someone"), std::string::npos);
}

TEST(RunMetricsTest, AFixUpIsNoOutcomeAndTheRunsEndTakesItsGaugesBack) {
  Registry r;
  RunMetrics run(std::nullopt, r);
  run.Update({.pending = 2, .hosts = 1, .slots = 2});
  v1::Event fixup;
  fixup.mutable_subtask_finished()->set_state(v1::FIX_UP_PENDING);
  run.Observe(fixup);
  v1::Event landed;
  landed.mutable_subtask_finished()->set_state(v1::LANDED);
  run.Observe(landed);
  v1::Event finished;
  SetState(*finished.mutable_run_finished(), v1::RUN_STATE_COMPLETED);
  run.Observe(finished);
  run.Update({.pending = 5});  // after its end: ignored
  const std::string text = r.Text();
  EXPECT_EQ(text.find("fix_up_pending"), std::string::npos) << text;
  EXPECT_NE(text.find("swarm_subtasks_finished_total{state=\"landed\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("swarm_runs_live 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("swarm_subtasks{state=\"pending\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("swarm_hosts 0\n"), std::string::npos) << text;
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
  auto first = std::make_unique<RunMetrics>(std::nullopt, r);
  first->Update({.pending = 5, .running = 2, .hosts = 1, .slots = 4, .busy_agents = 2});
  {
    RunMetrics second(std::nullopt, r);
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
