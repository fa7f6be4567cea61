// Runs the test command on one tree: the tree is written to a throwaway directory, the command runs
// there in the sandbox (never with network), the output goes to a log file, and the directory is
// removed, so nothing a test writes can enter a patch. Thread-safe.
#ifndef SWARM_ORCHESTRATOR_MERGE_TEST_GATE_H_
#define SWARM_ORCHESTRATOR_MERGE_TEST_GATE_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/status/statusor.h"
#include "git/integration_repo.h"
#include "git/test_trees.h"
#include "sandbox/overlay_mount.h"
#include "test_results/test_results.h"
#include "sandbox/sandbox.h"

namespace swarm {

struct TestOutcome {
  bool passed = false;  // exit 0 in time (and, with a per-test format, results and none failing)
  std::string result;   // "exit 0", "exit 1", "timed out after 600s", "passed before (cached)"
  std::string log_path;
  std::chrono::milliseconds duration{0};
  int exit_code = 0;
  bool timed_out = false;
  bool output_truncated = false;  // per-test results may be incomplete
  TestResults results;            // per-test formats
};

class TestGate final {
 public:
  // `policy` is the template for every test run: its workdir is replaced per run and its network
  // forced off. `scratch_root` holds the throwaway copies; `log_dir` keeps the logs.
  // Test processes are recorded in `pid_ledger_dir` while they run. Passing results are kept in
  // `cache_dir` (one file each, written before Test returns, so before any ref moves on them) and
  // read back from it: a run that resumes does not test a tree twice.
  TestGate(const Sandbox& sandbox, SandboxPolicy policy, std::string test_command, TestFormat format,
           std::string test_report, const IntegrationRepo& repo, std::string scratch_root, std::string log_dir,
           std::string pid_ledger_dir, std::string cache_dir);

  // Tests `tree`; `label` names the log file. An error means the test could not be run at all. A
  // test that passed before with the same key (the tree, the command, the time-out and the sandbox
  // policy: limits, environment, binds, network) passes without running again. Only passes are cached.
  // `use_cache` false runs it whatever the cache says (a re-run before blame).
  absl::StatusOr<TestOutcome> Test(const std::string& tree, const std::string& label, bool use_cache = true);
  // Records that `tree` passed under this gate's settings, with these tests passing (per-test formats).
  void RememberPassed(const std::string& tree, const std::set<std::string>& passing = {});
  // Whether `candidate` may land on a head whose tests gave `head`: for `exit`, it passed; for a
  // per-test format, JudgePerTest (test_results.h) with the tests its subtasks require.
  Verdict Judge(const TestOutcome& head, const TestOutcome& candidate, const std::vector<std::string>& required) const;
  TestFormat format() const { return format_; }
  // The next SWARM_TEST_RUN_INDEX (a resumed run goes on counting from where the old one stopped).
  void ContinueRunIndexFrom(unsigned next) { counter_ = std::max(counter_.load(), next); }
  // Everything besides the tree that decides a test's result, with the tree: the cache key.
  std::string CacheKey(const std::string& tree) const;

  const std::string& command() const { return test_command_; }
  // Test runs get their trees as layers over a shared checkout (test_trees.h) instead of a full
  // checkout each. `trees` must outlive the gate; call before the first Test.
  void UseLayers(TestTrees* trees) { trees_ = trees; }
  // What a test run may add to its tree (0: no limit). Where no file system of its own caps the
  // tree (on disk), a guard stops the test past it (sandbox/growth_guard.h). Call before the first Test.
  void LimitTreeGrowth(LayerLimits growth) { growth_ = growth; }
  // Otherwise, where this process has a mount namespace of its own: each full checkout is a tmpfs of
  // its own mounted in `mount_place` (kept until the run ends) and capped at the checkout plus
  // `growth`, where the scratch root is a tmpfs. Call before the first Test.
  void CapCheckouts(std::string mount_place, LayerLimits growth) {
    capped_place_ = std::move(mount_place);
    growth_ = growth;
  }
  // Kills every test run in progress and every later one as it starts (their Test() calls return a
  // failed outcome): the run is being cancelled. Thread-safe.
  void KillRunning();
  // At most `n` test runs at once (0: no limit); a Test beyond it waits for one to end. Call before
  // the first Test.
  void LimitConcurrency(int n) {
    absl::MutexLock lock(&mu_);
    max_concurrent_ = n;
  }

 private:
  void TakeSlot();
  void GiveSlot();

  // Set at construction.
  const Sandbox& sandbox_;
  const SandboxPolicy policy_;
  const std::string test_command_;
  const TestFormat format_;
  const std::string test_report_;
  std::string capped_place_;  // set before the first Test
  LayerLimits growth_;
  const IntegrationRepo& repo_;
  const std::string scratch_root_;
  const std::string log_dir_;
  const std::string pid_ledger_dir_;
  const std::string cache_dir_;
  const std::string limits_mode_;  // cgroup or rlimit: part of the cache key
  TestTrees* trees_ = nullptr;     // null: a full checkout per test run
  std::atomic<unsigned> counter_{0};
  absl::Mutex mu_;
  int max_concurrent_ ABSL_GUARDED_BY(mu_) = 0;
  int slots_in_use_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<int> running_ ABSL_GUARDED_BY(mu_);  // pids (and process groups) of test runs in progress
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::set<std::string>> passed_ ABSL_GUARDED_BY(mu_);  // cache key -> passing tests
};

// The tests that failed in `first` and passed in `second`, two runs of one tree.
std::vector<std::string> FlakyTests(const TestOutcome& first, const TestOutcome& second, TestFormat format);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_MERGE_TEST_GATE_H_
