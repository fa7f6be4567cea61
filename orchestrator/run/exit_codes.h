// swarm's documented exit statuses, and the mapping from an error to one.
#ifndef SWARM_ORCHESTRATOR_RUN_EXIT_CODES_H_
#define SWARM_ORCHESTRATOR_RUN_EXIT_CODES_H_

#include "absl/status/status.h"

namespace swarm {

inline constexpr int kExitOk = 0;            // every subtask landed (or needed no change)
inline constexpr int kExitIncomplete = 1;    // the run finished and some subtasks did not land
inline constexpr int kExitUsage = 2;         // usage or bad input; nothing changed
inline constexpr int kExitEnvironment = 3;   // something the environment lacks (bubblewrap, git)
inline constexpr int kExitBudget = 4;        // the run stopped on its budget
inline constexpr int kExitCancelled = 5;     // cancelled (SIGTERM, swarm cancel)
inline constexpr int kExitInternal = 70;     // a bug in swarm
inline constexpr int kExitInterrupted = 130; // Ctrl-C

// What the outside world caused maps to 2 or 3; anything else is internal.
inline int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kOutOfRange:
      return kExitUsage;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnavailable:
      return kExitEnvironment;
    case absl::StatusCode::kCancelled:
      return kExitCancelled;
    default:
      return kExitInternal;
  }
}

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_EXIT_CODES_H_
