// The merge stages of a run: the check of each patch alone on its base, and the integration queue
// that lands it. A run's own, or the ones a test (or an embedding program) injects.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_STAGES_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_STAGES_H_

#include <memory>

#include "orchestrator/merge/check_stage.h"
#include "orchestrator/merge/merge_queue.h"
#include "orchestrator/merge/test_gate.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/run/run_site.h"

namespace swarm {

struct RunStages {
  std::unique_ptr<CheckStage> own_check;
  std::unique_ptr<MergeQueue> own_merge;
  PatchChecker* check = nullptr;  // own_check or the injected one
  MergeQueue* merge = nullptr;    // own_merge or the injected one

  // Checks not started are dropped; queued patches are dropped, a running test is killed.
  void Cancel();
  // Waits for what runs to end.
  void Shutdown();
};

// `checker`, `queue`: injected stages (null: the run's own, a CheckStage with --test-jobs workers and a
// SpeculativeMergeQueue of --queue-depth and --max-batch). `head`: the tests on the head, which
// the check stage and the queue start from.
RunStages MakeStages(PatchChecker* checker, MergeQueue* queue, RunSite& site, const PreparedRun& run,
                     const TestOutcome& head, const std::string& head_commit);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_STAGES_H_
