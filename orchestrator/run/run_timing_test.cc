#include "orchestrator/run/run_timing.h"

#include <gtest/gtest.h>

namespace swarm {
namespace {

class RunTimingTest : public ::testing::Test {
 protected:
  void At(double s, v1::Event e) {
    e.set_time_unix_ms(static_cast<std::int64_t>(1'000'000 + s * 1000));
    events_.push_back(std::move(e));
  }
  void Started(int agents, const std::vector<std::pair<std::string, std::vector<std::string>>>& plan) {
    v1::Event e;
    e.mutable_run_started()->set_agents(agents);
    for (const auto& [id, deps] : plan) {
      auto* s = e.mutable_run_started()->add_subtasks();
      s->set_id(id);
      for (const auto& d : deps) s->add_depends_on(d);
    }
    At(0, e);
  }
  void Leased(double s, const std::string& id, int attempt = 1) {
    v1::Event e;
    e.mutable_subtask_leased()->set_subtask_id(id);
    e.mutable_subtask_leased()->set_attempt(attempt);
    At(s, e);
  }
  void Finished(double s, const std::string& id, const std::string& outcome = "patch", int attempt = 1) {
    v1::Event e;
    e.mutable_attempt_finished()->set_subtask_id(id);
    e.mutable_attempt_finished()->set_attempt(attempt);
    e.mutable_attempt_finished()->set_outcome(outcome);
    At(s, e);
  }
  void Committed(double s, const std::string& id, int attempt = 1) {
    v1::Event e;
    e.mutable_patch_submitted()->set_subtask_id(id);
    e.mutable_patch_submitted()->set_attempt(attempt);
    At(s, e);
  }
  void ModelCall(double end_s, int latency_ms, const std::string& fault = "") {
    v1::Event e;
    e.mutable_model_called()->mutable_call()->set_latency_ms(latency_ms);
    if (!fault.empty()) (*e.mutable_model_called()->mutable_call()->mutable_faults())[fault] = 2;
    At(end_s, e);
  }
  void Landed(double s, const std::string& id) {
    v1::Event e;
    e.mutable_landed()->add_subtask_ids(id);
    At(s, e);
  }
  std::vector<v1::Event> events_;
};

// Two agents, a chain a -> b and a leaf c, with timings the test controls.
TEST_F(RunTimingTest, BusyIdleStagesAndTheCriticalPath) {
  Started(2, {{"a", {}}, {"b", {"a"}}, {"c", {}}});
  Leased(1, "a");
  Leased(1, "c");
  Finished(5, "a");
  Committed(6, "a");
  Finished(3, "c", "no_change");
  Landed(8, "a");
  Leased(9, "b");   // ready at 8, when a landed
  Finished(13, "b");
  Committed(14, "b");
  Landed(20, "b");
  RunTiming t = MeasureRun(events_);
  EXPECT_DOUBLE_EQ(t.wall_s, 20);
  EXPECT_EQ(t.agents, 2);
  EXPECT_DOUBLE_EQ(t.agent_busy_s, 4 + 2 + 4);
  EXPECT_DOUBLE_EQ(t.efficiency, 10.0 / 40);
  EXPECT_DOUBLE_EQ(t.agent_idle_s, 30);
  EXPECT_EQ(t.critical_path, (std::vector<std::string>{"a", "b"}));
  EXPECT_DOUBLE_EQ(t.critical_path_s, (8 - 1) + (20 - 9));
  EXPECT_EQ(t.stages["agent"].count, 3);
  EXPECT_DOUBLE_EQ(t.stages["agent"].p50_s, 4);
  EXPECT_DOUBLE_EQ(t.stages["lease_wait"].total_s, 1 + 1 + 1);
  EXPECT_DOUBLE_EQ(t.stages["patch"].p99_s, 1);
  EXPECT_DOUBLE_EQ(t.stages["merge"].total_s, 2 + 6);
}

TEST_F(RunTimingTest, ARetryWaitsFromTheFailedAttemptsEnd) {
  Started(1, {{"a", {}}});
  Leased(0, "a", 1);
  Finished(2, "a", "failed", 1);
  Leased(5, "a", 2);
  Finished(6, "a", "patch", 2);
  Committed(6, "a", 2);
  Landed(7, "a");
  RunTiming t = MeasureRun(events_);
  EXPECT_EQ(t.stages["lease_wait"].count, 2);
  EXPECT_DOUBLE_EQ(t.stages["lease_wait"].p99_s, 3);
  EXPECT_DOUBLE_EQ(t.agent_busy_s, 3);
  EXPECT_EQ(MeasureRun({}).wall_s, 0);
}

TEST_F(RunTimingTest, ModelCallsInFlightOverTimeArePeaksPerSlice) {
  Started(4, {{"a", {}}});
  ModelCall(2.0, 2000);  // 0 to 2 s
  ModelCall(2.5, 1000);  // 1.5 to 2.5 s
  ModelCall(3.2, 500);   // 2.7 to 3.2 s
  ModelCall(5.9, 100, "rate_limited");  // 5.8 to 5.9 s, after two 429s
  Landed(6.0, "a");
  RunTiming t = MeasureRun(events_);
  EXPECT_EQ(t.in_flight_slice_s, 1.0);  // 6 s of run: slices of a second
  EXPECT_EQ(t.model_faults, (std::map<std::string, std::uint64_t>{{"rate_limited", 2}}));
  EXPECT_EQ(t.model_in_flight, (std::vector<int>{1, 2, 1, 1, 0, 1, 0}));
  // A long run: at most about 120 slices.
  At(600, v1::Event());
  t = MeasureRun(events_);
  EXPECT_EQ(t.in_flight_slice_s, 5.0);
  EXPECT_EQ(t.model_in_flight.size(), 121u);
  EXPECT_EQ(t.model_in_flight[0], 2);
  EXPECT_TRUE(MeasureRun({}).model_in_flight.empty());
}

}  // namespace
}  // namespace swarm
