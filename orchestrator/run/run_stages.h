// The merge stages of a run: the check of each patch alone on its base, and the integration queue
// that lands it. A run's own, or the ones a test (or an embedding program) injects. Each lane has a
// queue of its own (it moves the lane's ref), made when the lane's first patch reaches it.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_STAGES_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_STAGES_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "orchestrator/merge/check_stage.h"
#include "orchestrator/merge/merge_queue.h"
#include "orchestrator/merge/test_gate.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/run/run_site.h"

namespace swarm {

// What the own stages' tests starting and ending are told to: stage "check" or "queue", the queue's
// lane, the subtasks whose patches the trees under test add; from the stages' worker threads.
using StageTestingCallback = std::function<void(const std::string& stage, const std::string& lane,
                                                const std::vector<std::string>& subtask_ids, bool done)>;

class RunStages {
 public:
  RunStages() = default;
  RunStages(RunStages&&) = default;
  RunStages& operator=(RunStages&&) = default;

  PatchChecker* check() const { return check_; }
  // The queue of `lane`: the injected one, or the lane's own, made now if it has none yet. On the
  // coordinator's executor.
  MergeQueue& Merge(const std::string& lane);

  // `lane` will merge nothing more: its own queue stops, its thread ends (a backlog of 1,000 issues
  // would otherwise keep a thread for every lane that ever landed). On the coordinator's executor.
  void Retire(const std::string& lane);
  // Checks not started are dropped; queued patches are dropped, a running test is killed.
  void Cancel();
  // Waits for what runs to end.
  void Shutdown();

 private:
  friend RunStages MakeStages(PatchChecker*, MergeQueue*, RunSite&, const PreparedRun&, const TestOutcome&,
                              const std::string&, StageTestingCallback);

  std::unique_ptr<CheckStage> own_check_;
  PatchChecker* check_ = nullptr;  // own_check_ or the injected one
  MergeQueue* injected_merge_ = nullptr;
  std::function<std::unique_ptr<MergeQueue>(const std::string& lane)> make_queue_;
  std::map<std::string, std::unique_ptr<MergeQueue>> own_merges_;  // lane -> its queue
  bool cancelled_ = false;
};

// `on_testing`: told when the own stages' tests start and end.
// `checker`, `queue`: injected stages (null: the run's own, a CheckStage with --test-jobs workers and,
// per lane, a SpeculativeMergeQueue of --queue-depth and --max-batch). `head`: the tests on the head,
// which the check stage and the queues start from.
RunStages MakeStages(PatchChecker* checker, MergeQueue* queue, RunSite& site, const PreparedRun& run,
                     const TestOutcome& head, const std::string& head_commit,
                     StageTestingCallback on_testing = nullptr);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_STAGES_H_
