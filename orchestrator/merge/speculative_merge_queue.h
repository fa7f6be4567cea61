// Stage 2 of the merge, the integration queue: requests in submission order, composed without a work
// tree into a chain of commits on the integration head (each request one commit, with its trailers),
// and tested as stacked candidates at once: head+u1, head+u1+u2, ... up to `depth` of them, where each
// unit u is one request or, with a long queue, a batch of consecutive requests (bors-style).
//
// When every candidate passes, the head moves to the last one by compare-and-swap: every request in
// it lands, one commit each. When the first failing candidate is k (run once more before it counts:
// a pass then makes its first failures flaky), the head moves to candidate k-1; a unit of one request
// is rejected, a batch is split into `depth` parts (at least two) that go back to the front, so the next
// round tests all their prefixes at once; the units behind k are rebuilt without it in the next round. A request that conflicts while composing is rejected at once
// (the coordinator sends it back as a rebase). Depth 1 with batches of 1 is the serial queue.
#ifndef SWARM_ORCHESTRATOR_MERGE_SPECULATIVE_MERGE_QUEUE_H_
#define SWARM_ORCHESTRATOR_MERGE_SPECULATIVE_MERGE_QUEUE_H_

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "git/integration_repo.h"
#include "orchestrator/merge/merge_queue.h"
#include "orchestrator/merge/test_gate.h"

namespace swarm {

class SpeculativeMergeQueue final : public MergeQueue {
 public:
  struct Options {
    int depth = 3;       // candidates tested at once
    int max_batch = 16;  // requests in one unit when the queue is long
    std::string ref = kIntegrationRef;  // the lane's integration ref that the queue moves
    // `head` is not what the tests said on the ref's head (a resumed run's lane, which moved since the
    // base): the queue tests its head first, on its own thread, with a per-test format.
    bool test_head_first = false;
    TestingCallback on_testing = nullptr;  // a round's candidates' tests start and end
  };
  // `repo` and `gate` must outlive the queue; `head` is what the tests said on the integration head.
  SpeculativeMergeQueue(const IntegrationRepo& repo, TestGate& gate, std::string run_id, TestOutcome head,
                        Options options);
  ~SpeculativeMergeQueue() override;

  void Submit(MergeRequest request, std::function<void(MergeResult)> done) override;
  void Shutdown() override;
  void Cancel() override;

 private:
  struct Item {
    MergeRequest request;
    std::function<void(MergeResult)> done;
  };
  struct Unit {
    std::vector<Item> items;
    bool split = false;  // a half of a failed batch: kept as it is, never merged with others
  };
  struct Position {
    std::vector<Item> items;
    bool split = false;
    std::vector<std::string> commits;  // one per item, chained
    std::string candidate;             // the last commit: head + everything up to here
    std::string tree;
    absl::StatusOr<TestOutcome> test = absl::UnknownError("not tested");
  };

  void Loop();
  // One round over the front of `units`: compose, test, land a prefix, reject or split the first
  // failure, and put the rest back.
  void Round(std::deque<Unit>& units);
  std::vector<Position> Compose(std::deque<Unit>& units, const std::string& head);
  static void Finish(Item& item, MergeResult result);

  // Set at construction.
  const IntegrationRepo& repo_;
  TestGate& gate_;
  const std::string run_id_;
  const Options options_;

  TestOutcome head_;  // owned by the worker: the tests on the current head
  bool head_known_;   // owned by the worker: head_ is what the tests said on the ref's head

  absl::Mutex mu_;
  absl::CondVar cv_;  // signalled when incoming_ or stopping_ changes
  std::deque<Item> incoming_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_SPECULATIVE_MERGE_QUEUE_H_
