// Who is running a run. The coordinator holds an exclusive flock on <run dir>/coordinator.lock for
// as long as it lives; the kernel drops it when the process dies, however it dies. So "is the lock
// free?" is "is the run's coordinator dead?", the question `swarm resume` and `swarm cancel` ask.
#ifndef SWARM_ORCHESTRATOR_STORE_RUN_LOCK_H_
#define SWARM_ORCHESTRATOR_STORE_RUN_LOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace swarm {

class RunLock final {
 public:
  // Takes the lock of the run in `run_dir` (created if missing) and records our pid in it.
  // FailedPrecondition naming the holder's pid when a live process holds it.
  static absl::StatusOr<RunLock> Acquire(const std::string& run_dir);
  // The pid of the live coordinator of the run in `run_dir`, or 0 when none holds the lock.
  static int Holder(const std::string& run_dir);

  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_;  // close-on-exec: children never inherit the lock
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_STORE_RUN_LOCK_H_
