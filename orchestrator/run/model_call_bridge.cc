#include "orchestrator/run/model_call_bridge.h"

#include <utility>

namespace swarm {

ModelCallBridge::ModelCallBridge(Post post, Record record) : post_(std::move(post)), record_(std::move(record)) {}

void ModelCallBridge::Start(const std::string& lease_id, const std::string& subtask_id, int attempt,
                            v1::ChatRequest request, AgentHandler::CompleteDone done) {
  if (caller_ == nullptr) {
    done(absl::FailedPreconditionError("this run has no model"));
    return;
  }
  const std::uint64_t id = ++next_id_;
  FinishedModelCall call;
  call.attempt = attempt;
  call.step = ++steps_[lease_id];
  {
    absl::MutexLock lock(&mu_);
    waiting_[id] = std::move(done);
  }
  const std::uint64_t caller_id = caller_->Complete(
      subtask_id, std::move(request),
      [this, id, call = std::move(call)](absl::StatusOr<v1::ChatReply> reply, CallRecord record) mutable {
        call.reply = std::move(reply);
        call.record = std::move(record);
        {
          absl::MutexLock lock(&mu_);
          finished_.push_back({id, std::move(call)});
        }
        post_([this] { Drain(); });
      });
  calls_[lease_id].insert(caller_id);
}

void ModelCallBridge::Drain() {
  std::vector<Finished> finished;
  {
    absl::MutexLock lock(&mu_);
    finished.swap(finished_);
  }
  for (Finished& f : finished) {
    record_(f.call);
    AgentHandler::CompleteDone done;
    {
      absl::MutexLock lock(&mu_);
      auto it = waiting_.find(f.id);
      if (it == waiting_.end()) continue;
      done = std::move(it->second);
      waiting_.erase(it);
    }
    done(std::move(f.call.reply));
  }
}

void ModelCallBridge::EndLease(const std::string& lease_id) {
  steps_.erase(lease_id);
  auto it = calls_.find(lease_id);
  if (it == calls_.end()) return;
  if (caller_ != nullptr) {
    for (std::uint64_t call : it->second) caller_->Cancel(call);
  }
  calls_.erase(it);
}

void ModelCallBridge::AnswerWaiting(const absl::Status& why) {
  std::map<std::uint64_t, AgentHandler::CompleteDone> left;
  {
    absl::MutexLock lock(&mu_);
    left.swap(waiting_);
  }
  for (auto& [id, done] : left) done(why);
}

std::size_t ModelCallBridge::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size();
}

}  // namespace swarm
