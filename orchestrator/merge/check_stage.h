// Stage 1 of the merge: each patch is tested alone on its own base, up to `jobs` at a time, before
// it may enter the integration queue; one that fails here never enters it, so the queue's serial
// tests are spent on patches that pass alone. An atomic group is checked once, composed on the newest
// of its members' bases, when its last member is in; a member is never judged alone. A failure is run
// once more before it counts (a pass on the re-run makes the first run's failures flaky).
//
// A patch whose base is the integration head costs nothing twice: the queue's candidate is the same
// tree, and the gate caches passes. Thread-safe.
#ifndef SWARM_ORCHESTRATOR_MERGE_CHECK_STAGE_H_
#define SWARM_ORCHESTRATOR_MERGE_CHECK_STAGE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "git/integration_repo.h"
#include "orchestrator/merge/merge_queue.h"
#include "orchestrator/merge/test_gate.h"

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace swarm {

struct CheckResult {
  bool pass = false;
  bool tested = false;                   // a test ran (or came from the cache)
  std::string tree;                      // the tree checked
  TestOutcome test;
  std::string why;                       // why it did not pass, for people
  std::vector<std::string> flaky_tests;  // failed on the first run, passed on the re-run
  // Test first: the tests the patch brings that failed without its fix and pass with it (for `exit`,
  // its test files). They must pass once it lands. `no_failing_test`: it brought none.
  std::vector<std::string> new_tests = {};
  bool no_failing_test = false;
  std::string test_first_log;  // no failing test: the log of its tests without its fix, if they ran
  // It was not judged: swarm could not set up the judging (no baseline, no tree of its tests alone).
  bool swarm_error = false;
};

// What the coordinator needs of stage 1: a seam, so its tests release checks when they choose
// (fake_merge_stages.h).
class PatchChecker {
 public:
  virtual ~PatchChecker() = default;
  virtual void RecordHead(const std::string& commit, const TestOutcome& outcome) = 0;
  virtual void Submit(const MergeRequest& request, std::function<void(CheckResult)> done) = 0;
  virtual void Shutdown() = 0;
  virtual void Cancel() = 0;
};

// Test first: the reason a patch is refused when it brings no test that fails without its fix.
inline constexpr char kNoFailingTest[] = "no failing test";
// How a rejection that is swarm's own error, not the patch's, begins (CheckResult::swarm_error).
inline constexpr char kSwarmError[] = "swarm's own error";

class CheckStage final : public PatchChecker {
 public:
  // `repo` and `gate` must outlive the stage. `on_testing` hears each check's tests start and end.
  CheckStage(const IntegrationRepo& repo, TestGate& gate, int jobs, TestingCallback on_testing = nullptr);
  ~CheckStage() override;  // waits for the checks in progress
  CheckStage(const CheckStage&) = delete;
  CheckStage& operator=(const CheckStage&) = delete;

  // What the tests said on `commit` (a head), the baseline for patches based on it.
  void RecordHead(const std::string& commit, const TestOutcome& outcome) override;
  // Checks `request`; `done` is called once, on a worker thread. Results are delivered in submission
  // order (a check that finishes early waits for those submitted before it), so the queue behind this
  // stage sees requests in the order they were submitted, whatever the checks' durations.
  void Submit(const MergeRequest& request, std::function<void(CheckResult)> done) override;
  // Waits for the checks in progress; later submissions complete at once as not passed.
  void Shutdown() override;
  // Does not wait: checks not yet started complete as not passed ("cancelled").
  void Cancel() override;

 private:
  CheckResult Check(const MergeRequest& request);
  // The composed tree of `request` and the commit it is composed on.
  absl::StatusOr<std::pair<std::string, std::string>> Compose(const MergeRequest& request) const;
  absl::StatusOr<TestOutcome> Baseline(const std::string& base_commit);
  // Test first, for a lone patch that passed: its test files alone on `base` must fail (for a
  // per-test format: a test that fails there passes with the whole patch). Fills in `result`.
  void TestFirst(const MergeRequest& request, const std::string& base, const TestOutcome& baseline,
                 const std::string& label, CheckResult& result);

  // Set at construction.
  const IntegrationRepo& repo_;
  TestGate& gate_;
  const TestingCallback on_testing_;
  std::unique_ptr<boost::asio::thread_pool> pool_;

  absl::Mutex mu_;
  std::map<std::string, TestOutcome> heads_ ABSL_GUARDED_BY(mu_);  // commit -> its tests
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;                // the next submission's number
  // Delivery in submission order: finished checks wait here for the ones before them.
  absl::Mutex deliver_mu_;
  std::uint64_t next_delivery_ ABSL_GUARDED_BY(deliver_mu_) = 0;
  std::map<std::uint64_t, std::pair<CheckResult, std::function<void(CheckResult)>>> finished_ ABSL_GUARDED_BY(deliver_mu_);
  bool delivering_ ABSL_GUARDED_BY(deliver_mu_) = false;  // a thread is calling back
  void Deliver(std::uint64_t seq, CheckResult result, std::function<void(CheckResult)> done);
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_CHECK_STAGE_H_
