// The run's connected agent hosts and the leases they hold, as the Agent API's protocol has them:
// a host registers (or is refused, and told why), says how many attempts it can start, is given
// leases of ready subtasks (the host that asked for the most first, each lease with what a rebase
// or a fix-up must know), heartbeats, and goes away or falls silent. A lease whose host went away
// or fell silent ends, and its attempt fails (or, while the run finishes, is cut short). LeaseTable
// keeps the data; the fleet sends the messages and records the events. On the coordinator's
// executor.
#ifndef SWARM_ORCHESTRATOR_RUN_FLEET_H_
#define SWARM_ORCHESTRATOR_RUN_FLEET_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "orchestrator/run/agent_handler.h"
#include "orchestrator/run/lease_table.h"
#include "orchestrator/run/rework_policy.h"
#include "orchestrator/run/scheduler.h"
#include "swarm/v1/agent.pb.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

class Fleet {
 public:
  struct Hooks {
    std::function<void(v1::Event)> emit;
    // Why attempts end now, when the run is finishing or cancelled (they are not retried); nullopt
    // while it runs. A finishing run takes no new host.
    std::function<std::optional<std::string>()> ending;
    // Whether new leases may be given besides that (false once the budget stopped the run).
    std::function<bool()> may_lease;
    std::function<std::string(const std::string& lane)> head;  // the commit a lane's new leases start from
    std::function<v1::CoordinatorMessage()> registration;  // what a host is told when it registers
    // A lease ended (its result came, it expired, its host went): its agent's model calls end.
    std::function<void(const std::string& lease_id)> lease_ended;
    // An attempt failed for the fleet's reasons (expiry, its host gone): retried or finished.
    std::function<void(const Lease& lease, const std::string& reason)> attempt_failed;
    // A host's stream ended: its process, its sandboxes and its agent commands must go.
    std::function<void(const std::string& host_id)> host_lost;
    std::function<void(const std::string& line)> say;  // a line for the user
    // Leases ended: the run may be done.
    std::function<void()> changed;
  };

  // `scheduler` and `rework` must outlive the fleet. A lease not renewed within `lease_timeout` expires.
  Fleet(const Clock& clock, std::chrono::seconds lease_timeout, Scheduler& scheduler, ReworkPolicy& rework,
        Hooks hooks);

  // The Agent API's messages from a host.
  void Register(const std::shared_ptr<HostChannel>& channel, const v1::Register& reg);
  void Ready(const std::shared_ptr<HostChannel>& channel, std::uint32_t attempts);
  void Heartbeat(const std::shared_ptr<HostChannel>& channel, const v1::Heartbeat& heartbeat);
  void NoteWorkspaces(const std::shared_ptr<HostChannel>& channel, const v1::WorkspaceKind& kind);
  // The lease `result` is for, ended; nullopt (and the refusal recorded) when it is not current.
  std::optional<Lease> TakeForResult(const std::shared_ptr<HostChannel>& channel, const v1::AttemptResult& result);
  // A host's stream ended.
  void HostGone(const std::shared_ptr<HostChannel>& channel);

  // Gives ready subtasks to hosts that asked, while it may.
  void Dispatch();
  // Ends the leases whose hosts fell silent.
  void ExpireLeases();
  // Every host is told the run is over (`why`) and its stream closed.
  void SayGoodbye(const std::string& why);

  LeaseTable& leases() { return leases_; }
  const LeaseTable& leases() const { return leases_; }
  // The slowest way any host made its workspaces: overlay or clone (empty: none said).
  const std::string& workspace_kind() const { return workspace_kind_; }

 private:
  LeaseTable leases_;
  Scheduler& scheduler_;
  ReworkPolicy& rework_;
  const Hooks hooks_;
  std::string workspace_kind_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_FLEET_H_
