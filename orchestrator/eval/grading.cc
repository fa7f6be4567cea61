#include "orchestrator/eval/grading.h"

#include <sys/stat.h>

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

// Printed (to stderr) when a setup command fails; then the script exits 97.
constexpr char kSetupFailed[] = "swarm eval: setup failed: ";

// The files {tests} names, as SWE-bench's harness picks them: those the test patch touches, less data
// files (fixtures, images, configuration) that no test runner takes as an argument.
std::vector<std::string> TestDirectives(const std::vector<std::string>& files) {
  static const char* kNotTests[] = {".json", ".png", "csv",  ".txt",  ".md",  ".jpg",
                                    ".jpeg", ".pkl", ".yml", ".yaml", ".toml"};
  std::vector<std::string> tests;
  for (const std::string& f : files) {
    bool data = false;
    for (const char* ext : kNotTests) data = data || absl::EndsWith(f, ext);
    if (!data) tests.push_back(f);
  }
  return tests;
}

// The work the grade does, step by step, with its log.
class Grader {
 public:
  Grader(const EvalInstance& instance, const GradingPlace& place) : in_(instance), place_(place) {}

  Grade Run(const std::string& model_patch) {
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    fs::create_directories(place_.work_dir, ec);
    chmod(place_.work_dir.c_str(), 0711);  // passable by the sandbox's user, listable by none
    if (ec) {
      Fail(GradeStatus::kError, absl::StrCat("cannot create ", place_.work_dir, ": ", ec.message()));
    } else {
      Steps(model_patch);
    }
    grade_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (grade_.status != GradeStatus::kResolved) {
      absl::StrAppend(&log_, "\n== ", GradeStatusName(grade_.status), ": ", grade_.reason, "\n");
    }
    std::ofstream(place_.log_path) << log_;
    grade_.log_path = place_.log_path;
    if (!place_.keep_checkout) fs::remove_all(place_.work_dir, ec);
    return grade_;
  }

 private:
  void Fail(GradeStatus status, std::string reason) {
    grade_.status = status;
    grade_.reason = std::move(reason);
  }

  // What one test run of a tree said.
  struct TestRun {
    bool ready = false;  // the tree was made and its tests ran; else grade_ says why not
    ProcessResult result;
    TestResults results;
    std::string output;
    std::size_t matched = 0;  // wanted tests (FAIL_TO_PASS and PASS_TO_PASS) found in the results
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
    TestRun run = Test(place_.work_dir + "/tree", model_patch);
    if (!run.ready) return;
    grade_.exit_code = run.result.term_signal != 0 ? 128 + run.result.term_signal : run.result.exit_code;
    grade_.timed_out = run.result.timed_out;
    grade_.fail_to_pass = Tally(run.results, in_.fail_to_pass);
    grade_.pass_to_pass = Tally(run.results, in_.pass_to_pass);
    if (run.matched == 0) {
      // None of the instance's tests ran: the patch's fault, or the environment's (or the instance's)?
      // The gold patch tells: where its tests run, the environment works.
      const std::string what = Evidence(run);
      const bool is_gold = model_patch == in_.patch && !in_.patch.empty();
      if (!run.results.ran && (run.result.exit_code == 126 || run.result.exit_code == 127)) {
        return Fail(GradeStatus::kError, absl::StrCat("the environment: a command was not found: ", what));
      }
      if (!is_gold && !in_.patch.empty()) {
        absl::StrAppend(&log_, "\n== none of the instance's tests ran: the gold patch, to tell whose fault\n");
        TestRun gold = Test(place_.work_dir + "/gold", in_.patch);
        if (!gold.ready) {
          grade_.reason = "with the gold patch: " + grade_.reason;
          grade_.status = GradeStatus::kError;
          return;
        }
        if (gold.matched > 0) {
          return Fail(GradeStatus::kUnresolved,
                      absl::StrCat(model_patch.empty() ? "none of the instance's tests runs without a fix: "
                                   : run.results.ran   ? "none of the instance's tests ran: "
                                                       : "the patch stops the tests from running: ",
                                   what));
        }
        run = std::move(gold);
      } else if (!is_gold) {
        return Fail(GradeStatus::kUnresolved, absl::StrCat("none of the instance's tests ran (there is no gold patch ",
                                                           "to tell whether they can here): ", what));
      }
      if (!run.results.ran) {
        return Fail(GradeStatus::kError,
                    absl::StrCat("the environment: the tests do not run, even with the gold patch: ", Evidence(run)));
      }
      const std::string wanted = !in_.fail_to_pass.empty() ? in_.fail_to_pass.front() : in_.pass_to_pass.front();
      return Fail(
          GradeStatus::kError,
          absl::StrCat("the instance's test ids are not the names ", TestFormatName(env.test_format), " gives its ",
                       run.results.tests.size(), " results, even with the gold patch: wanted \"", wanted, "\", got ",
                       run.results.tests.empty() ? "none" : "\"" + run.results.tests.begin()->first + "\"",
                       " (check test_format)"));
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
    if (run.result.output_truncated && env.test_format != TestFormat::kJunit) {
      why.push_back("the test output passed the 64 MiB cap (results past it were lost)");
    }
    if (!why.empty()) return Fail(GradeStatus::kUnresolved, absl::StrJoin(why, "; "));
    grade_.status = GradeStatus::kResolved;
    grade_.reason.clear();
  }

  // What a run that gave no usable results printed, for a reason.
  std::string Evidence(const TestRun& run) const {
    return absl::StrCat(run.results.ran ? absl::StrCat(run.results.tests.size(), " other results, ") : "no results, ",
                        run.result.Describe(), ": ", Tail(run.output, 300));
  }

  // The base in `dir` with `patch` and then the test patch applied, set up, and tested.
  TestRun Test(const std::string& dir, const std::string& patch) {
    const RepoEnvironment& env = *place_.environment;
    TestRun run;
    if (absl::Status st = CloneAt(place_.repo_git_dir, base_, dir); !st.ok()) {
      Fail(GradeStatus::kError, absl::StrCat("cannot check out the base: ", st.message()));
      return run;
    }
    Git work = Git::AtGitDir(dir + "/.git", dir);
    absl::StrAppend(&log_, "== base ", base_, " checked out in ", dir, "\n");
    if (absl::Status st = place_.sandbox->HandOver(dir); !st.ok()) {
      Fail(GradeStatus::kError, absl::StrCat("cannot hand the checkout to the sandbox: ", st.message()));
      return run;
    }
    SandboxPolicy policy = Policy(dir);

    // The patch, as SWE-bench applies it: git apply; else GNU patch with fuzz (in the sandbox: it is
    // the patch's input, and patch is not a program to run as root on it).
    if (!patch.empty()) {
      absl::StatusOr<ProcessResult> applied = Apply(work, patch);
      if (!applied.ok() || !applied->ok()) {
        const std::string patch_file = dir + ".patch";
        std::ofstream(patch_file, std::ios::binary) << patch;
        SandboxPolicy with_file = policy;
        with_file.ro_binds.push_back(patch_file);
        absl::StatusOr<ProcessResult> fuzzy =
            RunSandboxed(*place_.sandbox, with_file, absl::StrCat("patch --batch --fuzz=5 -p1 -i ", patch_file));
        if (!fuzzy.ok() || !fuzzy->ok()) {
          const std::string why =
              absl::StrCat(applied.ok() ? Tail(Output(*applied)) : std::string(applied.status().message()),
                           fuzzy.ok() ? "\n" + Tail(Output(*fuzzy)) : "");
          absl::StrAppend(&log_, "== the patch does not apply (git apply, then patch --fuzz=5):\n", why, "\n");
          Fail(GradeStatus::kUnresolved, absl::StrCat("the patch does not apply: ", Tail(why, 300)));
          return run;
        }
        absl::StrAppend(&log_, "== the patch applied with patch --fuzz=5:\n", Output(*fuzzy), "\n");
      } else {
        absl::StrAppend(&log_, "== the patch applied\n");
      }
    } else {
      absl::StrAppend(&log_, "== no patch\n");
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
    absl::StatusOr<ProcessResult> tests_applied = Apply(work, in_.test_patch);
    if (!tests_applied.ok() || !tests_applied->ok()) {
      const std::string why =
          tests_applied.ok() ? Tail(Output(*tests_applied)) : std::string(tests_applied.status().message());
      // Over a patch, the patch is to blame (a .gitattributes it adds can change how the test files
      // check out); on the bare base, the instance is.
      Fail(patch.empty() ? GradeStatus::kError : GradeStatus::kUnresolved,
           absl::StrCat(patch.empty() ? "the instance's test_patch does not apply to its base: "
                                      : "the test patch does not apply over the patch: ",
                        why));
      return run;
    }
    // Files git wrote as this user since the hand-over are the sandbox's too.
    if (absl::Status st = place_.sandbox->HandOver(dir); !st.ok()) {
      Fail(GradeStatus::kError, absl::StrCat("cannot hand the checkout to the sandbox: ", st.message()));
      return run;
    }
    absl::StrAppend(&log_, "== the test patch applied: ", absl::StrJoin(test_files, " "), "\n");

    // The setup and the tests in one sandbox, so that what setup leaves in /tmp or the home is there
    // for the tests; a setup command that fails stops the rest and says so.
    const std::vector<std::string> tests = TestDirectives(test_files);
    std::string script;
    for (std::size_t i = 0; i < env.setup.size(); ++i) {
      absl::StrAppend(&script, "(\n", ExpandCommand(env.setup[i], tests, in_.version), "\n) || { echo \"", kSetupFailed,
                      i + 1, ": exit $?\" >&2; exit 97; }\n");
    }
    absl::StrAppend(&script, ExpandCommand(env.test_cmd, tests, in_.version), "\n");
    if (!env.test_report.empty()) RemoveFileBeneath(dir, env.test_report).IgnoreError();
    absl::StrAppend(&log_, "== setup and tests:\n", script);
    absl::StatusOr<ProcessResult> r = RunSandboxed(*place_.sandbox, policy, script);
    if (!r.ok()) {
      Fail(GradeStatus::kError, absl::StrCat("the tests could not start: ", r.status().message()));
      return run;
    }
    run.output = Output(*r);
    r->out.clear();
    r->err.clear();
    run.result = std::move(*r);
    absl::StrAppend(&log_, run.output, "\n== ", run.result.Describe(), "\n");
    if (std::size_t at = run.output.find(kSetupFailed); at != std::string::npos && run.result.exit_code == 97) {
      const std::string which =
          run.output.substr(at + sizeof(kSetupFailed) - 1, run.output.find('\n', at) - at - sizeof(kSetupFailed) + 1);
      Fail(GradeStatus::kError,
           absl::StrCat("the environment is not ready: setup ", which, ": ", Tail(run.output.substr(0, at), 300)));
      return run;
    }
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
    run.matched = Matched(run.results, in_.fail_to_pass) + Matched(run.results, in_.pass_to_pass);
    run.ready = true;
    return run;
  }

  absl::StatusOr<ProcessResult> Apply(const Git& work, const std::string& patch) {
    GitOptions opts;
    opts.stdin_data = patch;
    return work.RunRaw({"apply", "--verbose", "--whitespace=nowarn", "-"}, opts);
  }

  // Every file in `files` as it is at the base; a file the base does not have is removed.
  absl::Status Restore(const Git& work, const std::string& dir, const std::vector<std::string>& files) {
    if (files.empty()) return absl::OkStatus();
    GitOptions literal;
    literal.env = {"GIT_LITERAL_PATHSPECS=1"};
    std::vector<std::string> args = {"ls-tree", "-r", "-z", "--name-only", base_, "--"};
    args.insert(args.end(), files.begin(), files.end());
    absl::StatusOr<std::string> listed = work.Run(args, literal);
    if (!listed.ok()) return listed.status();
    std::set<std::string> at_base;
    for (absl::string_view name : absl::StrSplit(*listed, '\0', absl::SkipEmpty())) at_base.emplace(name);
    std::vector<std::string> checkout = {"checkout", "--quiet", base_, "--"};
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
    // The tests see the tree, not its history: the clone's objects hold the commits after the base,
    // the fix among them.
    policy.hidden_paths = place_.hidden_paths;
    policy.hidden_paths.push_back(dir + "/.git");
    policy.ro_binds = env.ro_binds;
    policy.env = {absl::StrCat("PATH=", kSandboxPath), "HOME=/tmp", "LANG=C.UTF-8"};
    policy.env.insert(policy.env.end(), env.env.begin(), env.env.end());
    policy.timeout = env.timeout;
    policy.output_cap = 64u << 20;
    // On disk nothing caps what the tests write: a guard does (sandbox/growth_guard.h).
    if (absl::StatusOr<TreeUsage> now = MeasureTree(dir, TreeUsage{~0ull, ~0ull}); now.ok()) {
      policy.growth_cap = GrowthCap{dir, LimitAfterGrowth(*now, kGrowth)};
    }
    return policy;
  }

  const EvalInstance& in_;
  const GradingPlace& place_;
  std::string base_;  // the base commit, resolved
  Grade grade_;
  std::string log_;
};

}  // namespace

namespace {

struct Lookup {
  bool found = false;
  bool passed = true;
};

// The results `wanted` names: that name; else, for an id cut at a space, every name that is the id,
// a space and more; else, for unittest's "test_x (module.Class)" (as SWE-bench stores Django's ids),
// "module.Class.test_x", the name swarm's unittest parser gives.
Lookup Find(const TestResults& results, const std::string& wanted) {
  Lookup l;
  if (auto it = results.tests.find(wanted); it != results.tests.end()) return {true, it->second};
  const std::string cut = wanted + " ";
  for (auto it = results.tests.lower_bound(cut); it != results.tests.end() && absl::StartsWith(it->first, cut); ++it) {
    l.found = true;
    l.passed = l.passed && it->second;
  }
  if (l.found) return l;
  if (std::size_t open = wanted.find(" ("); open != std::string::npos && absl::EndsWith(wanted, ")")) {
    const std::string method = wanted.substr(0, open);
    const std::string where = wanted.substr(open + 2, wanted.size() - open - 3);
    const std::string name = absl::EndsWith(where, "." + method) ? where : where + "." + method;
    if (auto it = results.tests.find(name); it != results.tests.end()) return {true, it->second};
  }
  return {false, false};
}

}  // namespace

TestTally Tally(const TestResults& results, const std::vector<std::string>& wanted) {
  TestTally tally;
  for (const std::string& w : wanted) {
    Lookup l = Find(results, w);
    (l.found && l.passed ? tally.passed : tally.failed).push_back(w);
  }
  return tally;
}

std::size_t Matched(const TestResults& results, const std::vector<std::string>& wanted) {
  std::size_t n = 0;
  for (const std::string& w : wanted) n += Find(results, w).found;
  return n;
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
