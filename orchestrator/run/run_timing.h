// How parallel a run really was, read from its events: the agents' busy and idle time, the time each
// stage took (waiting for a lease once ready, the agent, the patch commit, the check and the queue)
// with p50 and p99, and the critical path (the chain of subtasks that decided when the run ended)
// against the wall time, and the model calls in flight over time. For report.json and the summary. A
// pure function: no store, no clock.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_TIMING_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_TIMING_H_

#include <map>
#include <string>
#include <vector>

#include "swarm/v1/events.pb.h"

namespace swarm {

struct StageTiming {
  int count = 0;
  double p50_s = 0;
  double p99_s = 0;
  double total_s = 0;
};

struct RunTiming {
  // The earliest event to the latest. A resumed run includes its pause, and the events recovery
  // writes for work cut short are timed at the resume.
  double wall_s = 0;
  int agents = 0;
  double agent_busy_s = 0;     // every attempt, from its lease to its end
  double agent_idle_s = 0;     // agents × wall − busy
  double efficiency = 0;       // busy / (agents × wall); above 1 if more slots ran than --agents
  // lease_wait (ready, or the last attempt's end, to the lease), agent (lease to the attempt's end),
  // patch (the attempt's end to the patch committed), merge (the patch committed to its landing).
  std::map<std::string, StageTiming> stages;
  // The chain that decided when the run ended: the subtask done last, back through the dependency
  // done last, first to last; and what its subtasks took, each from its first lease to its landing
  // (against wall_s: the rest is waiting for agents, hosts, the base test and the tail).
  std::vector<std::string> critical_path;
  double critical_path_s = 0;
  // Model calls in flight over time: for each slice of the run (in_flight_slice_s long, from the
  // first event), the most calls in flight at once in it, each call from its start (its end less its
  // latency) to its end. Empty for a run without model calls.
  double in_flight_slice_s = 0;
  std::vector<int> model_in_flight;
  // What went wrong on the way to the model, summed over the calls by kind (v1::ModelCall.faults).
  std::map<std::string, std::uint64_t> model_faults;
};

RunTiming MeasureRun(const std::vector<v1::Event>& events);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_TIMING_H_
