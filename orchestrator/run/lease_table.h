// The agent hosts of a run and the leases they hold: who registered, how many leases each asked
// for, which host takes the next subtask, fences, heartbeats and expiry. Plain data on the
// coordinator's executor, except its Liveness, which the gRPC threads renew as heartbeats arrive;
// time comes from a Clock, so expiry is tested without waiting.
#ifndef SWARM_ORCHESTRATOR_RUN_LEASE_TABLE_H_
#define SWARM_ORCHESTRATOR_RUN_LEASE_TABLE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "orchestrator/run/agent_handler.h"
#include "orchestrator/run/liveness.h"

namespace swarm {

// One attempt of one subtask, given to one host until its result, its expiry or its host's end.
struct Lease {
  std::string subtask_id;
  int attempt = 0;
  std::uint64_t fence = 0;  // grows with every lease of the run: a result must present its own
  std::uint64_t host = 0;   // the channel of the host that holds it
  std::string base;         // the commit the attempt starts from
  std::int64_t granted_unix_ms = 0;
  // What its agent is doing now, as its host last said (v1::Progress); a live view, never stored.
  std::uint32_t step = 0;
  std::string action = "";
  std::int64_t action_unix_ms = 0;  // when the coordinator heard it
};

class LeaseTable {
 public:
  // A lease not renewed by a heartbeat within `timeout` expires.
  LeaseTable(const Clock& clock, std::chrono::seconds timeout);

  // Registers a host. Refused, with the reason, for an empty id, no slots, a channel already
  // registered, or an id that a live host holds (its end must not take the first host down).
  absl::Status AddHost(std::shared_ptr<HostChannel> channel, const std::string& host_id, int slots);

  // A host's stream ended: the host is forgotten, and the leases it held end and are returned.
  struct GoneHost {
    std::string host_id;
    std::vector<std::pair<std::string, Lease>> leases;  // by lease id, in id order
  };
  std::optional<GoneHost> RemoveHost(std::uint64_t channel);

  // The host on `channel` can start `attempts` more now (it sent Ready). Ignored for a channel not
  // registered; a host is never owed more than its free slots.
  void AddReady(std::uint64_t channel, int attempts);

  // The host that asked for the most leases and is not silent, or null when none can take one; ties
  // go to the first registered channel. A host that did not ask gets nothing: it cannot start it.
  std::shared_ptr<HostChannel> PickHost() const;

  // A new lease on `channel`'s host (which PickHost returned). Its id is "SUBTASK#ATTEMPT-SECRET":
  // readable, and not guessable when `secret` is random (a model call presents it).
  std::string Grant(std::uint64_t channel, const std::string& subtask_id, int attempt, const std::string& base,
                    const std::string& secret);

  // The lease a result is for, ended; an error when it expired or finished, or when the fence or the
  // host is not the lease's (the lease went elsewhere): such a result must not count.
  absl::StatusOr<Lease> TakeForResult(const std::string& lease_id, std::uint64_t fence, std::uint64_t channel);

  // Notes what the agent of `progress`'s lease is doing now; the lease, or nullptr (ignored) when the
  // lease is gone, its fence is stale or another host holds it.
  const Lease* NoteProgress(std::uint64_t channel, const v1::Progress& progress);

  // The live lease `lease_id` with this fence, or nullptr.
  const Lease* Find(const std::string& lease_id, std::uint64_t fence) const;

  // A heartbeat, handled on the executor: renews those of `lease_ids` that `channel` holds (the
  // gRPC thread has usually done so already, through liveness()). True when the host was silent: it
  // may take leases again.
  bool Heartbeat(std::uint64_t channel, const std::vector<std::string>& lease_ids);

  // Ends every lease not renewed within the time-out (by the clock, now); each one's host turns
  // silent (no new lease until it heartbeats again).
  struct Expired {
    std::string lease_id;
    Lease lease;
    std::string host_id;                    // empty when its host is gone
    std::shared_ptr<HostChannel> channel;   // null when its host is gone
  };
  std::vector<Expired> Expire();

  // Ends a lease (the run is finishing, or its attempt ended some other way).
  void End(const std::string& lease_id);

  const std::map<std::string, Lease>& leases() const { return leases_; }
  bool empty() const { return leases_.empty(); }
  int hosts() const { return static_cast<int>(hosts_.size()); }
  int slots() const;  // of every registered host
  std::vector<std::shared_ptr<HostChannel>> channels() const;
  std::string host_id(std::uint64_t channel) const;  // empty when not registered

  // Where heartbeats are recorded as they arrive; shared with the Agent API's server.
  const std::shared_ptr<Liveness>& liveness() const { return liveness_; }
  // How many leases the host on `channel` asked for and has not been given.
  int ready(std::uint64_t channel) const;

  std::uint64_t last_fence() const { return fence_; }
  void RestoreFence(std::uint64_t fence) { fence_ = fence; }  // a resumed run continues the sequence

 private:
  struct Host {
    std::shared_ptr<HostChannel> channel;
    std::string host_id;
    int slots = 0;
    std::set<std::string> leases;
    int ready = 0;  // leases asked for and not given
    bool silent = false;
  };

  const Clock& clock_;
  const std::chrono::seconds timeout_;
  std::shared_ptr<Liveness> liveness_;
  std::map<std::uint64_t, Host> hosts_;   // by channel id
  std::map<std::string, Lease> leases_;   // by lease id
  std::uint64_t fence_ = 0;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_LEASE_TABLE_H_
