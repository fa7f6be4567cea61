#include "orchestrator/run/run_stages.h"

#include <thread>

#include "orchestrator/merge/speculative_merge_queue.h"

namespace swarm {

void RunStages::Cancel() {
  if (check != nullptr) check->Cancel();
  if (merge != nullptr) merge->Cancel();
}

void RunStages::Shutdown() {
  if (check != nullptr) check->Shutdown();
  if (merge != nullptr) merge->Shutdown();
}

RunStages MakeStages(PatchChecker* checker, MergeQueue* queue, RunSite& site, const PreparedRun& run,
                     const TestOutcome& head, const std::string& head_commit) {
  RunStages stages;
  if (queue != nullptr) {
    stages.merge = queue;
  } else {
    stages.own_merge = std::make_unique<SpeculativeMergeQueue>(
        *site.repo, *site.gate, run.run_id, head,
        SpeculativeMergeQueue::Options{run.config.queue_depth, run.config.max_batch});
    stages.merge = stages.own_merge.get();
  }
  if (checker != nullptr) {
    stages.check = checker;
  } else {
    const int jobs =
        run.config.test_jobs > 0 ? run.config.test_jobs : static_cast<int>(std::thread::hardware_concurrency());
    stages.own_check = std::make_unique<CheckStage>(*site.repo, *site.gate, jobs);
    stages.check = stages.own_check.get();
  }
  stages.check->RecordHead(head_commit, head);
  return stages;
}

}  // namespace swarm
