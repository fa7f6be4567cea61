// How a run answers SIGINT (Ctrl-C) and SIGTERM: the first asks it to stop cleanly, a second
// leaves at once. While the run sets up, a watcher thread of its own answers them (SetupSignals);
// once the event loop runs, the loop does (LoopSignals).
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_SIGNALS_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_SIGNALS_H_

#include <atomic>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace swarm {

// Until the event loop runs: the first signal is remembered and `on_first` runs (it kills the base
// test, so that setup returns soon and the run stops cleanly); a second leaves the process at once
// with kExitInterrupted.
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

// On the event loop: each signal calls `on_signal` (SIGINT or SIGTERM) on `io`'s thread until the
// LoopSignals goes.
class LoopSignals {
 public:
  LoopSignals(boost::asio::io_context& io, std::function<void(int signal)> on_signal);
  ~LoopSignals();
  LoopSignals(const LoopSignals&) = delete;
  LoopSignals& operator=(const LoopSignals&) = delete;

 private:
  struct Set;
  std::shared_ptr<Set> set_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_SIGNALS_H_
