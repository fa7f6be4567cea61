// Acting on runs from outside their coordinator: cancel, remove, collect garbage. Whether a run's
// coordinator is alive is the run lock's answer (run_lock.h), never a guess from the store.
#ifndef SWARM_ORCHESTRATOR_RUN_ADMIN_H_
#define SWARM_ORCHESTRATOR_RUN_ADMIN_H_

#include <chrono>
#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "orchestrator/store/store.h"

namespace swarm {

// Stops a run. A live coordinator (embedded in `swarm run` or hosted by `swarm serve`) is asked
// through the run directory's cancel file, which it polls; this waits up to `wait` for it to finish.
// A run whose coordinator is dead is marked cancelled in the store, after its leftover processes are
// killed and its workspaces removed. A finished run is refused (InvalidArgument).
absl::Status CancelRun(const std::string& state_dir, const std::string& run_id, const std::string& reason,
                       std::chrono::seconds wait, std::ostream& out);


// Removes a run whose coordinator is not alive: its directory (logs, private integration repository,
// report) and its records. The result branch in the user's repository is never touched.
// Refused (InvalidArgument) without `force` for a run that has not finished, or whose landed work is
// on no branch of the user's repository.
absl::Status RemoveRun(const std::string& state_dir, const std::string& run_id, bool force, std::ostream& out);

struct GcOptions {
  std::chrono::seconds older_than = std::chrono::hours(24);  // a run that finished more recently is kept
  std::string older_than_text = "1d";                         // as the user gave it, for the messages
  bool dry_run = false;                                       // say what would go; remove nothing
};

// For every run that finished before `older_than`: removes its logs, workspaces and private
// integration repository (the report, result.patch and the records stay, so `swarm runs` and `swarm
// show` still work), and says so run by run. A run whose landed work is on no branch is kept. Only
// this state directory's runs are touched. Never a branch.
absl::Status CollectGarbage(const std::string& state_dir, const GcOptions& options, std::ostream& out);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_ADMIN_H_
