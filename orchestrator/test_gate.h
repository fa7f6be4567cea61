// Runs the test command on one tree: the tree is written to a throwaway directory, the command runs
// there in the sandbox (never with network), the output goes to a log file, and the directory is
// removed, so nothing a test writes can enter a patch. Thread-safe.
#ifndef SWARM_ORCHESTRATOR_TEST_GATE_H_
#define SWARM_ORCHESTRATOR_TEST_GATE_H_

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "orchestrator/integration_repo.h"
#include "sandbox/sandbox.h"

namespace swarm {

struct TestOutcome {
  bool passed = false;
  std::string result;  // "exit 0", "exit 1", "timed out after 600s"
  std::string log_path;
  std::chrono::milliseconds duration{0};
};

class TestGate final {
 public:
  // `policy` is the template for every test run: its workdir is replaced per run and its network
  // forced off. `scratch_root` holds the throwaway copies; `log_dir` keeps the logs.
  // Test processes are recorded in `pid_ledger_dir` while they run.
  TestGate(const Sandbox& sandbox, SandboxPolicy policy, std::string test_command, const IntegrationRepo& repo,
           std::string scratch_root, std::string log_dir, std::string pid_ledger_dir);

  // Tests `tree`; `label` names the log file. An error means the test could not be run at all. A
  // tree that passed before (this run, or a run this one resumes) passes without running again:
  // passing results are cached by tree; the command and its settings are the gate's own.
  absl::StatusOr<TestOutcome> Test(const std::string& tree, const std::string& label);
  // Records that `tree` passed (a TestRun from the store, on resume).
  void RememberPassed(const std::string& tree);

  const std::string& command() const { return test_command_; }
  // Kills every test run in progress and every later one as it starts (their Test() calls return a
  // failed outcome): the run is being cancelled. Thread-safe.
  void KillRunning();

 private:
  // Set at construction.
  const Sandbox& sandbox_;
  const SandboxPolicy policy_;
  const std::string test_command_;
  const IntegrationRepo& repo_;
  const std::string scratch_root_;
  const std::string log_dir_;
  const std::string pid_ledger_dir_;
  std::atomic<unsigned> counter_{0};
  std::mutex mu_;
  std::set<int> running_;  // guarded by mu_: pids (and process groups) of test runs in progress
  bool cancelled_ = false; // guarded by mu_
  std::set<std::string> passed_;  // guarded by mu_: trees that passed
};

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_TEST_GATE_H_
