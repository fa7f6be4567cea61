// Ctrl-C while a run sets up. Until the coordinator's event loop runs (it has its own signal
// handling), a watcher thread answers SIGINT and SIGTERM: the first is remembered and `on_first`
// runs (it kills the base test, so that setup returns soon and the run stops cleanly); a second
// leaves the process at once with kExitInterrupted.
#ifndef SWARM_ORCHESTRATOR_RUN_SETUP_SIGNALS_H_
#define SWARM_ORCHESTRATOR_RUN_SETUP_SIGNALS_H_

#include <atomic>
#include <functional>
#include <memory>

namespace swarm {

class SetupSignals {
 public:
  // Does nothing when not `enabled` (a server runs several runs in one process).
  SetupSignals(bool enabled, std::function<void()> on_first);
  ~SetupSignals();
  SetupSignals(const SetupSignals&) = delete;
  SetupSignals& operator=(const SetupSignals&) = delete;

  // Stops watching. Until this object is gone, the signals stay caught (and ignored), so that none
  // falls through to its default action before the event loop's own handler is set.
  void Stop();
  // The first signal received (SIGINT or SIGTERM), 0 for none.
  int received() const { return received_.load(); }

 private:
  struct Watcher;
  std::atomic<int> received_{0};
  std::unique_ptr<Watcher> watcher_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_SETUP_SIGNALS_H_
