#include "orchestrator/eval/grading.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "git/git.h"
#include "sandbox/beneath.h"
#include "sandbox/sandbox.h"
#include "sandbox/tree_usage.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxReportBytes = 64 << 20;
// What the tests may add to the checkout (on disk, nothing else caps it).
constexpr TreeUsage kGrowth{8ull << 30, 1'000'000};

// The last `n` bytes of `text`, for a reason: where a failure says why.
std::string Tail(const std::string& text, std::size_t n = 600) {
  if (text.size() <= n) return text;
  return absl::StrCat("...", text.substr(text.size() - n));
}

std::string Output(const ProcessResult& r) {
  if (r.err.empty()) return r.out;
  if (r.out.empty()) return r.err;
  return absl::StrCat(r.out, r.out.back() == '\n' ? "" : "\n", r.err);
}

bool SafeRelative(const std::string& p) {
  if (p.empty() || p[0] == '/') return false;
  for (const fs::path& part : fs::path(p)) {
    if (part == ".." || part == ".git") return false;
  }
  return true;
}

// The work the grade does, step by step, with its log.
class Grader {
 public:
  Grader(const EvalInstance& instance, const GradingPlace& place) : in_(instance), place_(place) {}

  Grade Run(const std::string& model_patch) {
    const auto start = std::chrono::steady_clock::now();
    Steps(model_patch);
    grade_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (grade_.status != GradeStatus::kResolved)
      absl::StrAppend(&log_, "\n== ", GradeStatusName(grade_.status), ": ", grade_.reason, "\n");
    std::ofstream(place_.log_path) << log_;
    grade_.log_path = place_.log_path;
    if (!place_.keep_checkout) {
      std::error_code ec;
      fs::remove_all(place_.work_dir, ec);
    }
    return grade_;
  }

 private:
  void Fail(GradeStatus status, std::string reason) {
    grade_.status = status;
    grade_.reason = std::move(reason);
  }

  // What one test run of a tree said.
  struct TestRun {
    bool ready = false;  // the tree was made and set up; else grade_ says why not
    ProcessResult result;
    TestResults results;
    std::string output;
  };

  void Steps(const std::string& model_patch) {
    const RepoEnvironment& env = *place_.environment;
    Git mirror = Git::AtGitDir(place_.repo_git_dir);
    absl::StatusOr<std::string> base = mirror.ResolveCommit(in_.base_commit + "^{commit}");
    if (!base.ok()) {
      return Fail(GradeStatus::kError, absl::StrCat("the base commit ", in_.base_commit, " is not in ",
                                                    place_.repo_git_dir, " (fetch it into the local clone)"));
    }
    base_ = *base;
    for (const std::string& bind : env.ro_binds) {
      std::error_code ec;
      if (!fs::exists(bind, ec)) {
        return Fail(GradeStatus::kError,
                    absl::StrCat("the environment is missing: ro_bind ", bind, " does not exist on this machine"));
      }
    }
    TestRun run = Test(place_.work_dir, model_patch);
    if (!run.ready) return;
    grade_.exit_code = run.result.term_signal != 0 ? 128 + run.result.term_signal : run.result.exit_code;
    grade_.timed_out = run.result.timed_out;
    grade_.fail_to_pass = Tally(run.results, in_.fail_to_pass);
    grade_.pass_to_pass = Tally(run.results, in_.pass_to_pass);
    if (!run.results.ran) {
      // Whose fault: the tests run without the patch (the patch broke them: not resolved), or they
      // do not run at all (the environment: nothing here can be resolved, and the grade says so).
      const std::string what =
          absl::StrCat("no test results (", TestFormatName(env.test_format), ", ", run.result.Describe(),
                       run.result.exit_code == 127 ? ", a command was not found" : "", "): ", Tail(run.output, 300));
      if (!model_patch.empty()) {
        absl::StrAppend(&log_, "\n== no test results with the patch: the tests again, without it\n");
        TestRun without = Test(place_.work_dir + ".base", "");
        if (!place_.keep_checkout) {
          std::error_code ec;
          fs::remove_all(place_.work_dir + ".base", ec);
        }
        if (!without.ready) return;
        if (without.results.ran) {
          return Fail(GradeStatus::kUnresolved, absl::StrCat("the patch stops the tests from running: ", what));
        }
      }
      return Fail(GradeStatus::kError, absl::StrCat("the environment: the tests do not run, even on the base: ", what));
    }
    if (run.result.output_truncated && env.test_format != TestFormat::kJunit) {
      return Fail(GradeStatus::kError, "the test output passed the 64 MiB cap: results past it were lost");
    }
    std::vector<std::string> why;
    if (!grade_.fail_to_pass.failed.empty()) {
      why.push_back(absl::StrCat(grade_.fail_to_pass.failed.size(), " FAIL_TO_PASS not passing (",
                                 grade_.fail_to_pass.failed.front(),
                                 grade_.fail_to_pass.failed.size() > 1 ? ", ..." : "", ")"));
    }
    if (!grade_.pass_to_pass.failed.empty()) {
      why.push_back(absl::StrCat(grade_.pass_to_pass.failed.size(), " PASS_TO_PASS broken (",
                                 grade_.pass_to_pass.failed.front(),
                                 grade_.pass_to_pass.failed.size() > 1 ? ", ..." : "", ")"));
    }
    if (run.result.timed_out) why.push_back("the tests timed out");
    if (!why.empty()) return Fail(GradeStatus::kUnresolved, absl::StrJoin(why, "; "));
    grade_.status = GradeStatus::kResolved;
    grade_.reason.clear();
  }

  // The base in `dir` with `model_patch` and then the test patch applied, set up, and tested.
  TestRun Test(const std::string& dir, const std::string& model_patch) {
    const RepoEnvironment& env = *place_.environment;
    TestRun run;
    if (absl::Status st = CloneAt(place_.repo_git_dir, base_, dir); !st.ok()) {
      Fail(GradeStatus::kError, absl::StrCat("cannot check out the base: ", st.message()));
      return run;
    }
    Git work = Git::AtGitDir(dir + "/.git", dir);
    absl::StrAppend(&log_, "== base ", base_, " checked out in ", dir, "\n");

    // The model's patch, as SWE-bench applies it (git apply; then with less context).
    if (!model_patch.empty()) {
      absl::StatusOr<ProcessResult> applied = Apply(work, model_patch, {});
      if (applied.ok() && !applied->ok()) applied = Apply(work, model_patch, {"-C1"});
      if (!applied.ok() || !applied->ok()) {
        const std::string why = applied.ok() ? Tail(Output(*applied)) : std::string(applied.status().message());
        absl::StrAppend(&log_, "== the model's patch does not apply:\n", why, "\n");
        Fail(GradeStatus::kUnresolved, absl::StrCat("the patch does not apply: ", why));
        return run;
      }
      absl::StrAppend(&log_, "== the model's patch applied\n");
    } else {
      absl::StrAppend(&log_, "== no model patch\n");
    }

    // The test patch's files, back to the base first: the model's edits to them do not count.
    const std::vector<std::string> test_files = PatchedFiles(in_.test_patch);
    for (const std::string& f : test_files) {
      if (!SafeRelative(f)) {
        Fail(GradeStatus::kError, absl::StrCat("the instance's test_patch names ", f, ", outside the repository"));
        return run;
      }
    }
    if (absl::Status st = Restore(work, dir, test_files); !st.ok()) {
      Fail(GradeStatus::kError, absl::StrCat("cannot restore the test files to the base: ", st.message()));
      return run;
    }
    absl::StatusOr<ProcessResult> tests_applied = Apply(work, in_.test_patch, {});
    if (!tests_applied.ok() || !tests_applied->ok()) {
      const std::string why =
          tests_applied.ok() ? Tail(Output(*tests_applied)) : std::string(tests_applied.status().message());
      Fail(GradeStatus::kError, absl::StrCat("the instance's test_patch does not apply to its base: ", why));
      return run;
    }
    absl::StrAppend(&log_, "== the test patch applied: ", absl::StrJoin(test_files, " "), "\n");

    if (absl::Status st = place_.sandbox->HandOver(dir); !st.ok()) {
      Fail(GradeStatus::kError, absl::StrCat("cannot hand the checkout to the sandbox: ", st.message()));
      return run;
    }
    SandboxPolicy policy = Policy(dir);
    for (std::size_t i = 0; i < env.setup.size(); ++i) {
      const std::string command = ExpandCommand(env.setup[i], test_files, in_.version);
      absl::StrAppend(&log_, "== setup ", i + 1, ": ", command, "\n");
      absl::StatusOr<ProcessResult> r = RunSandboxed(*place_.sandbox, policy, command);
      if (!r.ok()) {
        Fail(GradeStatus::kError, absl::StrCat("setup ", i + 1, " could not start: ", r.status().message()));
        return run;
      }
      absl::StrAppend(&log_, Output(*r), "\n== setup ", i + 1, ": ", r->Describe(), "\n");
      if (!r->ok()) {
        Fail(GradeStatus::kError, absl::StrCat("the environment is not ready: setup ", i + 1, " (", command, ") ",
                                               r->Describe(), ": ", Tail(Output(*r), 300)));
        return run;
      }
    }

    const std::string command = ExpandCommand(env.test_cmd, test_files, in_.version);
    if (!env.test_report.empty()) RemoveFileBeneath(dir, env.test_report).IgnoreError();
    absl::StrAppend(&log_, "== tests: ", command, "\n");
    absl::StatusOr<ProcessResult> r = RunSandboxed(*place_.sandbox, policy, command);
    if (!r.ok()) {
      Fail(GradeStatus::kError, absl::StrCat("the tests could not start: ", r.status().message()));
      return run;
    }
    run.result = *r;
    run.output = Output(*r);
    absl::StrAppend(&log_, run.output, "\n== tests: ", r->Describe(), "\n");
    if (env.test_format == TestFormat::kJunit) {
      absl::StatusOr<std::string> xml = ReadFileBeneath(dir, env.test_report, kMaxReportBytes);
      if (xml.ok()) {
        run.results = ParseJunitReport(*xml);
      } else {
        absl::StrAppend(&log_, "== the test report ", xml.status().message(), "\n");
      }
    } else {
      run.results = ParseTestOutput(env.test_format, run.output);
    }
    run.ready = true;
    return run;
  }

  absl::StatusOr<ProcessResult> Apply(const Git& work, const std::string& patch, std::vector<std::string> extra) {
    std::vector<std::string> args = {"apply", "--verbose", "--whitespace=nowarn"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("-");
    GitOptions opts;
    opts.stdin_data = patch;
    return work.RunRaw(args, opts);
  }

  // Every file in `files` as it is at `base`; a file the base does not have is removed.
  absl::Status Restore(const Git& work, const std::string& dir, const std::vector<std::string>& files) {
    const std::string& base = base_;
    if (files.empty()) return absl::OkStatus();
    GitOptions literal;
    literal.env = {"GIT_LITERAL_PATHSPECS=1"};
    std::vector<std::string> args = {"ls-tree", "-r", "-z", "--name-only", base, "--"};
    args.insert(args.end(), files.begin(), files.end());
    absl::StatusOr<std::string> listed = work.Run(args, literal);
    if (!listed.ok()) return listed.status();
    std::set<std::string> at_base;
    for (absl::string_view name : absl::StrSplit(*listed, '\0', absl::SkipEmpty())) at_base.emplace(name);
    std::vector<std::string> checkout = {"checkout", "--quiet", base, "--"};
    for (const std::string& f : files) {
      if (at_base.count(f) > 0) {
        checkout.push_back(f);
      } else if (absl::Status st = RemoveFileBeneath(dir, f); !st.ok() && !absl::IsNotFound(st)) {
        return st;
      }
    }
    if (checkout.size() > 4) {
      if (absl::StatusOr<std::string> r = work.Run(checkout, literal); !r.ok()) return r.status();
    }
    return absl::OkStatus();
  }

  SandboxPolicy Policy(const std::string& dir) const {
    const RepoEnvironment& env = *place_.environment;
    SandboxPolicy policy;
    policy.workdir = dir;
    policy.hidden_paths = place_.hidden_paths;
    // The checkout borrows the clone's objects: git works in the tests (a version from its tags).
    policy.ro_binds = {Git::AtGitDir(place_.repo_git_dir).ObjectDir()};
    policy.ro_binds.insert(policy.ro_binds.end(), env.ro_binds.begin(), env.ro_binds.end());
    policy.env = {absl::StrCat("PATH=", kSandboxPath), "HOME=/tmp", "LANG=C.UTF-8"};
    policy.env.insert(policy.env.end(), env.env.begin(), env.env.end());
    // On disk nothing caps what the tests write: a guard does (sandbox/growth_guard.h).
    if (absl::StatusOr<TreeUsage> now = MeasureTree(dir, TreeUsage{~0ull, ~0ull}); now.ok()) {
      policy.growth_cap = GrowthCap{dir, LimitAfterGrowth(*now, kGrowth)};
    }
    policy.timeout = env.timeout;
    policy.output_cap = 64u << 20;
    return policy;
  }

  const EvalInstance& in_;
  const GradingPlace& place_;
  std::string base_;  // the base commit, resolved
  Grade grade_;
  std::string log_;
};

}  // namespace

TestTally Tally(const TestResults& results, const std::vector<std::string>& wanted) {
  TestTally tally;
  for (const std::string& w : wanted) {
    bool matched = false, all_passed = true;
    if (auto it = results.tests.find(w); it != results.tests.end()) {
      matched = true;
      all_passed = it->second;
    } else {
      const std::string cut = w + " ";
      for (auto it2 = results.tests.lower_bound(cut); it2 != results.tests.end() && absl::StartsWith(it2->first, cut);
           ++it2) {
        matched = true;
        all_passed = all_passed && it2->second;
      }
    }
    (matched && all_passed ? tally.passed : tally.failed).push_back(w);
  }
  return tally;
}

std::string GradeStatusName(GradeStatus status) {
  switch (status) {
    case GradeStatus::kResolved:
      return "resolved";
    case GradeStatus::kUnresolved:
      return "unresolved";
    case GradeStatus::kError:
      return "error";
  }
  return "error";
}

Grade GradeInstance(const EvalInstance& instance, const std::string& model_patch, const GradingPlace& place) {
  return Grader(instance, place).Run(model_patch);
}

}  // namespace swarm
