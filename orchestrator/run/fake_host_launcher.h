// A HostLauncher for tests: it starts nothing, keeps what was launched, and ends a host when told.
#ifndef SWARM_ORCHESTRATOR_RUN_FAKE_HOST_LAUNCHER_H_
#define SWARM_ORCHESTRATOR_RUN_FAKE_HOST_LAUNCHER_H_

#include <map>
#include <set>
#include <string>
#include <utility>

#include "orchestrator/run/host_launcher.h"

namespace swarm {

class FakeHostLauncher final : public HostLauncher {
 public:
  absl::Status Launch(const std::string& host_id, int slots, Exited exited) override {
    if (!fail_.empty()) return absl::UnavailableError(fail_);
    running_[host_id] = {slots, std::move(exited)};
    return absl::OkStatus();
  }
  // Records the kill; the host's exit is reported when the test calls End, as a real host's exit
  // reaches the coordinator later, through its event loop.
  void Kill(const std::string& host_id) override { killed_.insert(host_id); }
  // The host ends (as its process would): its exit is reported.
  void End(const std::string& host_id, const std::string& how = "exit 0") {
    auto it = running_.find(host_id);
    if (it == running_.end()) return;
    Exited exited = std::move(it->second.second);
    running_.erase(it);
    exited({how, ""});
  }
  void FailLaunches(std::string why) { fail_ = std::move(why); }
  std::map<std::string, int> running() const {
    std::map<std::string, int> slots;
    for (const auto& [id, h] : running_) slots[id] = h.first;
    return slots;
  }
  const std::set<std::string>& killed() const { return killed_; }

 private:
  std::map<std::string, std::pair<int, Exited>> running_;
  std::set<std::string> killed_;
  std::string fail_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_FAKE_HOST_LAUNCHER_H_
