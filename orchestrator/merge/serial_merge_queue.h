// The simplest correct merge queue: one request at a time, in submission order. Each is composed on
// the current integration head without a work tree (git merge-tree), tested, and landed by
// compare-and-swap. The parallel, speculative queue replaces it behind MergeQueue.
#ifndef SWARM_ORCHESTRATOR_MERGE_SERIAL_MERGE_QUEUE_H_
#define SWARM_ORCHESTRATOR_MERGE_SERIAL_MERGE_QUEUE_H_

#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "git/integration_repo.h"
#include "orchestrator/merge/merge_queue.h"
#include "orchestrator/merge/test_gate.h"

namespace swarm {

class SerialMergeQueue final : public MergeQueue {
 public:
  // `run_id` goes into commit messages. `repo` and `gate` must outlive the queue. `head` is what the
  // tests said on the integration head when the queue starts (the per-test gate's baseline).
  SerialMergeQueue(const IntegrationRepo& repo, TestGate& gate, std::string run_id, TestOutcome head);
  ~SerialMergeQueue() override;

  void Submit(MergeRequest request, std::function<void(MergeResult)> done) override;
  void Shutdown() override;
  void Cancel() override;

 private:
  void Loop();
  MergeResult Merge(const MergeRequest& request);

  // Set at construction.
  const IntegrationRepo& repo_;
  TestGate& gate_;
  const std::string run_id_;
  TestOutcome head_;  // owned by the worker: the tests on the current head

  absl::Mutex mu_;
  absl::CondVar cv_;  // signalled when queue_ or stopping_ changes
  std::deque<std::pair<MergeRequest, std::function<void(MergeResult)>>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_SERIAL_MERGE_QUEUE_H_
