#include "orchestrator/run/run_signals.h"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <thread>

#include "orchestrator/run/exit_codes.h"

namespace swarm {

struct SetupSignals::Watcher {
  explicit Watcher(SetupSignals& owner, std::function<void()> on_first)
      : owner(owner), on_first(std::move(on_first)), signals(io, SIGINT, SIGTERM) {
    Wait();
    thread = std::thread([this] { io.run(); });
  }
  void Wait() {
    signals.async_wait([this](const boost::system::error_code& ec, int sig) { OnSignal(ec, sig); });
  }
  void OnSignal(const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (owner.received_.load() != 0) _exit(kExitInterrupted);  // a second signal: leave now
    owner.received_ = sig;
    on_first();
    Wait();
  }
  void Stop() {
    signals.cancel();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  SetupSignals& owner;
  const std::function<void()> on_first;
  boost::asio::io_context io;
  boost::asio::signal_set signals;
  std::thread thread;
};

SetupSignals::SetupSignals(bool enabled, std::function<void()> on_first) {
  if (enabled) watcher_ = std::make_unique<Watcher>(*this, std::move(on_first));
}

SetupSignals::~SetupSignals() { Stop(); }

void SetupSignals::Stop() {
  if (watcher_ != nullptr) watcher_->Stop();
}

struct LoopSignals::Set : std::enable_shared_from_this<LoopSignals::Set> {
  Set(boost::asio::io_context& io, std::function<void(int)> on_signal)
      : signals(io, SIGINT, SIGTERM), on_signal(std::move(on_signal)) {}
  void Wait() {
    signals.async_wait([self = shared_from_this()](const boost::system::error_code& ec, int sig) {
      if (ec || self->stopped) return;
      self->on_signal(sig);
      self->Wait();
    });
  }
  boost::asio::signal_set signals;
  const std::function<void(int)> on_signal;
  bool stopped = false;
};

LoopSignals::LoopSignals(boost::asio::io_context& io, std::function<void(int signal)> on_signal)
    : set_(std::make_shared<Set>(io, std::move(on_signal))) {
  set_->Wait();
}

LoopSignals::~LoopSignals() {
  set_->stopped = true;
  set_->signals.cancel();
}

}  // namespace swarm
