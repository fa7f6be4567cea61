#include "orchestrator/merge/test_gate.h"

#include <signal.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/failpoint.h"
#include "base/metrics.h"
#include "sandbox/beneath.h"
#include "sandbox/pid_ledger.h"
#include "sandbox/resource_scope.h"
#include "sandbox/tree_usage.h"

namespace swarm {
namespace fs = std::filesystem;

namespace {
// A test run whose sandbox could not be made or started (the agents' are counted from their attempts:
// orchestrator/run/run_metrics.cc).
void CountSandboxFailure() {
  metrics::Metrics()
      .CounterFamily("swarm_sandbox_failures_total",
                     "Sandboxes that could not be made or started: an agent's or a test run's.", {"where"})
      .With({"test"})
      .Add();
}

// In a cache file, the key, then this line, then the passing tests one per line.
constexpr char kPassingSeparator[] = "\n---- passing tests\n";
// A JUnit report larger than this is not read (the test chose its size).
constexpr std::size_t kMaxTestReportBytes = 64 << 20;
}  // namespace

TestGate::TestGate(const Sandbox& sandbox, SandboxPolicy policy, std::string test_command, TestFormat format,
                   std::string test_report, const IntegrationRepo& repo, std::string scratch_root,
                   std::string log_dir, std::string pid_ledger_dir, std::string cache_dir)
    : sandbox_(sandbox),
      policy_(std::move(policy)),
      test_command_(std::move(test_command)),
      format_(format),
      test_report_(std::move(test_report)),
      repo_(repo),
      scratch_root_(std::move(scratch_root)),
      log_dir_(std::move(log_dir)),
      pid_ledger_dir_(std::move(pid_ledger_dir)),
      cache_dir_(std::move(cache_dir)),
      limits_mode_(ResourceScope::ProbeMode()) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cache_dir_, ec)) {
    if (entry.path().extension() == ".tmp") continue;  // a write a crash cut short
    std::ifstream f(entry.path(), std::ios::binary);
    std::stringstream buf;
    buf << f.rdbuf();
    std::string text = buf.str();
    auto sep = text.find(kPassingSeparator);
    if (sep == std::string::npos) continue;
    std::set<std::string>& passing = passed_[text.substr(0, sep)];
    for (absl::string_view name : absl::StrSplit(text.substr(sep + strlen(kPassingSeparator)), '\n', absl::SkipEmpty())) {
      passing.insert(std::string(name));
    }
  }
}

std::string TestGate::CacheKey(const std::string& tree) const {
  std::string key = absl::StrCat("tree ", tree, "\ncommand ", test_command_, "\nformat ", TestFormatName(format_),
                                 "\nreport ", test_report_, "\ntimeout_ms ", policy_.timeout.count(),
                                 "\nsandbox ", sandbox_.Name(), "\nnetwork off\nmemory ", policy_.limits.memory_bytes,
                                 "\nprocesses ", policy_.limits.max_processes, "\nfile ", policy_.limits.max_file_bytes,
                                 "\noutput ", policy_.output_cap, "\nlimits by ", limits_mode_, "\n");
  for (const auto& e : policy_.env) absl::StrAppend(&key, "env ", e, "\n");
  for (const auto& b : policy_.ro_binds) absl::StrAppend(&key, "ro-bind ", b, "\n");
  for (const auto& b : policy_.rw_binds) absl::StrAppend(&key, "bind ", b, "\n");
  return key;
}

void TestGate::RememberPassed(const std::string& tree, const std::set<std::string>& passing) {
  std::string key = CacheKey(tree);
  absl::MutexLock lock(&mu_);
  if (!passed_.emplace(key, passing).second || cache_dir_.empty()) return;
  // One file per key, named by a hash of it and holding the whole key (so a hash collision is a miss,
  // never a wrong hit); written aside and renamed in, so a crash leaves it whole or absent.
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  std::error_code ec;
  fs::create_directories(cache_dir_, ec);
  std::string path = absl::StrCat(cache_dir_, "/", absl::Hex(h, absl::kZeroPad16));
  for (int i = 0; fs::exists(path, ec); ++i) path = absl::StrCat(cache_dir_, "/", absl::Hex(h, absl::kZeroPad16), "-", i);
  {
    std::ofstream f(path + ".tmp", std::ios::binary);
    f << key << kPassingSeparator;
    for (const auto& name : passing) f << name << "\n";
    f.flush();
    if (!f.good()) return;  // not cached: the next identical test runs again, which is only slower
  }
  fs::rename(path + ".tmp", path, ec);
}

Verdict TestGate::Judge(const TestOutcome& head, const TestOutcome& candidate,
                        const std::vector<std::string>& required) const {
  if (format_ == TestFormat::kExit) return {candidate.passed, candidate.passed ? "" : "tests failed (" + candidate.result + ")"};
  if (candidate.output_truncated && !candidate.passed && format_ != TestFormat::kJunit) {
    return {false, "the test output was truncated, so its results are incomplete (--test-format junit avoids this)"};
  }
  return JudgePerTest(head.results, candidate.results, candidate.exit_code, candidate.timed_out, required);
}

void TestGate::KillRunning() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  // bwrap leads each run's process group and is the init of its PID namespace: everything goes.
  for (int pid : running_) kill(-pid, SIGKILL);
}

void TestGate::TakeSlot() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](TestGate* gate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(gate->mu_) {
        // A cancelled run's waiting tests go on at once, to be killed as they start.
        return gate->max_concurrent_ <= 0 || gate->slots_in_use_ < gate->max_concurrent_ || gate->cancelled_;
      },
      this));
  ++slots_in_use_;
}

void TestGate::GiveSlot() {
  absl::MutexLock lock(&mu_);
  --slots_in_use_;
}

absl::StatusOr<TestOutcome> TestGate::Test(const std::string& tree, const std::string& label, bool use_cache) {
  if (use_cache) {
    absl::MutexLock lock(&mu_);
    if (auto hit = passed_.find(CacheKey(tree)); hit != passed_.end()) {
      TestOutcome cached;
      cached.passed = true;
      cached.result = "passed before (cached)";
      cached.results.ran = true;
      for (const auto& name : hit->second) cached.results.tests[name] = true;
      return cached;
    }
  }
  // At most max_concurrent_ test runs at once, whichever stage or lane asks: a backlog's lanes each
  // have a queue, and their tests share the machine.
  struct Slot {
    TestGate& gate;
    explicit Slot(TestGate& g) : gate(g) { gate.TakeSlot(); }
    ~Slot() { gate.GiveSlot(); }
  } slot(*this);
  unsigned index = counter_++;
  std::string dir = absl::StrCat(scratch_root_, "/test-", index);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};
  // A layer over a shared checkout where overlays can be mounted (what differs is written), else a
  // full checkout. Unmounted before `cleanup` removes the directory.
  std::unique_ptr<TestTree> layered;
  if (trees_ != nullptr) {
    absl::StatusOr<std::unique_ptr<TestTree>> t = trees_->Make(tree, dir);
    if (!t.ok()) return t.status();
    layered = std::move(*t);
  }
  // A full checkout on a capped file system of its own goes (detached) before `cleanup` runs.
  std::unique_ptr<LayerFs> own_fs;
  std::string checkout = dir;
  if (trees_ == nullptr) {
    if (!capped_place_.empty() && (growth_.bytes > 0 || growth_.inodes > 0) && OnTmpfs(scratch_root_)) {
      checkout = absl::StrCat(capped_place_, "/test-", index);
      absl::StatusOr<std::unique_ptr<LayerFs>> made = LayerFs::Mount(checkout, LayerLimits{});
      if (!made.ok()) return made.status();
      own_fs = *std::move(made);
    }
    if (absl::Status st = repo_.Materialize(tree, checkout); !st.ok()) return st;
    if (own_fs != nullptr) {
      // What the test writes may grow the tree by the run's limits, and no more.
      if (absl::Status st = own_fs->LimitGrowth(growth_); !st.ok()) return st;
    }
    if (absl::Status st = sandbox_.HandOver(checkout); !st.ok()) return st;
  }
  const std::string root = layered ? layered->root() : checkout;
  SandboxPolicy policy = policy_;
  policy.workdir = root;
  // On disk no file system caps what the test writes: a guard watches it (sandbox/growth_guard.h).
  const bool capped = layered ? layered->capped() : own_fs != nullptr;
  if (!capped && (growth_.bytes > 0 || growth_.inodes > 0)) {
    const std::string grows = layered ? layered->upper() : checkout;
    absl::StatusOr<TreeUsage> now = MeasureTree(grows, TreeUsage{~0ull, ~0ull});
    if (!now.ok()) return now.status();
    policy.growth_cap = GrowthCap{grows, LimitAfterGrowth(*now, TreeUsage{growth_.bytes, growth_.inodes})};
  }
  policy.network = false;
  // Which run this is (0 is the first): a deterministic flaky fixture needs no state of its own.
  policy.env.push_back(absl::StrCat("SWARM_TEST_RUN_INDEX=", index));
  // Only a report this run writes counts. The tree is the patch's: the report's path is resolved
  // beneath it and never through a link, here and when it is read (sandbox/beneath.h).
  if (!test_report_.empty()) RemoveFileBeneath(root, test_report_).IgnoreError();
  absl::StatusOr<SandboxedCommand> prepared = sandbox_.Prepare(policy, test_command_);
  if (!prepared.ok()) {
    CountSandboxFailure();
    return prepared.status();
  }
  int pid = 0;
  std::shared_ptr<ResourceScope> scope = prepared->scope;
  AlsoOnStart(prepared->spec, [&](int p) {
    absl::MutexLock lock(&mu_);
    pid = p;
    running_.insert(p);
    PidLedger(pid_ledger_dir_).Record(p, "test", scope ? scope->CgroupDirs() : std::vector<std::string>{});
    if (cancelled_) kill(-p, SIGKILL);
    if (label.rfind("group-", 0) == 0) Failpoint("group_test");
  });
  absl::StatusOr<ProcessResult> r = RunProcess(std::move(prepared->spec));
  {
    absl::MutexLock lock(&mu_);
    running_.erase(pid);
  }
  PidLedger(pid_ledger_dir_).Forget(pid);
  if (!r.ok()) {
    CountSandboxFailure();
    return r.status();
  }
  TestOutcome outcome;
  outcome.result = r->Describe();
  outcome.duration = r->duration;
  outcome.exit_code = r->term_signal != 0 ? 128 + r->term_signal : r->exit_code;
  outcome.timed_out = r->timed_out;
  outcome.output_truncated = r->output_truncated;
  std::string report_problem;  // why the report was not read, for the result and the log
  if (format_ == TestFormat::kJunit) {
    absl::StatusOr<std::string> xml = ReadFileBeneath(root, test_report_, kMaxTestReportBytes);
    if (xml.ok()) {
      outcome.results = ParseJunitReport(*xml);
    } else {
      report_problem = absl::StrCat("the test report ", xml.status().message(), ": ignored");
      absl::StrAppend(&outcome.result, "; ", report_problem);
    }
  } else if (format_ != TestFormat::kExit) {
    outcome.results = ParseTestOutput(format_, r->out + "\n" + r->err);
  }
  // JUnit results come from the report, so only the text formats depend on the whole output.
  bool complete = format_ == TestFormat::kJunit || !r->output_truncated;
  outcome.passed = r->ok() && (format_ == TestFormat::kExit ||
                               (outcome.results.ran && outcome.results.Failing().empty() && complete));
  outcome.log_path = absl::StrCat(log_dir_, "/", label, ".test.log");
  std::ofstream log(outcome.log_path, std::ios::binary | std::ios::app);
  log << "$ " << test_command_ << "\n# tree " << tree << "\n" << r->out << r->err;
  if (r->output_truncated) log << "\n[swarm: output truncated at " << policy.output_cap << " bytes]\n";
  log << "\n[swarm: " << r->Describe() << " in " << r->duration.count() << " ms]\n";
  if (!report_problem.empty()) log << "[swarm: " << report_problem << "]\n";
  if (format_ != TestFormat::kExit) {
    std::set<std::string> failing = outcome.results.Failing();
    log << "[swarm: " << TestFormatName(format_) << ": " << outcome.results.tests.size() - failing.size()
        << " passed, " << failing.size() << " failed"
        << (outcome.results.ran ? "" : "; no results found (did the suite run? is the format right?)") << "]\n";
    for (const auto& name : failing) log << "[swarm: failed: " << name << "]\n";
  }
  log.close();
  if (!log) {  // a full disk: the outcome stands, and says that its log is not there
    absl::StrAppend(&outcome.result, " (its log could not be written to ", outcome.log_path, ": ", std::strerror(errno), ")");
    outcome.log_path.clear();
  }
  if (outcome.passed) RememberPassed(tree, outcome.results.Passing());
  return outcome;
}

std::vector<std::string> FlakyTests(const TestOutcome& first, const TestOutcome& second, TestFormat format) {
  if (format == TestFormat::kExit) return {"(the test command)"};
  std::vector<std::string> flaky;
  const std::set<std::string> passing = second.results.Passing();
  for (const auto& name : first.results.Failing()) {
    if (passing.count(name)) flaky.push_back(name);
  }
  if (flaky.empty()) flaky.push_back("(the test command)");  // e.g. a run without results, then one with
  return flaky;
}

}  // namespace swarm
