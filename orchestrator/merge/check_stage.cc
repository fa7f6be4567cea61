#include "orchestrator/merge/check_stage.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace swarm {

CheckStage::CheckStage(const IntegrationRepo& repo, TestGate& gate, int jobs, TestingCallback on_testing)
    : repo_(repo),
      gate_(gate),
      on_testing_(std::move(on_testing)),
      pool_(std::make_unique<boost::asio::thread_pool>(std::max(1, jobs))) {}

CheckStage::~CheckStage() { Shutdown(); }

void CheckStage::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  pool_->join();
}

void CheckStage::Cancel() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void CheckStage::RecordHead(const std::string& commit, const TestOutcome& outcome) {
  absl::MutexLock lock(&mu_);
  heads_[commit] = outcome;
}

void CheckStage::Submit(const MergeRequest& request, std::function<void(CheckResult)> done) {
  std::uint64_t seq;
  bool stopped;
  {
    absl::MutexLock lock(&mu_);
    seq = next_seq_++;
    stopped = stopped_;
  }
  if (stopped) {  // the pool may be joined already: answer here, still in order
    CheckResult r;
    r.why = "cancelled";
    Deliver(seq, std::move(r), std::move(done));
    return;
  }
  boost::asio::post(*pool_, [this, seq, request, done = std::move(done)] {
    bool stopped;
    {
      absl::MutexLock lock(&mu_);
      stopped = stopped_;
    }
    CheckResult r;
    if (stopped) {
      r.why = "cancelled";
    } else {
      r = Check(request);
    }
    Deliver(seq, std::move(r), done);
  });
}

void CheckStage::Deliver(std::uint64_t seq, CheckResult result, std::function<void(CheckResult)> done) {
  absl::MutexLock lock(&deliver_mu_);
  finished_.emplace(seq, std::make_pair(std::move(result), std::move(done)));
  if (delivering_) return;  // the thread delivering now takes this one too, in its turn
  // One thread delivers at a time, in submission order, and calls back without the lock.
  delivering_ = true;
  for (auto it = finished_.find(next_delivery_); it != finished_.end(); it = finished_.find(next_delivery_)) {
    std::pair<CheckResult, std::function<void(CheckResult)>> next = std::move(it->second);
    finished_.erase(it);
    ++next_delivery_;
    deliver_mu_.Unlock();
    next.second(std::move(next.first));
    deliver_mu_.Lock();
  }
  delivering_ = false;
}

absl::StatusOr<std::pair<std::string, std::string>> CheckStage::Compose(const MergeRequest& request) const {
  // Every base is on the integration ref's first-parent line, so one of them has all the others.
  std::vector<std::string> bases;
  for (const auto& p : request.patches) {
    absl::StatusOr<std::string> base = repo_.git().Run({"rev-parse", p.commit + "^"});
    if (!base.ok()) return base.status();
    bases.push_back(TrimNewline(*base));
  }
  std::string newest = bases[0];
  for (const auto& b : bases) {
    if (repo_.git().Run({"merge-base", "--is-ancestor", newest, b}).ok()) newest = b;
  }
  if (request.patches.size() == 1) {
    absl::StatusOr<std::string> tree = repo_.git().Run({"rev-parse", request.patches[0].commit + "^{tree}"});
    if (!tree.ok()) return tree.status();
    return std::make_pair(TrimNewline(*tree), newest);
  }
  std::string current = newest, tree;
  for (std::size_t i = 0; i < request.patches.size(); ++i) {
    absl::StatusOr<std::string> merged = repo_.MergeTree(current, request.patches[i].commit);
    if (!merged.ok()) {
      return absl::Status(merged.status().code(), absl::StrCat("the group's members do not compose: ",
                                                               request.patches[i].subtask_id, ": ",
                                                               merged.status().message()));
    }
    tree = *merged;
    if (i + 1 < request.patches.size()) {
      absl::StatusOr<std::string> step = repo_.CommitTree(tree, newest, "swarm: composing");
      if (!step.ok()) return step.status();
      current = *step;
    }
  }
  return std::make_pair(tree, newest);
}

absl::StatusOr<TestOutcome> CheckStage::Baseline(const std::string& base_commit) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = heads_.find(base_commit); it != heads_.end()) return it->second;
  }
  // A head from before a resume: test it (a head that landed passed, so this is usually cached).
  absl::StatusOr<std::string> tree = repo_.git().Run({"rev-parse", base_commit + "^{tree}"});
  if (!tree.ok()) return tree.status();
  absl::StatusOr<TestOutcome> tested = gate_.Test(TrimNewline(*tree), "base-" + base_commit.substr(0, 12));
  if (!tested.ok()) return tested.status();
  // Only a complete run is a baseline; anything else would let every check on this base pass.
  if (!tested->results.ran || tested->timed_out) {
    return absl::UnavailableError(absl::StrCat("the tests gave no results on the base ", base_commit.substr(0, 12)));
  }
  RecordHead(base_commit, *tested);
  return *tested;
}

CheckResult CheckStage::Check(const MergeRequest& request) {
  CheckResult result;
  absl::StatusOr<std::pair<std::string, std::string>> composed = Compose(request);
  if (!composed.ok()) {
    result.why = std::string(composed.status().message());
    return result;
  }
  const auto& [tree, base] = *composed;
  result.tree = tree;
  std::string label = absl::StrCat(request.group.empty() ? request.patches[0].subtask_id : "group-" + request.group,
                                   ".check");
  std::vector<std::string> required;
  for (const auto& p : request.patches) required.insert(required.end(), p.tests.begin(), p.tests.end());
  absl::StatusOr<TestOutcome> baseline_or =
      gate_.format() == TestFormat::kExit ? absl::StatusOr<TestOutcome>(TestOutcome{}) : Baseline(base);
  if (!baseline_or.ok()) {
    result.why = absl::StrCat("no baseline to judge it by: ", baseline_or.status().message());
    result.swarm_error = true;
    return result;
  }
  const TestOutcome& baseline = *baseline_or;
  std::vector<std::string> under_test;
  for (const auto& p : request.patches) under_test.push_back(p.subtask_id);
  const TestingScope testing(on_testing_, std::move(under_test));  // the rerun and test first included
  absl::StatusOr<TestOutcome> tested = gate_.Test(tree, label);
  if (!tested.ok()) {
    result.why = std::string(tested.status().message());
    return result;
  }
  result.tested = true;
  result.test = *tested;
  Verdict verdict = gate_.Judge(baseline, *tested, required);
  if (!verdict.pass && !tested->timed_out) {
    absl::StatusOr<TestOutcome> again = gate_.Test(tree, label + ".rerun", /*use_cache=*/false);
    if (again.ok() && gate_.Judge(baseline, *again, required).pass) {
      result.flaky_tests = FlakyTests(*tested, *again, gate_.format());
      result.test = *again;
      verdict.pass = true;
    }
  }
  result.pass = verdict.pass;
  result.why = verdict.pass ? "" : verdict.why + " (alone on its own base)";
  if (result.pass && !request.test_first.empty() && request.patches.size() == 1) {
    TestFirst(request, base, baseline, label, result);
  }
  return result;
}

void CheckStage::TestFirst(const MergeRequest& request, const std::string& base, const TestOutcome& baseline,
                           const std::string& label, CheckResult& result) {
  std::string log;  // of the last run of its tests without its fix
  auto refuse = [&result, &log](const std::string& why) {
    result.pass = false;
    result.no_failing_test = true;
    result.why = absl::StrCat(kNoFailingTest, ": ", why);
    result.test_first_log = log;
  };
  std::vector<std::string> test_files;
  absl::StatusOr<std::string> tests_only =
      repo_.TreeWithChangesTo(base, request.patches[0].commit, request.test_first, &test_files);
  if (absl::IsNotFound(tests_only.status())) {
    // The globs are many by default: the first few say enough.
    std::vector<std::string> shown(request.test_first.begin(),
                                   request.test_first.begin() + std::min<std::size_t>(4, request.test_first.size()));
    refuse(absl::StrCat("the patch adds or changes no test file (", absl::StrJoin(shown, " "),
                        request.test_first.size() > shown.size() ? " ..." : "", ")"));
    return;
  }
  if (!tests_only.ok()) {
    result.pass = false;
    result.why = absl::StrCat("cannot make the tree of its tests alone: ", tests_only.status().message());
    result.swarm_error = true;
    return;
  }
  // Twice, never from the cache: a test that fails only once is flaky, not a reproduction.
  std::optional<std::set<std::string>> failing_both;
  for (int run = 0; run < 2; ++run) {
    absl::StatusOr<TestOutcome> without_fix =
        gate_.Test(*tests_only, absl::StrCat(label, ".test-first", run == 0 ? "" : ".rerun"), /*use_cache=*/false);
    if (!without_fix.ok()) {
      result.pass = false;
      result.why = std::string(without_fix.status().message());
      return;
    }
    log = without_fix->log_path;
    if (without_fix->timed_out) {
      refuse(absl::StrCat(
          "its tests time out on the base without the fix: a reproduction must fail, not hang (log: ", log, ")"));
      return;
    }
    if (gate_.format() == TestFormat::kExit) {
      if (without_fix->exit_code == 0) {
        refuse(absl::StrCat("the tests pass on the base with its tests and without its fix (log: ", log, ")"));
        return;
      }
      continue;
    }
    std::set<std::string> failing = without_fix->results.Failing();
    if (failing_both) {
      std::set<std::string> both;
      for (const std::string& t : failing) {
        if (failing_both->count(t)) both.insert(t);
      }
      failing = std::move(both);
    }
    failing_both = std::move(failing);
  }
  if (gate_.format() == TestFormat::kExit) {
    result.new_tests = test_files;  // with `exit`, the files are all that can be named
    return;
  }
  // A test that is missing on the base, or fails to load there, is no reproduction: only a test that
  // fails without the fix (on both runs) and passes with it counts; nor does a test known to be flaky.
  const std::set<std::string> failed_before = baseline.results.Failing();
  const std::set<std::string> flaky(result.flaky_tests.begin(), result.flaky_tests.end());
  for (const std::string& test : *failing_both) {
    auto with_fix = result.test.results.tests.find(test);
    if (!failed_before.count(test) && !flaky.count(test) && with_fix != result.test.results.tests.end() &&
        with_fix->second) {
      result.new_tests.push_back(test);
    }
  }
  if (result.new_tests.empty()) {
    refuse(absl::StrCat("no test it brings fails on the base without its fix and passes with it (log: ", log, ")"));
  }
}

}  // namespace swarm
