// What the runs of this process are doing now, for the dashboard: each running attempt's latest
// activity (an agent's tool call or command) and what the merge stages are testing, kept in memory,
// never stored. Coordinators publish
// (CoordinatorOptions::on_live), the dashboard's streams read what changed since they last looked.
// Runs of other processes have no entry: their pages show the event log alone.
#ifndef SWARM_ORCHESTRATOR_DASHBOARD_LIVE_BOARD_H_
#define SWARM_ORCHESTRATOR_DASHBOARD_LIVE_BOARD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

class LiveBoard {
 public:
  // Thread-safe, all of them.
  // A live event of a run: an agent_activity replaces its subtask's previous one, a queue_testing the
  // previous word of its check or its lane's queue. Others are ignored.
  void Publish(const v1::Event& live);
  // The run ended: its entries go.
  void Forget(const std::string& run_id);
  // The run's live events published after `*version` (0: all it holds), oldest first; `*version`
  // becomes the newest one's.
  std::vector<v1::Event> Since(const std::string& run_id, std::uint64_t* version) const;

 private:
  struct Entry {
    std::uint64_t version = 0;
    v1::Event event;
  };
  mutable absl::Mutex mu_;
  std::uint64_t next_version_ ABSL_GUARDED_BY(mu_) = 0;
  // run id -> "agent/SUBTASK", "check/SUBTASK" or "queue/LANE" -> its latest word: one entry per
  // subtask and lane, whatever is sent.
  std::map<std::string, std::map<std::string, Entry>> runs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_DASHBOARD_LIVE_BOARD_H_
