#include "orchestrator/run/cancel_requests.h"

#include <fstream>

#include "base/duration.h"
#include "orchestrator/store/cancel_file.h"

namespace swarm {

void CancelRequests::Request(const std::string& why) {
  absl::MutexLock lock(&mu_);
  if (!requested_) requested_ = why;
}

void CancelRequests::StopAfter(const std::string& max_run_time, const Clock& clock) {
  absl::StatusOr<std::chrono::seconds> limit = ParseDuration(max_run_time, "--max-run-time");
  if (max_run_time.empty() || !limit.ok() || limit->count() == 0) return;  // checked by PrepareRun
  absl::MutexLock lock(&mu_);
  clock_ = &clock;
  deadline_ = clock.Now() + *limit;
  deadline_why_ = "the run reached --max-run-time " + max_run_time;
}

std::optional<std::string> CancelRequests::Pending(const std::string& run_dir) const {
  {
    absl::MutexLock lock(&mu_);
    if (requested_) return requested_;
    if (deadline_ && clock_->Now() >= *deadline_) return deadline_why_;
  }
  if (run_dir.empty()) return std::nullopt;
  std::ifstream f(CancelFilePath(run_dir));
  if (!f) return std::nullopt;
  std::string why;
  std::getline(f, why);
  return why.empty() ? "cancelled" : why;
}

}  // namespace swarm
