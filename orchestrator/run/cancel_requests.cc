#include "orchestrator/run/cancel_requests.h"

#include <fstream>

namespace swarm {

void CancelRequests::Request(const std::string& why) {
  absl::MutexLock lock(&mu_);
  if (!requested_) requested_ = why;
}

std::optional<std::string> CancelRequests::Pending(const std::string& run_dir) const {
  {
    absl::MutexLock lock(&mu_);
    if (requested_) return requested_;
  }
  if (run_dir.empty()) return std::nullopt;
  std::ifstream f(run_dir + "/cancel");
  if (!f) return std::nullopt;
  std::string why;
  std::getline(f, why);
  return why.empty() ? "cancelled" : why;
}

}  // namespace swarm
