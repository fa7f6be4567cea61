// A HostChannel for tests: it keeps what the coordinator sent, and whether it was closed.
#ifndef SWARM_ORCHESTRATOR_RUN_FAKE_HOST_CHANNEL_H_
#define SWARM_ORCHESTRATOR_RUN_FAKE_HOST_CHANNEL_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "orchestrator/run/agent_handler.h"

namespace swarm {

class FakeHostChannel final : public HostChannel {
 public:
  explicit FakeHostChannel(std::uint64_t id) : id_(id) {}
  std::uint64_t id() const override { return id_; }
  void Send(const v1::CoordinatorMessage& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) sent_.push_back(message);
    cv_.notify_all();
  }
  void Close() override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  std::vector<v1::CoordinatorMessage> sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  // Waits (at most `timeout`) for the coordinator to close the stream; false on time-out.
  bool WaitClosed(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return closed_; });
  }
  // Waits (at most `timeout`) for a message that matches and was not returned before.
  std::optional<v1::CoordinatorMessage> WaitFor(std::function<bool(const v1::CoordinatorMessage&)> match,
                                                std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<v1::CoordinatorMessage> found;
    cv_.wait_for(lock, timeout, [&] {
      for (std::size_t i = 0; i < sent_.size(); ++i) {
        if (!returned_.count(i) && match(sent_[i])) {
          returned_.insert(i);
          found = sent_[i];
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  const std::uint64_t id_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::CoordinatorMessage> sent_;
  std::set<std::size_t> returned_;  // by WaitFor
  bool closed_ = false;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_FAKE_HOST_CHANNEL_H_
