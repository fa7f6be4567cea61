// How a run is asked to stop from outside its event loop: by a call (RequestCancel, from any thread)
// or by `swarm cancel`, which writes the run directory's cancel file. The first reason asked wins.
#ifndef SWARM_ORCHESTRATOR_RUN_CANCEL_REQUESTS_H_
#define SWARM_ORCHESTRATOR_RUN_CANCEL_REQUESTS_H_

#include <chrono>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"

namespace swarm {

class CancelRequests {
 public:
  // Thread-safe.
  void Request(const std::string& why);
  // A run still going `max_run_time` from now on `clock` ("2h", run_settings' --max-run-time; empty:
  // never) is asked to stop as by a cancel. Call before the run starts; `clock` must outlive this.
  void StopAfter(const std::string& max_run_time, const Clock& clock = SystemClock::Get());
  // Why the run was asked to stop: a call, else its time being up, else `run_dir`'s cancel file (empty
  // `run_dir`: not yet known); nullopt when nobody asked. The file's first line is the reason
  // ("cancelled" if empty).
  std::optional<std::string> Pending(const std::string& run_dir) const;

 private:
  mutable absl::Mutex mu_;
  std::optional<std::string> requested_ ABSL_GUARDED_BY(mu_);
  const Clock* clock_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::optional<Clock::TimePoint> deadline_ ABSL_GUARDED_BY(mu_);
  std::string deadline_why_ ABSL_GUARDED_BY(mu_);
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_CANCEL_REQUESTS_H_

