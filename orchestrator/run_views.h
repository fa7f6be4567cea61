// What `swarm runs`, `swarm show` and `swarm logs` print: read-only views of the state directory.
#ifndef SWARM_ORCHESTRATOR_RUN_VIEWS_H_
#define SWARM_ORCHESTRATOR_RUN_VIEWS_H_

#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "orchestrator/store/store.h"

namespace swarm {

// One line per run, newest first: id, state, landed/total, result branch, repository.
absl::Status PrintRuns(const Store& store, std::ostream& out);
// The run, then subtask by subtask: outcome, reason, every attempt (host, outcome, log), commit,
// and model calls with their tokens and cost; the run's total spending.
absl::Status PrintRun(const Store& store, const std::string& run_id, std::ostream& out);
// Every model request and reply of a subtask, in order, as sent and received (never a header).
absl::Status PrintTranscript(const Store& store, const std::string& run_id, const std::string& subtask_id,
                             std::ostream& out);
// The merge stage's history, in order: each patch as it was submitted (its sequence number in the
// log), its check alone on its base, each test of a candidate on the head (what it held, the verdict,
// flaky tests), each landing and rejection.
absl::Status PrintQueue(const Store& store, const std::string& run_id, std::ostream& out);
// The logs of a run (agent, test and host logs), or of one subtask, each under a header.
absl::Status PrintLogs(const Store& store, const std::string& run_id, const std::string& subtask_id,
                       std::ostream& out);
// The subtask's logs so far, then its running attempt's output as it is written (each attempt in
// turn, as the subtask is retried; one that came and went between two looks, its whole log), until
// the subtask is done or the run is not running any more (over, or its coordinator dead).
absl::Status FollowLogs(const Store& store, const std::string& run_id, const std::string& subtask_id,
                        std::ostream& out);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_VIEWS_H_
