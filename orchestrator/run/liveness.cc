#include "orchestrator/run/liveness.h"

namespace swarm {

void Liveness::Track(const std::string& lease_id, std::uint64_t channel) {
  const Clock::TimePoint now = clock_.Now();
  absl::MutexLock lock(&mu_);
  leases_[lease_id] = {channel, now};
}

void Liveness::Forget(const std::string& lease_id) {
  absl::MutexLock lock(&mu_);
  leases_.erase(lease_id);
}

std::optional<Clock::TimePoint> Liveness::LastRenewed(const std::string& lease_id) const {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return std::nullopt;
  return it->second.renewed;
}

}  // namespace swarm
