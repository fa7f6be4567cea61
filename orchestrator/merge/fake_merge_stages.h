// The merge stages for tests: a PatchChecker and a MergeQueue that keep what they are given and call
// back only when the test releases a request, from the test's thread. Thread-safe: the coordinator
// submits from its executor while the test waits.
#ifndef SWARM_ORCHESTRATOR_MERGE_FAKE_MERGE_STAGES_H_
#define SWARM_ORCHESTRATOR_MERGE_FAKE_MERGE_STAGES_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "orchestrator/merge/check_stage.h"
#include "orchestrator/merge/merge_queue.h"

namespace swarm {

// Requests with their callbacks, in submission order, until released.
template <typename Result>
class HeldRequests {
 public:
  void Hold(MergeRequest request, std::function<void(Result)> done) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      Result r{};
      done(std::move(r));
      return;
    }
    held_.emplace_back(std::move(request), std::move(done));
    cv_.notify_all();
  }
  // Waits (at most `timeout`) for a request to be held; returns the oldest. Throws on time-out.
  MergeRequest WaitForRequest(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !held_.empty(); })) {
      throw std::runtime_error("no request reached the fake merge stage");
    }
    return held_.front().first;
  }
  // Calls back the oldest request with `result`.
  void Release(Result result) {
    std::function<void(Result)> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (held_.empty()) throw std::runtime_error("nothing to release");
      done = std::move(held_.front().second);
      held_.pop_front();
    }
    done(std::move(result));
  }
  // Calls back every held request with a default (failed) result.
  void ReleaseAll() {
    while (size() > 0) Release(Result{});
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  // From now on requests are answered at once with a default (failed) result; held ones stay.
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<MergeRequest, std::function<void(Result)>>> held_;
  bool stopped_ = false;
};

class FakePatchChecker final : public PatchChecker {
 public:
  void RecordHead(const std::string& commit, const TestOutcome&) override {
    std::lock_guard<std::mutex> lock(mu_);
    head_ = commit;
  }
  void Submit(const MergeRequest& request, std::function<void(CheckResult)> done) override {
    held.Hold(request, std::move(done));
  }
  void Shutdown() override { held.Stop(); }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  std::string head() const {
    std::lock_guard<std::mutex> lock(mu_);
    return head_;
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

  HeldRequests<CheckResult> held;

 private:
  mutable std::mutex mu_;
  std::string head_;
  bool cancelled_ = false;
};

class FakeMergeQueue final : public MergeQueue {
 public:
  void Submit(MergeRequest request, std::function<void(MergeResult)> done) override {
    held.Hold(std::move(request), std::move(done));
  }
  void Shutdown() override { held.Stop(); }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_;
  }

  HeldRequests<MergeResult> held;

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_FAKE_MERGE_STAGES_H_
