#include "orchestrator/run/periodic.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace swarm {

struct Periodic::Timer : std::enable_shared_from_this<Periodic::Timer> {
  Timer(boost::asio::io_context& io, std::chrono::milliseconds period, std::function<bool()> tick)
      : timer(io), period(period), tick(std::move(tick)) {}

  void Wait() {
    timer.expires_after(period);
    // The handler holds the timer: a handler still queued when the Periodic goes finds it stopped.
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) { self->OnTimer(ec); });
  }
  void OnTimer(const boost::system::error_code& ec) {
    if (ec || stopped || !tick()) return;
    Wait();
  }

  boost::asio::steady_timer timer;
  const std::chrono::milliseconds period;
  const std::function<bool()> tick;
  bool stopped = false;
};

Periodic::Periodic(boost::asio::io_context& io, std::chrono::milliseconds period, std::function<bool()> tick)
    : timer_(std::make_shared<Timer>(io, period, std::move(tick))) {
  timer_->Wait();
}

Periodic::~Periodic() {
  timer_->stopped = true;
  timer_->timer.cancel();
}

}  // namespace swarm
