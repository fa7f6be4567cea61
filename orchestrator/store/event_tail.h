// Following a run's event log as it is written, from a sequence number: what `swarm watch` and the
// Control API's Watch stream. Events come from the store (polled), never from the coordinator's memory,
// so a follower sees exactly the committed log: every seq once, in order, whoever wrote it and whichever
// process follows.
#ifndef SWARM_ORCHESTRATOR_STORE_EVENT_TAIL_H_
#define SWARM_ORCHESTRATOR_STORE_EVENT_TAIL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "swarm/v1/events.pb.h"

namespace swarm {

struct TailRequest {
  std::string state_dir;
  std::string run_id;
  std::uint64_t after_seq = 0;
  // Whether the run's coordinator may still write events. Asked before each read of the log, so once
  // it says no, the read that follows holds everything the coordinator wrote.
  std::function<bool()> alive;
  // Asked between polls: true ends the tail (Cancelled). Optional.
  std::function<bool()> stop;
  std::chrono::milliseconds poll{100};
};

// Calls `on_event` (on the calling thread) for each event of the run with seq > after_seq, in order,
// waiting for new ones, and returns OK after RunFinished (or at once when the run had already finished
// at or before after_seq). Cancelled when stopped or when `on_event` returns false; NotFound for a run
// that is neither in the store nor alive; Aborted when the coordinator is gone without finishing the
// log (killed: `swarm resume` continues it).
absl::Status TailEvents(const TailRequest& request, const std::function<bool(const v1::Event&)>& on_event);

// `alive` for a run started by any process: whether some live process holds the run's lock.
std::function<bool()> CoordinatorHoldsLock(const std::string& state_dir, const std::string& run_id);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_STORE_EVENT_TAIL_H_
