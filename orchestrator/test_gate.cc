#include "orchestrator/test_gate.h"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "orchestrator/failpoint.h"
#include "sandbox/pid_ledger.h"

namespace swarm {
namespace fs = std::filesystem;

TestGate::TestGate(const Sandbox& sandbox, SandboxPolicy policy, std::string test_command, const IntegrationRepo& repo,
                   std::string scratch_root, std::string log_dir, std::string pid_ledger_dir)
    : sandbox_(sandbox),
      policy_(std::move(policy)),
      test_command_(std::move(test_command)),
      repo_(repo),
      scratch_root_(std::move(scratch_root)),
      log_dir_(std::move(log_dir)),
      pid_ledger_dir_(std::move(pid_ledger_dir)) {}

void TestGate::RememberPassed(const std::string& tree) {
  std::lock_guard<std::mutex> lock(mu_);
  passed_.insert(tree);
}

void TestGate::KillRunning() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  // bwrap leads each run's process group and is the init of its PID namespace: everything goes.
  for (int pid : running_) kill(-pid, SIGKILL);
}

absl::StatusOr<TestOutcome> TestGate::Test(const std::string& tree, const std::string& label) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (passed_.count(tree)) {
      TestOutcome cached;
      cached.passed = true;
      cached.result = "passed before (cached)";
      return cached;
    }
  }
  std::string dir = absl::StrCat(scratch_root_, "/test-", counter_++);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  if (absl::Status st = repo_.Materialize(tree, dir); !st.ok()) return st;
  SandboxPolicy policy = policy_;
  policy.workdir = dir;
  policy.network = false;
  absl::StatusOr<SandboxedCommand> prepared = sandbox_.Prepare(policy, test_command_);
  if (!prepared.ok()) return prepared.status();
  int pid = 0;
  prepared->spec.on_start = [&](int p) {
    std::lock_guard<std::mutex> lock(mu_);
    pid = p;
    running_.insert(p);
    PidLedger(pid_ledger_dir_).Record(p, "test");
    if (cancelled_) kill(-p, SIGKILL);
    if (label.rfind("group-", 0) == 0) Failpoint("group_test");
  };
  absl::StatusOr<ProcessResult> r = RunProcess(std::move(prepared->spec));
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_.erase(pid);
  }
  PidLedger(pid_ledger_dir_).Forget(pid);
  if (!r.ok()) return r.status();
  TestOutcome outcome;
  outcome.passed = r->ok();
  outcome.result = r->Describe();
  outcome.duration = r->duration;
  outcome.log_path = absl::StrCat(log_dir_, "/", label, ".test.log");
  std::ofstream log(outcome.log_path, std::ios::binary | std::ios::app);
  log << "$ " << test_command_ << "\n# tree " << tree << "\n" << r->out << r->err;
  if (r->output_truncated) log << "\n[swarm: output truncated at " << policy.output_cap << " bytes]\n";
  log << "\n[swarm: " << outcome.result << " in " << r->duration.count() << " ms]\n";
  if (outcome.passed) RememberPassed(tree);
  return outcome;
}

}  // namespace swarm
