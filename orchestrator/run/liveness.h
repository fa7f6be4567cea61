// When each lease was last renewed by its host's heartbeat, recorded by the thread that read the
// heartbeat off the host's stream: renewals never wait in the coordinator's queue behind store
// writes, patches or merges, so a busy coordinator does not expire the leases of healthy hosts.
// Thread-safe. Only leases the coordinator granted (Track) are renewed, and only by their own host.
#ifndef SWARM_ORCHESTRATOR_RUN_LIVENESS_H_
#define SWARM_ORCHESTRATOR_RUN_LIVENESS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"

namespace swarm {

class Liveness {
 public:
  explicit Liveness(const Clock& clock) : clock_(clock) {}

  // A lease granted to the host on `channel`: renewed as of now.
  void Track(const std::string& lease_id, std::uint64_t channel);
  // The lease ended: forgotten.
  void Forget(const std::string& lease_id);
  // A heartbeat from `channel` naming these leases; any thread.
  template <typename Ids>
  void Renew(std::uint64_t channel, const Ids& lease_ids) {
    const Clock::TimePoint now = clock_.Now();
    absl::MutexLock lock(&mu_);
    for (const auto& id : lease_ids) {
      auto it = leases_.find(id);
      if (it != leases_.end() && it->second.channel == channel) it->second.renewed = now;
    }
  }
  // When the lease was last renewed; nullopt for a lease not tracked.
  std::optional<Clock::TimePoint> LastRenewed(const std::string& lease_id) const;

 private:
  struct Entry {
    std::uint64_t channel = 0;
    Clock::TimePoint renewed;
  };
  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, Entry, std::less<>> leases_ ABSL_GUARDED_BY(mu_);
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_LIVENESS_H_
