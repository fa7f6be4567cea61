// swarm's documented exit statuses, and the mapping from an error to one.
#ifndef SWARM_ORCHESTRATOR_RUN_EXIT_CODES_H_
#define SWARM_ORCHESTRATOR_RUN_EXIT_CODES_H_

#include "absl/status/status.h"

namespace swarm {

inline constexpr int kExitOk = 0;             // every subtask landed (or needed no change)
inline constexpr int kExitIncomplete = 1;     // the run finished and some subtasks did not land
inline constexpr int kExitUsage = 2;          // usage or bad input; nothing changed
inline constexpr int kExitEnvironment = 3;    // something the environment lacks (bubblewrap, git)
inline constexpr int kExitBudget = 4;         // the run stopped on its budget
inline constexpr int kExitCancelled = 5;      // cancelled (SIGTERM, swarm cancel)
inline constexpr int kExitInternal = 70;      // a bug in swarm
inline constexpr int kExitInterrupted = 130;  // Ctrl-C

// The exit status for `status`: the one attached to it (RunEndStatus, WithExitCode) if any; else what
// the outside world caused maps to 2 or 3, a cancellation to 5, and anything else is internal.
int ExitCodeFor(const absl::Status& status);

// How a run ended (the coordinator's exit status) as a Status: OK for 0; otherwise a code that fits
// (1 Aborted, 2 InvalidArgument, 3 FailedPrecondition, 4 ResourceExhausted, 5 and 130 Cancelled, else
// Internal) with the exact exit status attached, and no message: the run has already said why.
[[nodiscard]] absl::Status RunEndStatus(int exit_code);

// `status` (not OK) with `exit_code` attached: ExitCodeFor gives it whatever the status's code is.
[[nodiscard]] absl::Status WithExitCode(absl::Status status, int exit_code);

// A model call the budget refused (the gateway's ResourceExhausted) as the run's budget ending, exit 4;
// any other status as it is.
[[nodiscard]] absl::Status BudgetEnds(absl::Status status);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_EXIT_CODES_H_
