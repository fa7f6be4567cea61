// A run directory's cancel file: how a process other than the run's coordinator (`swarm cancel`, the
// dashboard) asks it to stop. The coordinator polls it (cancel_requests.h); its first line is why.
#ifndef SWARM_ORCHESTRATOR_STORE_CANCEL_FILE_H_
#define SWARM_ORCHESTRATOR_STORE_CANCEL_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace swarm {

inline std::string CancelFilePath(const std::string& run_dir) { return run_dir + "/cancel"; }

// Writes `reason` as the cancel file of `run_dir` (never through a link, mode 0600). PermissionDenied
// or ResourceExhausted naming the file when it cannot; a part-written file is removed, since it would
// still cancel the run.
absl::Status WriteCancelFile(const std::string& run_dir, const std::string& reason);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_STORE_CANCEL_FILE_H_
