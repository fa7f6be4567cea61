// A HostChannel for tests: it keeps what the coordinator sent, and whether it was closed.
#ifndef SWARM_ORCHESTRATOR_RUN_FAKE_HOST_CHANNEL_H_
#define SWARM_ORCHESTRATOR_RUN_FAKE_HOST_CHANNEL_H_

#include <cstdint>
#include <mutex>
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
  }
  void Close() override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  std::vector<v1::CoordinatorMessage> sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  const std::uint64_t id_;
  mutable std::mutex mu_;
  std::vector<v1::CoordinatorMessage> sent_;
  bool closed_ = false;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_FAKE_HOST_CHANNEL_H_
