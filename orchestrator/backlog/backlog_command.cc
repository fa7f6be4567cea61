#include "orchestrator/backlog/backlog_command.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <ostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/input_file.h"
#include "base/terminal_text.h"
#include "git/git.h"
#include "orchestrator/backlog/backlog_report.h"
#include "orchestrator/backlog/issue_outcome.h"
#include "orchestrator/backlog/issues.h"
#include "orchestrator/plan/issue_planner.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/run/coordinator.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/make_sandbox.h"
#include "orchestrator/store/store.h"
#include "sandbox/process.h"

extern char** environ;

namespace swarm {
namespace {

namespace fs = std::filesystem;
using Kind = IssueOutcome::Kind;

// The command runs outside the sandbox, in the user's environment, with what it needs to publish.
std::string OnResolved(const std::string& command, const IssueOutcome& o, const std::string& repo_root,
                       const std::string& out_dir, mode_t user_umask) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", command};
  spec.cwd = repo_root;
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view var(*e);
    if (var.rfind("SWARM_ISSUE_", 0) != 0 && var.rfind("SWARM_BRANCH=", 0) != 0 &&
        var.rfind("SWARM_PR_BODY=", 0) != 0) {
      env.emplace_back(*e);
    }
  }
  env.push_back("SWARM_ISSUE_ID=" + o.issue.id());
  env.push_back("SWARM_ISSUE_URL=" + o.issue.url());
  env.push_back("SWARM_ISSUE_TITLE=" + o.issue.title());
  env.push_back("SWARM_BRANCH=" + o.branch);
  env.push_back("SWARM_PR_BODY=" + PullRequestPath(out_dir, o.issue.id()));
  spec.env = std::move(env);
  spec.umask = user_umask;
  spec.timeout = std::chrono::minutes(30);
  absl::StatusOr<ProcessResult> r = RunProcess(std::move(spec));
  const std::string log_path = absl::StrCat(out_dir, "/on-resolved/", o.issue.id(), ".log");
  std::error_code ec;
  fs::create_directories(out_dir + "/on-resolved", ec);
  std::ofstream log(log_path, std::ios::binary | std::ios::trunc);
  if (r.ok()) log << r->out << r->err;
  log.close();
  if (!r.ok()) return std::string(r.status().message());
  if (r->ok()) return "";
  std::string tail = r->err.size() > 300 ? r->err.substr(r->err.size() - 300) : r->err;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  return absl::StrCat(r->Describe(), tail.empty() ? "" : ": " + tail, " (log: ", log_path, ")");
}

// A file's first line, or (`whole`) all of it; "" when it cannot be read.
std::string ReadText(const std::string& path, bool whole = false) {
  std::ifstream in(path);
  if (whole) return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::string line;
  std::getline(in, line);
  return line;
}

bool WriteDone(const std::string& path, const std::string& head) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::trunc);
  out << head;
  out.close();
  return static_cast<bool>(out);
}

// Issue id -> its branch, local (swarm/issue-ID) or, as a CI job's fresh clone has it, a remote's
// (origin/swarm/issue-ID): the issues resolved before, whose pull requests may be under review.
absl::StatusOr<std::map<std::string, std::string>> IssueBranches(const Git& repo) {
  absl::StatusOr<std::string> refs =
      repo.Run({"for-each-ref", "--format=%(refname)", "refs/heads/swarm/", "refs/remotes/"});
  if (!refs.ok())
    return absl::FailedPreconditionError(absl::StrCat("cannot list the branches: ", refs.status().message()));
  std::map<std::string, std::string> branches;
  for (absl::string_view ref : absl::StrSplit(*refs, '\n', absl::SkipEmpty())) {
    absl::string_view name = ref;
    if (absl::ConsumePrefix(&name, "refs/heads/")) {
      // swarm/issue-ID
    } else if (absl::ConsumePrefix(&name, "refs/remotes/")) {
      const std::size_t at = name.find(std::string("/") + kIssueBranchPrefix);
      if (at == absl::string_view::npos) continue;
      name.remove_prefix(at + 1);  // a remote's name may hold '/'
    }
    absl::string_view id = name;
    if (!absl::ConsumePrefix(&id, kIssueBranchPrefix) || id.empty()) continue;
    const std::string shown(ref.substr(absl::StartsWith(ref, "refs/heads/") ? 11 : 13));
    branches.emplace(std::string(id), shown);  // the local branch first: refs/heads sorts before refs/remotes
  }
  return branches;
}

}  // namespace

std::vector<std::string> DefaultTestGlobs() {
  return {"test_*.py", "*_test.py", "*_test.go",  "*.test.js",  "*.test.ts", "*.spec.js",
          "*.spec.ts", "*_test.cc", "*_test.cpp", "*Test.java", "*_spec.rb", "tests/*",
          "*/tests/*", "test/*",    "*/test/*",   "spec/*",     "*/spec/*"};
}

absl::Status BacklogCommand(RunConfig config, const BacklogOptions& options, mode_t user_umask, std::ostream& out,
                            std::ostream& err) {
  if (options.issues_file.empty()) return absl::InvalidArgumentError("--issues FILE is required");
  absl::StatusOr<std::string> text = ReadInputFile(options.issues_file, "the issues file");
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<v1::Issue>> issues = ParseIssues(*text, options.issues_file);
  if (!issues.ok()) return issues.status();
  absl::StatusOr<Git> user = Git::Open(config.repo);
  if (!user.ok()) return absl::InvalidArgumentError(absl::StrCat("--repo: ", user.status().message()));
  // Issues whose branch exists were resolved before: --max-issues counts the others.
  absl::StatusOr<std::map<std::string, std::string>> branches = IssueBranches(*user);
  if (!branches.ok()) return branches.status();
  IssueSelection selection =
      SelectIssues(*issues, options.label, options.max_issues, [&](const v1::Issue& issue) -> std::string {
        auto branch = branches->find(issue.id());
        if (options.redo || branch == branches->end()) return "";
        return absl::StrCat("its branch ", branch->second, " exists (--redo does it again)");
      });
  v1::Backlog& backlog = config.backlog;
  backlog.set_branch_prefix(kIssueBranchPrefix);
  backlog.set_redo(options.redo);
  backlog.set_on_resolved(options.on_resolved);
  backlog.set_issues_file(fs::absolute(options.issues_file).string());
  backlog.set_budget_per_issue_usd(options.budget_per_issue_usd);
  // Test first is the default where the tests' results name each test (it can tell which tests fail).
  backlog.set_require_test(options.require_test < 0 ? config.test_format != "exit" : options.require_test == 1);
  for (const std::string& glob : options.test_globs.empty() ? DefaultTestGlobs() : options.test_globs) {
    if (glob.empty()) return absl::InvalidArgumentError("--test-glob: a glob may not be empty");
    backlog.add_test_globs(glob);
  }
  if (backlog.require_test() && config.test_command.empty()) {
    return absl::InvalidArgumentError("--require-test needs --test-cmd: a test must fail before it can pass");
  }
  for (v1::Issue& issue : selection.chosen) *backlog.add_issues() = std::move(issue);
  for (v1::SkippedIssue& skipped : selection.skipped) *backlog.add_skipped() = std::move(skipped);
  const int lanes = backlog.issues_size();
  backlog.set_max_agents_per_issue(options.max_agents_per_issue > 0 ? options.max_agents_per_issue
                                                                    : std::max(1, config.agents / std::max(1, lanes)));
  std::string out_dir = options.out_dir.empty() ? "" : fs::absolute(options.out_dir).string();

  if (lanes == 0) {
    // Nothing to do: no run starts; the report says why each issue was left.
    std::vector<IssueOutcome> outcomes;
    for (const v1::SkippedIssue& skipped : backlog.skipped()) {
      IssueOutcome& o = outcomes.emplace_back();
      o.issue = skipped.issue();
      o.kind = Kind::kSkipped;
      o.reason = skipped.reason();
    }
    BacklogReportContext ctx{.run_id = "",
                             .out_dir = out_dir,
                             .issues_file = backlog.issues_file(),
                             .test_command = config.test_command,
                             .exit_code = kExitOk};
    out << "swarm: no issue to work on (" << outcomes.size() << " skipped)\n";
    if (out_dir.empty()) {
      for (const IssueOutcome& o : outcomes)
        out << "  " << TerminalSafe(o.issue.id()) << "  skipped (" << TerminalSafe(o.reason) << ")\n";
      return absl::OkStatus();
    }
    if (absl::Status st = WriteBacklogReport(outcomes, ctx); !st.ok()) return st;
    PrintBacklogSummary(outcomes, ctx, out);
    return absl::OkStatus();
  }

  // Each issue is one subtask until the coordinator plans it with the model (issue_planner.h).
  backlog.set_plan_issues(!options.no_plan && !config.model.empty());
  config.plan_text = PlanToJson(OneSubtaskPerIssue(backlog));
  absl::StatusOr<PreparedRun> run = PrepareRun(config);
  if (!run.ok()) return run.status();
  run->config.backlog.set_out_dir(out_dir.empty() ? absl::StrCat(run->state_dir, "/runs/", run->run_id) : out_dir);
  if (config.dry_run) {
    for (const auto& w : run->warnings) err << "swarm: warning: " << w << "\n";
    out << "base " << run->base << "\n"
        << lanes << " issues, one lane each (at most " << backlog.max_agents_per_issue() << " agents each; "
        << (backlog.plan_issues() ? "each planned by the model as the run starts" : "each one subtask") << "):\n";
    for (const v1::Issue& issue : backlog.issues()) {
      out << "  " << TerminalSafe(issue.id()) << "  " << TerminalSafe(issue.title().substr(0, 100)) << "  -> "
          << kIssueBranchPrefix << TerminalSafe(issue.id()) << "\n";
    }
    for (const v1::SkippedIssue& s : backlog.skipped()) {
      out << "  " << TerminalSafe(s.issue().id()) << "  skipped (" << TerminalSafe(s.reason()) << ")\n";
    }
    return absl::OkStatus();
  }
  return RunBacklog(std::move(*run), user_umask, out, err);
}

absl::Status RunBacklog(PreparedRun run, mode_t user_umask, std::ostream& out, std::ostream& err) {
  const v1::Backlog backlog = run.config.backlog;
  const std::string run_dir = absl::StrCat(run.state_dir, "/runs/", run.run_id);
  const std::string repo_root = run.repo_root;
  const std::string base = run.base;
  const std::string test_command = run.config.test_command;
  const std::string run_id = run.run_id;
  const std::string db = run.state_dir + "/swarm.db";
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = MakeSandbox(run.config);
  if (!sandbox.ok()) return absl::FailedPreconditionError(sandbox.status().message());  // exit 3
  int exit_code = 0;
  {
    Coordinator coordinator(std::move(run), std::move(*sandbox), out, err);
    exit_code = coordinator.Run();
  }
  if (access(db.c_str(), F_OK) != 0 || access((run_dir + "/integration.git").c_str(), F_OK) != 0) {
    return RunEndStatus(exit_code);  // it stopped before it was recorded: it said why
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::vector<IssueOutcome>> outcomes =
      ReadIssueOutcomes(**store, run_id, backlog, Git::AtGitDir(run_dir + "/integration.git"), base);
  if (!outcomes.ok()) {
    err << "swarm: cannot read the issues' outcomes: " << outcomes.status().message() << "\n";
    return RunEndStatus(exit_code == kExitOk ? kExitInternal : exit_code);
  }
  BacklogReportContext ctx{.run_id = run_id,
                           .out_dir = backlog.out_dir(),
                           .issues_file = backlog.issues_file(),
                           .test_command = test_command,
                           .exit_code = exit_code,
                           .run_report = ReadText(run_dir + "/report.json", /*whole=*/true)};
  absl::Status written = WritePullRequests(*outcomes, ctx);
  // The reports first, so that a job killed while --on-resolved runs still has them; then again.
  if (written.ok()) written = WriteBacklogReport(*outcomes, ctx);
  bool all_resolved = true;
  for (IssueOutcome& o : *outcomes) {
    if (o.kind == Kind::kSkipped) continue;
    if (o.kind != Kind::kResolved) all_resolved = false;
    if (o.kind != Kind::kResolved || backlog.on_resolved().empty() || !written.ok()) continue;
    // Once per issue and branch head: a resumed run does not publish again what an earlier session of
    // it published (a second `gh pr create` would fail).
    const std::string done = absl::StrCat(run_dir, "/on-resolved/", o.issue.id(), ".done");
    if (ReadText(done) == o.head) continue;
    o.on_resolved_error = OnResolved(backlog.on_resolved(), o, repo_root, ctx.out_dir, user_umask);
    if (!o.on_resolved_error.empty()) {
      all_resolved = false;
    } else if (!WriteDone(done, o.head)) {
      err << "swarm: warning: cannot record that --on-resolved ran for issue " << TerminalSafe(o.issue.id()) << " ("
          << done << "): a resume would run it again\n";
    }
  }
  // A run that finished (0 or 1) is judged by its issues: 0 only when every issue it worked on was
  // resolved and published; a budget, a cancel or an error keeps its own status.
  // The base failing its tests (exit 2 for `swarm run`) is an outcome of every issue here.
  const bool base_failed = std::any_of(outcomes->begin(), outcomes->end(),
                                       [](const IssueOutcome& o) { return o.reason == "base fails its tests"; });
  if (exit_code == kExitOk || exit_code == kExitIncomplete || (exit_code == kExitUsage && base_failed)) {
    exit_code = all_resolved ? kExitOk : kExitIncomplete;
  }
  ctx.exit_code = exit_code;
  if (written.ok()) written = WriteBacklogReport(*outcomes, ctx);
  PrintBacklogSummary(*outcomes, ctx, out);
  if (!written.ok()) {
    err << "swarm: " << written.message() << "\n";
    if (exit_code == kExitOk) exit_code = kExitEnvironment;
  }
  return RunEndStatus(exit_code);
}

}  // namespace swarm
