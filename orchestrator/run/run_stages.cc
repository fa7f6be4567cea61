#include "orchestrator/run/run_stages.h"

#include <algorithm>
#include <thread>

#include "git/integration_repo.h"
#include "orchestrator/merge/speculative_merge_queue.h"

namespace swarm {

MergeQueue& RunStages::Merge(const std::string& lane) {
  if (injected_merge_ != nullptr) return *injected_merge_;
  std::unique_ptr<MergeQueue>& queue = own_merges_[lane];
  if (queue == nullptr) {
    queue = make_queue_(lane);
    if (cancelled_) queue->Cancel();  // what reaches it is answered "cancelled"
  }
  return *queue;
}

void RunStages::Retire(const std::string& lane) {
  auto it = own_merges_.find(lane);
  if (it == own_merges_.end()) return;
  it->second->Shutdown();  // idle: what it landed last has been handed to the executor already
  own_merges_.erase(it);
}

void RunStages::Cancel() {
  cancelled_ = true;
  if (check_ != nullptr) check_->Cancel();
  if (injected_merge_ != nullptr) injected_merge_->Cancel();
  for (auto& [lane, queue] : own_merges_) queue->Cancel();
}

void RunStages::Shutdown() {
  if (check_ != nullptr) check_->Shutdown();
  if (injected_merge_ != nullptr) injected_merge_->Shutdown();
  for (auto& [lane, queue] : own_merges_) queue->Shutdown();
}

RunStages MakeStages(PatchChecker* checker, MergeQueue* queue, RunSite& site, const PreparedRun& run,
                     const TestOutcome& head, const std::string& head_commit, StageTestingCallback on_testing) {
  RunStages stages;
  stages.injected_merge_ = queue;
  stages.make_queue_ = [&site, &run, head, on_testing](const std::string& lane) -> std::unique_ptr<MergeQueue> {
    TestingCallback heard = nullptr;
    if (on_testing) {
      heard = [on_testing, lane](const std::vector<std::string>& ids, bool done) {
        on_testing("queue", lane, ids, done);
      };
    }
    return std::make_unique<SpeculativeMergeQueue>(
        *site.repo, *site.gate, run.run_id, head,
        SpeculativeMergeQueue::Options{.depth = run.config.queue_depth,
                                       .max_batch = run.config.max_batch,
                                       .ref = LaneRef(lane),
                                       // A resumed lane may have moved since the base `head` is of.
                                       .test_head_first = run.resume && !lane.empty(),
                                       .on_testing = std::move(heard)});
  };
  const int jobs =
      run.config.test_jobs > 0 ? run.config.test_jobs : static_cast<int>(std::thread::hardware_concurrency());
  // The check's workers and one queue's candidates at once, however many lanes have a queue.
  site.gate->LimitConcurrency(std::max(1, jobs) + run.config.queue_depth);
  if (checker != nullptr) {
    stages.check_ = checker;
  } else {
    TestingCallback heard = nullptr;
    if (on_testing) {
      heard = [on_testing](const std::vector<std::string>& ids, bool done) { on_testing("check", "", ids, done); };
    }
    stages.own_check_ = std::make_unique<CheckStage>(*site.repo, *site.gate, jobs, std::move(heard));
    stages.check_ = stages.own_check_.get();
  }
  stages.check_->RecordHead(head_commit, head);
  return stages;
}

}  // namespace swarm
