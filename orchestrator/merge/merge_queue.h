// The merge stage: patches (an atomic group as one) land on the integration ref only after the test
// command passed on exactly the tree that lands. Implementations decide the order and parallelism;
// the coordinator only submits and receives results.
#ifndef SWARM_ORCHESTRATOR_MERGE_MERGE_QUEUE_H_
#define SWARM_ORCHESTRATOR_MERGE_MERGE_QUEUE_H_

#include <functional>
#include <string>
#include <vector>

#include "orchestrator/merge/test_gate.h"

namespace swarm {

struct MergePatch {
  std::string subtask_id;
  int attempt = 0;
  std::string commit;  // the patch as a commit whose parent is its base
  std::string title;
  std::vector<std::string> tests;  // tests its subtask names in the plan: they must pass once it lands
  std::string summary;             // the agent's account of its patch: the commit message's body
};

struct MergeRequest {
  std::vector<MergePatch> patches;  // one, or every member of an atomic group with a patch
  std::string group;                // empty for a lone patch
  // Test first (a backlog's --require-test): globs of test files. The patch must change such a file,
  // and with only those changes on its base the tests must fail, with its whole change pass. Empty:
  // no such rule.
  std::vector<std::string> test_first = {};
};

// Told when a stage's tests start (done false) and end (done true) for these subtasks' patches, on
// the stage's worker thread: what is under test now, for people watching. Optional everywhere.
using TestingCallback = std::function<void(const std::vector<std::string>& subtask_ids, bool done)>;

// Tells `on_testing` that the tests of `subtask_ids` start, and as it goes (on every way out of the
// scope, its reruns included) that they ended.
class TestingScope final {
 public:
  TestingScope(const TestingCallback& on_testing, std::vector<std::string> subtask_ids)
      : on_testing_(on_testing), subtask_ids_(std::move(subtask_ids)) {
    if (on_testing_) on_testing_(subtask_ids_, /*done=*/false);
  }
  ~TestingScope() {
    if (on_testing_) on_testing_(subtask_ids_, /*done=*/true);
  }
  TestingScope(const TestingScope&) = delete;
  TestingScope& operator=(const TestingScope&) = delete;

 private:
  const TestingCallback& on_testing_;
  const std::vector<std::string> subtask_ids_;
};

struct MergeResult {
  enum class Outcome { kLanded, kConflict, kTestsFailed, kAlreadyPresent, kError };
  Outcome outcome = Outcome::kError;
  std::string commit;    // landed: the new integration head
  std::string old_head;  // the head it was composed on
  std::string tree;      // the tree tested
  std::string detail;    // why it did not land, for people
  std::string log_path;  // the test log, when a test ran
  bool tested = false;
  TestOutcome test;      // when tested
  std::string conflict_json;  // a lone patch's conflict (IntegrationRepo::ConflictJson)
  std::vector<std::string> flaky_tests;  // failed on the first run, passed on the re-run
};

class MergeQueue {
 public:
  virtual ~MergeQueue() = default;
  // Queues `request`; `done` is called exactly once, on a queue thread, when it landed or failed.
  virtual void Submit(MergeRequest request, std::function<void(MergeResult)> done) = 0;
  // Stops taking work; requests not yet started complete with kError "cancelled". Blocks until the
  // one in progress has finished.
  virtual void Shutdown() = 0;
  // Like Shutdown, but does not block, and kills a test in progress (its request then fails).
  virtual void Cancel() = 0;
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_MERGE_QUEUE_H_
