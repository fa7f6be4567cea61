#include "orchestrator/run/lease_table.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/utf8.h"

namespace swarm {

LeaseTable::LeaseTable(const Clock& clock, std::chrono::seconds timeout)
    : clock_(clock), timeout_(timeout), liveness_(std::make_shared<Liveness>(clock)) {}

absl::Status LeaseTable::AddHost(std::shared_ptr<HostChannel> channel, const std::string& host_id, int slots) {
  if (host_id.empty()) return absl::InvalidArgumentError("empty host id");
  if (slots <= 0) return absl::InvalidArgumentError("no slots");
  if (hosts_.count(channel->id())) return absl::AlreadyExistsError("this connection already registered");
  for (const auto& [unused, h] : hosts_) {
    if (h.host_id == host_id) return absl::AlreadyExistsError("host id already registered");
  }
  Host& h = hosts_[channel->id()];
  h.channel = std::move(channel);
  h.host_id = host_id;
  h.slots = slots;
  return absl::OkStatus();
}

std::optional<LeaseTable::GoneHost> LeaseTable::RemoveHost(std::uint64_t channel) {
  auto it = hosts_.find(channel);
  if (it == hosts_.end()) return std::nullopt;
  GoneHost gone;
  gone.host_id = it->second.host_id;
  for (const auto& lease_id : it->second.leases) {
    auto l = leases_.find(lease_id);
    if (l == leases_.end()) continue;
    gone.leases.emplace_back(lease_id, std::move(l->second));
    leases_.erase(l);
    liveness_->Forget(lease_id);
  }
  hosts_.erase(it);
  return gone;
}

void LeaseTable::AddReady(std::uint64_t channel, int attempts) {
  auto it = hosts_.find(channel);
  if (it == hosts_.end() || attempts <= 0) return;
  Host& h = it->second;
  const int free = h.slots - static_cast<int>(h.leases.size());
  h.ready = std::max(0, std::min(free, h.ready + std::min(attempts, h.slots)));
}

int LeaseTable::ready(std::uint64_t channel) const {
  auto it = hosts_.find(channel);
  return it == hosts_.end() ? 0 : it->second.ready;
}

std::shared_ptr<HostChannel> LeaseTable::PickHost() const {
  const Host* best = nullptr;
  int best_free = 0;
  for (const auto& [id, h] : hosts_) {
    if (h.silent) continue;
    int free = std::min(h.ready, h.slots - static_cast<int>(h.leases.size()));
    if (free > best_free) {
      best = &h;
      best_free = free;
    }
  }
  return best == nullptr ? nullptr : best->channel;
}

std::string LeaseTable::Grant(std::uint64_t channel, const std::string& subtask_id, int attempt,
                              const std::string& base, const std::string& secret) {
  Lease lease;
  lease.subtask_id = subtask_id;
  lease.attempt = attempt;
  lease.fence = ++fence_;
  lease.host = channel;
  lease.base = base;
  lease.granted_unix_ms = UnixMillisNow();
  std::string lease_id = absl::StrCat(subtask_id, "#", attempt, "-", secret);
  leases_[lease_id] = std::move(lease);
  liveness_->Track(lease_id, channel);
  if (auto h = hosts_.find(channel); h != hosts_.end()) {
    h->second.leases.insert(lease_id);
    if (h->second.ready > 0) --h->second.ready;
  }
  return lease_id;
}

absl::StatusOr<Lease> LeaseTable::TakeForResult(const std::string& lease_id, std::uint64_t fence,
                                                std::uint64_t channel) {
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return absl::NotFoundError("no such lease (expired or finished)");
  if (it->second.fence != fence || it->second.host != channel) {
    return absl::FailedPreconditionError("stale fence or other host");
  }
  Lease lease = std::move(it->second);
  End(lease_id);
  return lease;
}

const Lease* LeaseTable::Find(const std::string& lease_id, std::uint64_t fence) const {
  auto it = leases_.find(lease_id);
  return it == leases_.end() || it->second.fence != fence ? nullptr : &it->second;
}

bool LeaseTable::Heartbeat(std::uint64_t channel, const std::vector<std::string>& lease_ids) {
  bool woke = false;
  if (auto h = hosts_.find(channel); h != hosts_.end() && h->second.silent) {
    h->second.silent = false;
    woke = true;
  }
  liveness_->Renew(channel, lease_ids);
  return woke;
}

std::vector<LeaseTable::Expired> LeaseTable::Expire() {
  const Clock::TimePoint now = clock_.Now();
  std::vector<Expired> expired;
  for (const auto& [id, lease] : leases_) {
    std::optional<Clock::TimePoint> renewed = liveness_->LastRenewed(id);
    if (!renewed || *renewed + timeout_ <= now) expired.push_back({id, lease, "", nullptr});
  }
  for (Expired& e : expired) {
    End(e.lease_id);
    if (auto h = hosts_.find(e.lease.host); h != hosts_.end()) {
      h->second.silent = true;
      e.host_id = h->second.host_id;
      e.channel = h->second.channel;
    }
  }
  return expired;
}

void LeaseTable::End(const std::string& lease_id) {
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return;
  if (auto h = hosts_.find(it->second.host); h != hosts_.end()) h->second.leases.erase(lease_id);
  leases_.erase(it);
  liveness_->Forget(lease_id);
}

std::vector<std::shared_ptr<HostChannel>> LeaseTable::channels() const {
  std::vector<std::shared_ptr<HostChannel>> out;
  for (const auto& [id, h] : hosts_) out.push_back(h.channel);
  return out;
}

std::string LeaseTable::host_id(std::uint64_t channel) const {
  auto it = hosts_.find(channel);
  return it == hosts_.end() ? "" : it->second.host_id;
}

const Lease* LeaseTable::NoteProgress(std::uint64_t channel, const v1::Progress& progress) {
  auto it = leases_.find(progress.lease_id());
  if (it == leases_.end() || it->second.fence != progress.fence() || it->second.host != channel) return nullptr;
  Lease& lease = it->second;
  lease.step = progress.step();
  // One line of at most 200 bytes, whatever the host sent (it is shown to people as it is).
  lease.action = OneLine(progress.message(), 200);
  lease.action_unix_ms = UnixMillisNow();
  return &lease;
}

int LeaseTable::slots() const {
  int n = 0;
  for (const auto& [channel, host] : hosts_) n += host.slots;
  return n;
}

}  // namespace swarm
