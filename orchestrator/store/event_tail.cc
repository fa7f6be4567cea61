#include "orchestrator/store/event_tail.h"

#include <unistd.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "orchestrator/store/run_lock.h"
#include "orchestrator/store/store.h"

namespace swarm {

absl::Status TailEvents(const TailRequest& request, const std::function<bool(const v1::Event&)>& on_event) {
  const std::string db = request.state_dir + "/swarm.db";
  std::unique_ptr<Store> store;
  std::uint64_t last = request.after_seq;
  bool finished = false;  // the run's row said finished: one more read of the log, then the end
  for (;;) {
    bool alive = request.alive && request.alive();
    // Store::Open would create a missing database; a follower must not.
    if (store == nullptr && access(db.c_str(), F_OK) == 0) {
      absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(db);
      if (!opened.ok()) return opened.status();
      store = std::move(*opened);
    }
    if (store != nullptr) {
      absl::StatusOr<std::vector<v1::Event>> events = store->Events(request.run_id, last);
      if (!events.ok()) return events.status();
      for (const v1::Event& e : *events) {
        last = e.seq();
        if (!on_event(e)) return absl::CancelledError("the watcher went away");
        if (e.has_run_finished()) return absl::OkStatus();
      }
      if (!events->empty()) continue;  // more may have come while we sent these
    }
    // The read above came after the run was seen finished, so it held every event: nothing is missing.
    if (finished) return absl::OkStatus();
    absl::StatusOr<RunRow> run = store != nullptr ? store->Run(request.run_id) : absl::NotFoundError("");
    // Finished at or before after_seq, or since the read above (RunFinished and the row are committed
    // together): the log is read once more before the end.
    if (run.ok() && run->finished_unix_ms != 0) {
      finished = true;
      continue;
    }
    if (!alive) {
      if (!run.ok()) return absl::NotFoundError(absl::StrCat("no run ", request.run_id, " in ", request.state_dir));
      return absl::AbortedError(absl::StrCat("the coordinator of run ", request.run_id,
                                             " is gone without finishing it (swarm resume continues it)"));
    }
    if (request.stop && request.stop()) return absl::CancelledError("stopped");
    std::this_thread::sleep_for(request.poll);
  }
}

std::function<bool()> CoordinatorHoldsLock(const std::string& state_dir, const std::string& run_id) {
  return [run_dir = absl::StrCat(state_dir, "/runs/", run_id)] { return RunLock::Holder(run_dir) != 0; };
}

}  // namespace swarm
