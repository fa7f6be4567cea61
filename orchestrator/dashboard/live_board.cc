#include "orchestrator/dashboard/live_board.h"

#include <algorithm>

namespace swarm {

namespace {

// What a live event replaces: its subtask's previous activity; the previous word of the same check
// (its first subtask's) or of the same lane's queue.
std::string KeyOf(const v1::Event& live) {
  if (live.has_agent_activity()) return "agent/" + live.agent_activity().subtask_id();
  const v1::QueueTesting& q = live.queue_testing();
  if (q.stage() == "queue") return "queue/" + q.lane();
  return "check/" + (q.subtask_ids().empty() ? std::string() : q.subtask_ids(0));
}

}  // namespace

void LiveBoard::Publish(const v1::Event& live) {
  if (live.run_id().empty() || (!live.has_agent_activity() && !live.has_queue_testing())) return;
  absl::MutexLock lock(&mu_);
  Entry& entry = runs_[live.run_id()][KeyOf(live)];
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
