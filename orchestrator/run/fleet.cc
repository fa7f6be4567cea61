#include "orchestrator/run/fleet.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/failpoint.h"
#include "base/random_hex.h"
#include "base/terminal_text.h"
#include "orchestrator/run/host_registration.h"
#include "orchestrator/run/run_events.h"
#include "swarm/v1/protocol.h"

namespace swarm {
namespace {

constexpr std::uint32_t kMaxSlots = 1u << 20;

// Tells a host why it must go, and closes its stream.
void SendAway(HostChannel& channel, const std::string& why) {
  v1::CoordinatorMessage bye;
  bye.mutable_shutdown()->set_reason(why);
  channel.Send(bye);
  channel.Close();
}

}  // namespace

Fleet::Fleet(const Clock& clock, std::chrono::seconds lease_timeout, Scheduler& scheduler, ReworkPolicy& rework,
             Hooks hooks)
    : leases_(clock, lease_timeout), scheduler_(scheduler), rework_(rework), hooks_(std::move(hooks)) {}

void Fleet::Register(const std::shared_ptr<HostChannel>& channel, const v1::Register& reg) {
  if (hooks_.ending()) {
    SendAway(*channel, "the run is finishing");
    return;
  }
  // A host id names one connection: a second registration under a live host's id is refused, so
  // that its end cannot take the first host (and its pid) down with it.
  absl::Status added =
      reg.protocol() != kAgentProtocolVersion
          ? absl::InvalidArgumentError("protocol or slot count")
          : leases_.AddHost(channel, reg.host_id(), static_cast<int>(std::min(reg.slots(), kMaxSlots)));
  if (!added.ok()) {
    std::string why =
        added.code() == absl::StatusCode::kInvalidArgument ? "protocol or slot count" : std::string(added.message());
    hooks_.say(absl::StrCat("swarm: refused agent host ", TerminalSafe(reg.host_id()), " (", why, "; protocol ",
                            reg.protocol(), ", ", reg.slots(), " slots)"));
    SendAway(*channel, "refused: " + why);
    return;
  }
  v1::Event e;
  auto* a = e.mutable_agent_registered();
  a->set_host_id(reg.host_id());
  a->set_slots(reg.slots());
  a->set_pid(reg.pid());
  hooks_.emit(std::move(e));
  channel->Send(hooks_.registration());
  Dispatch();
}

void Fleet::Ready(const std::shared_ptr<HostChannel>& channel, std::uint32_t attempts) {
  leases_.AddReady(channel->id(), static_cast<int>(std::min(attempts, kMaxSlots)));
  Dispatch();
}

void Fleet::Heartbeat(const std::shared_ptr<HostChannel>& channel, const v1::Heartbeat& heartbeat) {
  std::vector<std::string> ids(heartbeat.lease_ids().begin(), heartbeat.lease_ids().end());
  if (leases_.Heartbeat(channel->id(), ids)) Dispatch();
}

void Fleet::NoteWorkspaces(const std::shared_ptr<HostChannel>& channel, const v1::WorkspaceKind& kind) {
  if (!kind.overlay() && workspace_kind_ != "clone") {
    hooks_.say(absl::StrCat("swarm: note: agent host ", TerminalSafe(leases_.host_id(channel->id())),
                            " clones every workspace (", TerminalSafe(kind.why_not_overlay()),
                            "): each attempt costs the whole repository instead of what it writes"));
  }
  // The report names the slowest kind any host used.
  if (workspace_kind_.empty() || !kind.overlay()) workspace_kind_ = kind.overlay() ? "overlay" : "clone";
}

void Fleet::Dispatch() {
  if (hooks_.ending() || !hooks_.may_lease()) return;
  for (;;) {
    // The host that asked for the most leases takes the next subtask.
    std::shared_ptr<HostChannel> best = leases_.PickHost();
    if (best == nullptr) return;
    std::optional<std::string> id = scheduler_.TakeReady();
    if (!id) return;
    // Not guessable: the lease id is what a model call through the gateway presents. Without
    // randomness (no getrandom), a lease id is still unique; only guessable.
    absl::StatusOr<std::string> secret = RandomHex(16);
    std::string lease_id =
        leases_.Grant(best->id(), *id, scheduler_.attempts(*id), hooks_.head(scheduler_.spec(*id).lane()),
                      secret.ok() ? *secret : std::to_string(leases_.last_fence() + 1));
    const Lease& lease = MustFind(leases_.leases(), lease_id, "lease");
    hooks_.emit(SubtaskLeasedEvent(lease_id, lease, leases_.host_id(best->id())));
    Failpoint("leased", *id);
    // The conflict is told once; the failure until a patch comes.
    const std::string* failure = rework_.failure(*id);
    best->Send(LeaseMessage(lease_id, lease, scheduler_.spec(*id), rework_.TakeConflict(*id).value_or(""),
                            failure != nullptr ? *failure : ""));
  }
}

std::optional<Lease> Fleet::TakeForResult(const std::shared_ptr<HostChannel>& channel,
                                          const v1::AttemptResult& result) {
  absl::StatusOr<Lease> taken = leases_.TakeForResult(result.lease_id(), result.fence(), channel->id());
  if (!taken.ok()) {
    // The lease expired and went elsewhere (or never existed): this result must not count.
    hooks_.emit(ResultRefusedEvent(result, leases_.host_id(channel->id()), std::string(taken.status().message())));
    return std::nullopt;
  }
  hooks_.lease_ended(result.lease_id());
  return std::move(*taken);
}

void Fleet::ExpireLeases() {
  std::vector<LeaseTable::Expired> expired = leases_.Expire();
  for (const LeaseTable::Expired& x : expired) {
    hooks_.lease_ended(x.lease_id);
    if (x.channel != nullptr) {
      v1::CoordinatorMessage cancel;
      cancel.mutable_cancel()->set_lease_id(x.lease_id);
      cancel.mutable_cancel()->set_reason("lease expired");
      x.channel->Send(cancel);
    }
    hooks_.emit(LeaseExpiredEvent(x.lease_id, x.lease, x.host_id));
    hooks_.attempt_failed(x.lease, "lease expired: no heartbeat from " + x.host_id);
  }
  if (!expired.empty()) {
    Dispatch();
    hooks_.changed();
  }
}

void Fleet::HostGone(const std::shared_ptr<HostChannel>& channel) {
  std::optional<LeaseTable::GoneHost> gone = leases_.RemoveHost(channel->id());
  if (!gone) return;
  const std::string& host_id = gone->host_id;
  // A host whose stream ended is of no further use: make sure it is gone, with its sandboxes.
  hooks_.host_lost(host_id);
  for (const auto& [lease_id, lease] : gone->leases) {
    hooks_.lease_ended(lease_id);
    if (std::optional<std::string> why = hooks_.ending()) {
      hooks_.emit(AttemptCutShortEvent(lease.subtask_id, lease.attempt, *why));
      continue;
    }
    const std::string why = "agent host " + host_id + " went away";
    hooks_.emit(AttemptCutShortEvent(lease.subtask_id, lease.attempt, why));
    hooks_.attempt_failed(lease, why);
  }
  Dispatch();
  hooks_.changed();
}

void Fleet::SayGoodbye(const std::string& why) {
  for (const std::shared_ptr<HostChannel>& channel : leases_.channels()) SendAway(*channel, why);
}

}  // namespace swarm
