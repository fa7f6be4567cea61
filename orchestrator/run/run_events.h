// The events a run records, built from their parts: one place that knows which fields each carries,
// so the coordinator and its parts say what happened, not how it is spelled.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_EVENTS_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "orchestrator/merge/test_gate.h"
#include "orchestrator/run/lease_table.h"
#include "swarm/v1/agent.pb.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

struct PreparedRun;
struct Recovery;
struct RunLayout;

// A test run of `tree` with `command` in `format`: on the head before agents start ("head"), alone
// on a patch's base ("check") or in the integration queue ("queue"). `verdict` is why the gate said
// no, empty when it said yes.
v1::Event TestRunEvent(const std::string& command, TestFormat format, const std::string& tree,
                       const TestOutcome& outcome, const std::vector<std::string>& subtask_ids,
                       const std::string& verdict, const std::vector<std::string>& flaky, v1::TestStage stage);

// A lease given to `host_id`.
v1::Event SubtaskLeasedEvent(const std::string& lease_id, const Lease& lease, const std::string& host_id);
// A lease whose host stopped heartbeating: the attempt is void.
// Live only (RunRecorder::Live): what the lease's agent is doing now.
v1::Event AgentActivityEvent(const Lease& lease, const std::string& host_id);
v1::Event QueueTestingEvent(const std::string& stage, const std::string& lane, const std::vector<std::string>& ids,
                            bool done);
v1::Event LeaseExpiredEvent(const std::string& lease_id, const Lease& lease, const std::string& host_id);
// A result under a lease that is not current (expired and given to another, or never given).
v1::Event ResultRefusedEvent(const v1::AttemptResult& result, const std::string& host_id, const std::string& why);

// An attempt as its agent's host reported it: patch, no_change or failed, with its log.
v1::Event AttemptFinishedEvent(const std::string& subtask_id, int attempt, const v1::AttemptResult& result,
                               const std::string& log_path);

// An attempt that ended without reaching its agent's result (cut short, its host gone): failed.
v1::Event AttemptCutShortEvent(const std::string& subtask_id, int attempt, const std::string& error);

// A subtask's outcome, or a fix-up of it that is pending.
v1::Event SubtaskFinishedEvent(const std::string& subtask_id, v1::SubtaskState state, const std::string& reason,
                               const std::string& log_path);

// A session that takes over a run whose coordinator died: what it recovered, and what it killed.
v1::Event RunResumedEvent(const Recovery& recovery, int processes_killed, double budget_usd);

// The first event of a run: what it is, and the spec as resolved, so that a resume continues this
// run and not a re-read of its inputs.
v1::Event RunStartedEvent(const PreparedRun& run, const RunLayout& layout, const std::string& limits,
                          const std::string& sandbox);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_EVENTS_H_
