#include "orchestrator/dashboard/live_board.h"

#include <algorithm>

namespace swarm {

void LiveBoard::Publish(const v1::Event& live) {
  if (!live.has_agent_activity() || live.run_id().empty()) return;
  absl::MutexLock lock(&mu_);
  Entry& entry = runs_[live.run_id()][live.agent_activity().subtask_id()];
  entry.version = ++next_version_;
  entry.event = live;
}

void LiveBoard::Forget(const std::string& run_id) {
  absl::MutexLock lock(&mu_);
  runs_.erase(run_id);
}

std::vector<v1::Event> LiveBoard::Since(const std::string& run_id, std::uint64_t* version) const {
  std::vector<const Entry*> newer;
  std::vector<v1::Event> out;
  absl::MutexLock lock(&mu_);
  auto run = runs_.find(run_id);
  if (run == runs_.end()) return out;
  for (const auto& [subtask, entry] : run->second) {
    if (entry.version > *version) newer.push_back(&entry);
  }
  std::sort(newer.begin(), newer.end(), [](const Entry* a, const Entry* b) { return a->version < b->version; });
  for (const Entry* e : newer) out.push_back(e->event);
  if (!newer.empty()) *version = newer.back()->version;
  return out;
}

}  // namespace swarm
