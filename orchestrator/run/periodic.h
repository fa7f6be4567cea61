// A task that runs on an io_context every `period`, until it returns false or the Periodic goes.
// The coordinator's lease expiry and its look at the cancel file are two.
#ifndef SWARM_ORCHESTRATOR_RUN_PERIODIC_H_
#define SWARM_ORCHESTRATOR_RUN_PERIODIC_H_

#include <chrono>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace swarm {

class Periodic {
 public:
  // The first run is one `period` from now; `tick` runs on `io`'s thread.
  Periodic(boost::asio::io_context& io, std::chrono::milliseconds period, std::function<bool()> tick);
  ~Periodic();  // no tick runs after it (call it on `io`'s thread or once `io` has stopped)
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  struct Timer;
  std::shared_ptr<Timer> timer_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_PERIODIC_H_
