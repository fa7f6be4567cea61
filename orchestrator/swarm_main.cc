// The swarm command line.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/command_line.h"
#include "base/duration.h"
#include "base/input_file.h"
#include "base/terminal_text.h"
#include "models/model_gateway.h"
#include "models/scripted/scripted_provider.h"
#include "orchestrator/backlog/backlog_command.h"
#include "orchestrator/control/serve.h"
#include "orchestrator/control_client.h"
#include "orchestrator/eval/eval_command.h"
#include "orchestrator/models_command.h"
#include "orchestrator/plan/plan.h"
#include "orchestrator/plan/planner.h"
#include "orchestrator/run/coordinator.h"
#include "orchestrator/run/exit_codes.h"
#include "orchestrator/run/make_sandbox.h"
#include "orchestrator/run/run_setup.h"
#include "orchestrator/run_admin.h"
#include "orchestrator/run_dashboard.h"
#include "orchestrator/run_views.h"
#include "orchestrator/store/store.h"
#include "sandbox/mount_template.h"
#include "sandbox/overlay_mount.h"
#include "swarm/v1/protocol.h"

namespace swarm {
namespace {

// Limits are given in MiB on the command line.
struct LimitFlags {
  unsigned memory_mb = 4096;
  unsigned file_mb = 1024;
};

// One flag of the settings table (run_settings.h); its range is checked with the others by PrepareRun.
template <typename T>
void AddSetting(CLI::App& app, std::string_view flag, T& member, const char* help) {
  if (flag.empty()) return;
  if constexpr (std::is_same_v<T, bool>) {
    app.add_flag(std::string(flag), member, help);
  } else if constexpr (std::is_same_v<T, double>) {
    return;  // --budget-usd is read as text, so that a bad value gets swarm's own message (ParseBudget)
  } else {
    CLI::Option* option = app.add_option(std::string(flag), member, help);
    if constexpr (std::is_same_v<T, std::string>) {
      if (!member.empty()) option->capture_default_str();
    } else {
      option->capture_default_str();
    }
  }
}

// `except`: flags of `swarm run` that another command (`swarm backlog`) does not take.
void AddRunFlags(CLI::App& run, RunConfig& c, LimitFlags& limits, const std::set<std::string_view>& except = {}) {
#define SWARM_RUN_FLAG(type, name, value, flag, lowest, highest, help) \
  if (!except.count(flag)) AddSetting(run, flag, c.name, help);
  SWARM_RUN_SETTINGS(SWARM_RUN_FLAG)
#undef SWARM_RUN_FLAG
  run.add_flag("--dry-run", c.dry_run,
               except.empty() ? "print the subtasks and groups; start nothing"
                              : "print the issues and their lanes; start nothing");
  run.add_option("--sandbox-env", c.sandbox_env, "pass NAME (or NAME=VALUE) into the sandbox (repeatable)");
  run.add_option("--sandbox-ro-bind", c.sandbox_ro_binds, "make PATH visible read-only in the sandbox (repeatable)");
  run.add_option("--allow-path", c.allow_paths,
                 "let patches change paths matching GLOB although protected (CI files, .gitattributes...; repeatable)");
  run.add_option("--memory-limit-mb", limits.memory_mb, "memory per sandboxed command, MiB (0: none)")
      ->capture_default_str()->check(CLI::Range(0u, 1u << 24));
  run.add_option("--max-processes", c.limits.max_processes, "processes per sandboxed command (0: none)")
      ->capture_default_str()->check(CLI::Range(0u, 1u << 22));
  run.add_option("--max-file-mb", limits.file_mb, "largest file a sandboxed command may write, MiB (0: none)")
      ->capture_default_str()->check(CLI::Range(0u, 1u << 24));
}

// How a client proves itself to a server: never a token in argv (other users see it in ps).
void AddConnectionFlags(CLI::App& app, ServerConnection& server) {
  app.add_option("--token-file", server.token_file,
                 "with --server: the file holding the server's token (default: $SWARM_TOKEN, else the "
                 "control.token beside a unix: socket)");
  app.add_option("--tls-ca", server.tls_ca, "with --server HOST:PORT: TLS, trusting the CA in this PEM file");
}

// --budget-usd is read as text so that a bad value gets swarm's own message.
absl::Status ParseBudget(const std::string& text, double& out, const char* flag = "--budget-usd") {
  if (text.empty()) return absl::OkStatus();
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !std::isfinite(value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " must be a positive number of dollars, not \"", TerminalSafe(text), "\""));
  }
  out = value;
  return absl::OkStatus();
}

void PrintDryRun(const PreparedRun& run) {
  std::cout << "base " << run.base << "\n" << run.plan.subtasks.size() << " subtasks:\n";
  for (const auto& s : run.plan.subtasks) {
    std::cout << "  " << s.id() << "  " << swarm::TerminalSafe(s.title());
    if (!s.group().empty()) std::cout << "  [group " << swarm::TerminalSafe(s.group()) << "]";
    if (s.depends_on_size() > 0) {
      std::cout << "  after";
      for (const auto& d : s.depends_on()) std::cout << " " << d;
    }
    std::cout << "\n";
    for (const auto& f : s.files()) std::cout << "      " << swarm::TerminalSafe(f) << "\n";
  }
  for (const auto& [name, g] : run.plan.groups) {
    std::cout << "group " << swarm::TerminalSafe(name) << (g.partial ? " (partial)" : " (atomic)") << ": " << g.members.size()
              << " subtasks land together\n";
  }
  for (const auto& f : run.config.agent_files) {
    std::cout << "agents see " << swarm::TerminalSafe(f.source) << " read-only at " << swarm::TerminalSafe(f.dest)
              << (f.dest[0] == '/' ? "" : " in their workspace") << "\n";
  }
}

// Runs a prepared (or resumed) run to its end with a coordinator in this process; its ending as a
// Status (the coordinator has said why on its output).
// With `dashboard` (an address), the web dashboard is served while it runs.
absl::Status Coordinate(PreparedRun run, const std::string& dashboard = "") {
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox = MakeSandbox(run.config);
  if (!sandbox.ok()) return absl::FailedPreconditionError(sandbox.status().message());  // exit 3
  std::unique_ptr<RunDashboard> served;
  CoordinatorOptions options;
  if (!dashboard.empty()) {
    absl::StatusOr<std::unique_ptr<RunDashboard>> started =
        RunDashboard::Start(dashboard, run.state_dir, run.run_id, std::cerr);
    if (!started.ok()) return started.status();
    served = std::move(*started);
    options.on_live = [d = served.get()](const v1::Event& e) { d->Publish(e); };
  }
  Coordinator coordinator(std::move(run), std::move(*sandbox), std::cout, std::cerr, options);
  // The page's cancel reaches the coordinator while it exists, and never after.
  struct Served {
    RunDashboard* dashboard;
    ~Served() {
      if (dashboard != nullptr) dashboard->SetCoordinator(nullptr);
    }
  } unset_on_exit{served.get()};
  if (served) served->SetCoordinator(&coordinator);
  return RunEndStatus(coordinator.Run());
}

// The one place a command's result becomes the process's exit status: an error's message, if it has
// one, goes to stderr once.
int Exit(const absl::Status& status) {
  if (!status.ok() && !status.message().empty()) std::cerr << "swarm: " << status.message() << "\n";
  return ExitCodeFor(status);
}

absl::StatusOr<std::string> ReadTaskFile(const std::string& path) {
  absl::StatusOr<std::string> text = swarm::ReadInputFile(path, "the task file");
  if (!text.ok()) return text.status();
  if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("the task file ", path, " is empty"));
  }
  return text;
}

// --dry-run --task: plans the task (spending the planner's calls), prints the plan and what the run
// would cost by a rough estimate, and starts nothing.
absl::Status DryRunTask(PreparedRun& run) {
  GatewayOptions options;
  options.budget_usd = run.config.budget_usd;
  absl::StatusOr<std::unique_ptr<ModelGateway>> gateway = ModelGateway::Start(*run.model, options);
  if (!gateway.ok()) return gateway.status();
  std::vector<CallRecord> calls;
  PlannerInput input{run.config.task, run.config.test_command, RepositoryMap(*run.user, run.base)};
  absl::StatusOr<PlannerResult> planned = PlanTask(**gateway, input, &calls);
  if (!planned.ok()) return BudgetEnds(planned.status());
  run.plan = std::move(planned->plan);
  PrintDryRun(run);
  // Rough: ten model calls a subtask, each with about 8000 prompt tokens (most of them cached after the
  // first) and 600 out. The budget, not this estimate, is what holds.
  const ModelInfo& m = run.model->info;
  const double per_call = (3000 * m.input_usd + 5000 * m.cached_input_usd + 600 * m.output_usd) / 1e6;
  const double estimate = static_cast<double>(run.plan.subtasks.size()) * 10 * per_call;
  std::cout << absl::StrFormat("planning cost $%.4f; estimated cost of the run $%.2f (about 10 model calls a subtask)\n",
                               planned->cost_usd, estimate);
  return absl::OkStatus();
}

// --save-plan FILE: the plan in the --plan format, written whole (a temporary file renamed over it).
absl::Status SavePlan(const Plan& plan, const std::string& path) {
  const std::string temporary = absl::StrCat(path, ".swarm-", getpid(), ".tmp");
  std::ofstream out(temporary, std::ios::trunc);
  out << PlanToJson(plan) << "\n";
  out.close();
  if (!out || rename(temporary.c_str(), path.c_str()) != 0) {
    std::error_code ec;
    std::filesystem::remove(temporary, ec);
    return absl::PermissionDeniedError(absl::StrCat("--save-plan: cannot write ", TerminalSafe(path), ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status RunCommand(const RunConfig& config, const std::string& save_plan, const std::string& dashboard) {
  absl::StatusOr<PreparedRun> run = PrepareRun(config);
  if (!run.ok()) return run.status();
  if (config.dry_run) {
    for (const auto& w : run->warnings) std::cerr << "swarm: warning: " << w << "\n";
    absl::Status status = absl::OkStatus();
    if (run->plan.subtasks.empty() && !config.task.empty()) {
      status = DryRunTask(*run);
    } else {
      PrintDryRun(*run);
    }
    if (status.ok() && !save_plan.empty()) {
      if (absl::Status st = SavePlan(run->plan, save_plan); !st.ok()) return st;
      std::cout << "plan written to " << TerminalSafe(save_plan) << "; run exactly it with --plan "
                << TerminalSafe(save_plan) << "\n";
    }
    return status;
  }
  return Coordinate(std::move(*run), dashboard);
}

absl::Status ResumeCommand(const std::string& state_dir, const std::string& run_id, bool json, double budget_usd,
                           mode_t user_umask, const std::string& dashboard) {
  absl::StatusOr<PreparedRun> run = PrepareResume(state_dir, run_id, /*locked_by_us=*/false, budget_usd);
  if (!run.ok()) return run.status();
  run->config.json = run->config.json || json;
  if (run->config.backlog.issues_size() > 0) {
    if (!dashboard.empty())
      return absl::InvalidArgumentError("--dashboard is not for a backlog yet: swarm serve --http");
    return RunBacklog(std::move(*run), user_umask, std::cout, std::cerr);
  }
  return Coordinate(std::move(*run), dashboard);
}

// Opens the store of `state_dir` for reading; NotFound when no run was ever made there.
absl::StatusOr<std::unique_ptr<Store>> OpenExisting(std::string state_dir) {
  if (state_dir.empty()) state_dir = DefaultStateDir();
  std::string db = state_dir + "/swarm.db";
  if (access(db.c_str(), F_OK) != 0) return absl::NotFoundError(absl::StrCat("no runs in ", state_dir));
  return Store::Open(db);
}

absl::Status Inspect(const std::string& state_dir, const std::function<absl::Status(const Store&)>& view) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenExisting(state_dir);
  return store.ok() ? view(**store) : store.status();
}

}  // namespace
}  // namespace swarm

int main(int argc, char** argv) {
  // Everything swarm writes (state, logs, workspaces, test copies) is private to its user; what runs
  // in the user's environment (--on-resolved) gets the user's umask back.
  const mode_t user_umask = umask(077);
  swarm::InstallScriptedModelServer();  // the `scripted:` provider: the offline demo and tests
  const std::vector<std::string> args(argv + 1, argv + argc);
  CLI::App app{"swarm: many agents, one tested branch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", swarm::VersionLine("swarm", swarm::SwarmVersion()),
                       "print swarm's version (and the protocol its hosts must speak) and exit");
  app.footer(
      "Exit status: 0 every subtask landed (or needed no change); 1 the run finished and some did not land;\n"
      "2 usage or bad input (nothing changed); 3 something this machine lacks (bubblewrap, git, a key);\n"
      "4 stopped on its budget; 5 cancelled (swarm cancel, SIGTERM); 130 interrupted (Ctrl-C); 70 a bug in swarm.\n"
      "State directory: --state-dir, else $SWARM_STATE_DIR, else $XDG_STATE_HOME/swarm, else\n"
      "~/.local/state/swarm.\n"
      "`swarm help COMMAND` (or `swarm COMMAND --help`) shows a command's flags.");
  CLI::App* help = app.add_subcommand("help", "show the commands, or one command's flags");
  std::string help_topic;
  help->add_option("command", help_topic, "the command");
  swarm::RunConfig config;
  swarm::LimitFlags limits;
  CLI::App* run = app.add_subcommand("run", "run a swarm on a repository; the result lands on a new branch");
  swarm::AddRunFlags(*run, config, limits);
  std::string task_file;
  run->add_option("--task-file", task_file, "read the task from this file");
  std::string save_plan;
  run->add_option("--save-plan", save_plan,
                  "with --dry-run: write the plan to FILE (the --plan format), to review, edit, and run with --plan FILE");
  std::string budget_text;
  run->add_option("--budget-usd", budget_text, "stop the run when its model spending would pass this many dollars");
  std::string dashboard;
  CLI::Option* dashboard_flag =
      run->add_option("--dashboard", dashboard,
                      "serve the web dashboard while the run runs, on ADDR (default 127.0.0.1:0, a free port); it "
                      "prints the URL")
          ->expected(0, 1)
          ->type_name("[ADDR]");
  swarm::RunConfig backlog_config;
  swarm::LimitFlags backlog_limits;
  swarm::BacklogOptions backlog_options;
  std::string backlog_budget;
  CLI::App* backlog = app.add_subcommand(
      "backlog", "work on many issues at once, one lane each: a branch and a pull request body per resolved issue");
  swarm::AddRunFlags(*backlog, backlog_config, backlog_limits,
                     {"--plan", "--task", "--shard", "--parts", "--independent", "--branch", "--json"});
  backlog
      ->add_option("--issues", backlog_options.issues_file,
                   "the issues: what `gh issue list --json number,title,body,labels,url` or `glab issue list "
                   "--output json` prints, or JSON lines of {\"id\", \"title\", \"body\"}")
      ->required();
  backlog->add_option("--label", backlog_options.label, "only the issues with this label");
  backlog->add_option("--max-issues", backlog_options.max_issues, "work on at most this many issues (0: all)")
      ->check(CLI::Range(0, 1000000));
  backlog->add_flag("--no-plan", backlog_options.no_plan,
                    "each issue is one subtask (else, with --model, the model plans each issue as the run starts)");
  backlog
      ->add_option("--max-agents-per-issue", backlog_options.max_agents_per_issue,
                   "agents one issue may hold at once (default: --agents divided by the issues, at least 1)")
      ->check(CLI::Range(0, 1000000));
  backlog->add_flag("--redo", backlog_options.redo, "work on issues whose branch swarm/issue-ID exists too (it moves)");
  backlog->add_option("--out", backlog_options.out_dir,
                      "where report.json, junit.xml, summary.md and pr/ID.md go (default: the run's directory)");
  backlog->add_option("--on-resolved", backlog_options.on_resolved,
                      "run this (sh -c, in the repository, outside the sandbox) once per resolved issue, with "
                      "SWARM_ISSUE_ID, SWARM_ISSUE_URL, SWARM_ISSUE_TITLE, SWARM_BRANCH and SWARM_PR_BODY: git push, "
                      "gh pr create");
  backlog->add_option("--budget-usd", backlog_budget, "stop when the model spending of all issues would pass this");
  std::string per_issue_budget;
  backlog->add_option("--budget-per-issue-usd", per_issue_budget,
                      "an issue whose model spending would pass this ends unresolved (budget); the others go on");
  bool require_test = false, no_require_test = false;
  backlog->add_flag("--require-test", require_test,
                    "a fix must bring a test that fails without it and passes with it (default with a per-test "
                    "--test-format)");
  backlog->add_flag("--no-require-test", no_require_test, "land fixes without a test that reproduces the issue");
  backlog->add_option("--test-glob", backlog_options.test_globs,
                      "what a test file is called, for --require-test (repeatable; default: test_*.py *_test.go "
                      "*.test.js tests/* ... per language)");
  swarm::EvalOptions eval_options;
  CLI::App* eval = app.add_subcommand(
      "eval", "grade patches on SWE-bench's instances as SWE-bench grades them (gold, empty, or predictions)");
  eval->add_option("--instances", eval_options.instances_file,
                   "SWE-bench's instances: JSON lines or a JSON array (instance_id, repo, base_commit, ...)")
      ->required();
  eval->add_option("--repos-dir", eval_options.repos_dir,
                   "local clones, one per repository: DIR/owner/name or DIR/owner__name")
      ->required();
  eval->add_option("--spec", eval_options.spec_file,
                   "each repository's test command and environment (TOML, docs/eval.md)")
      ->required();
  eval->add_option("--model", eval_options.model,
                   "gold (the instances' own patches: all must resolve) or empty (no patch: none may)");
  eval->add_option("--predictions", eval_options.predictions_file,
                   "grade these patches instead (SWE-bench's predictions JSONL: instance_id, model_patch)");
  eval->add_option("--instance", eval_options.instance_ids, "only this instance (repeatable)");
  eval->add_option("--workers", eval_options.workers, "grade this many instances at once")->capture_default_str();
  eval->add_option("--out", eval_options.out_dir,
                   "write report.json, predictions.jsonl and logs/ here (default: <state dir>/evals/<id>)");
  eval->add_option("--state-dir", eval_options.state_dir, "where swarm keeps its state");
  eval->add_flag("--keep-checkouts", eval_options.keep_checkouts, "leave each graded tree in <out>/work/<instance>");
  eval->add_flag("--resume", eval_options.resume,
                 "with --out DIR of an interrupted eval: keep what it graded (same --model or predictions) and grade "
                 "the rest");
  swarm::ServerConnection server;
  run->add_option("--server", server.address,
                  "run on a swarm serve at ADDR (unix:/path or host:port; default $SWARM_SERVER)");
  swarm::AddConnectionFlags(*run, server);
  swarm::ServeOptions serve_options;
  CLI::App* serve = app.add_subcommand("serve", "host runs for clients (swarm run --server) until SIGINT or SIGTERM");
  serve->add_option("--socket", serve_options.socket, "the Unix socket to listen on (default: <state dir>/control.sock)");
  serve->add_option("--listen", serve_options.listen,
                    "also listen on HOST:PORT (loopback only, unless TLS: --tls-cert and --tls-key)");
  serve->add_option("--state-dir", serve_options.state_dir, "where runs are kept");
  serve->add_option("--token-file", serve_options.token_file,
                    "the token clients must send (a 0600 file); default: a fresh one in <state dir>/control.token");
  serve->add_option("--http", serve_options.http,
                    "also serve Prometheus metrics at http://HOST:PORT/metrics (loopback only, unless TLS)");
  serve->add_option("--tls-cert", serve_options.tls_cert,
                    "TLS on --listen and --http: the server's certificate chain (PEM)");
  serve->add_option("--tls-key", serve_options.tls_key, "TLS on --listen and --http: the server's private key (PEM)");
  serve->add_option("--allow-repo-root", serve_options.allow_repo_roots,
                    "clients' runs may use repositories within DIR (repeatable); none given: every run is refused");
  serve->add_option("--allow-ro-bind", serve_options.allow_ro_binds,
                    "clients' runs may ask for --sandbox-ro-bind of PATH or inside it (repeatable; default: none)");
  serve->add_option("--allow-sandbox-env", serve_options.allow_sandbox_env,
                    "clients' runs may set the sandbox variable NAME (repeatable; default: none)");
  swarm::WatchOptions watch_options;
  CLI::App* watch = app.add_subcommand("watch", "print a run's events as they come, until it ends; exit with its status");
  watch->add_option("run", watch_options.run_id, "the run id")->required();
  watch->add_option("--from", watch_options.from_seq, "print only events after this sequence number");
  watch->add_flag("--json", watch_options.json, "print events as JSON lines");
  watch->add_option("--server", watch_options.server.address,
                    "ask a swarm serve at ADDR instead of reading the state directory");
  swarm::AddConnectionFlags(*watch, watch_options.server);
  watch->add_option("--state-dir", watch_options.state_dir, "where runs are kept");
  CLI::App* models = app.add_subcommand("models", "list the configured model providers and models");
  std::string models_repo = ".";
  models->add_option("--repo", models_repo, "the repository whose .swarm/models.toml counts")->capture_default_str();
  CLI::App* models_check = models->add_subcommand("check", "send one small request to a model and show the answer");
  std::string check_ref, check_base_url;
  models_check->add_option("model", check_ref, "PROVIDER:MODEL")->required();
  models_check->add_option("--base-url", check_base_url, "send the request here instead");
  models_check->add_option("--repo", models_repo, "the repository whose .swarm/models.toml counts");
  std::string state_dir, run_id, subtask_id;
  CLI::App* runs = app.add_subcommand("runs", "list the runs in the state directory, newest first");
  CLI::App* show = app.add_subcommand("show", "show a run subtask by subtask: attempts, agents, outcome, logs");
  CLI::App* logs = app.add_subcommand("logs", "print the logs of a run, or of one of its subtasks");
  for (CLI::App* sub : {runs, show, logs}) {
    sub->add_option("--state-dir", state_dir, "where runs are kept (default: $SWARM_STATE_DIR or $XDG_STATE_HOME/swarm)");
  }
  CLI::App* resume = app.add_subcommand("resume", "continue a run whose coordinator died or was cancelled");
  CLI::App* cancel = app.add_subcommand("cancel", "stop a run: agents stop, what landed stays (exit 5 for the run)");
  CLI::App* rm = app.add_subcommand("rm", "remove a run that is not running: its logs, private repository, records");
  CLI::App* gc = app.add_subcommand("gc", "remove logs, workspaces and private repositories of finished runs");
  for (CLI::App* sub : {resume, cancel, rm, gc}) {
    sub->add_option("--state-dir", state_dir, "where runs are kept (default: $SWARM_STATE_DIR or $XDG_STATE_HOME/swarm)");
  }
  bool resume_json = false;
  resume->add_option("run", run_id, "the run id")->required();
  resume->add_flag("--json", resume_json, "print the run's events as JSON lines instead of progress");
  std::string resume_dashboard;
  CLI::Option* resume_dashboard_flag =
      resume
          ->add_option("--dashboard", resume_dashboard, "serve the web dashboard while it runs, on ADDR (as swarm run)")
          ->expected(0, 1)
          ->type_name("[ADDR]");
  std::string resume_budget;
  resume->add_option("--budget-usd", resume_budget, "a larger budget for a run that stopped on its budget");
  std::string cancel_reason = "cancelled by swarm cancel";
  int cancel_wait_s = 60;
  cancel->add_option("run", run_id, "the run id")->required();
  cancel->add_option("--reason", cancel_reason, "recorded with the cancellation");
  swarm::ServerConnection cancel_server;
  cancel->add_option("--server", cancel_server.address, "a served run: the server's address (default: $SWARM_SERVER)");
  swarm::AddConnectionFlags(*cancel, cancel_server);
  cancel->add_option("--wait", cancel_wait_s, "seconds to wait for a live coordinator to stop")->capture_default_str();
  std::string gc_older_than = "1d";
  bool gc_dry_run = false;
  gc->add_option("--older-than", gc_older_than, "only runs that finished at least this long ago (90s, 30m, 12h, 7d, 2w; 0: all)")
      ->capture_default_str();
  gc->add_flag("--dry-run", gc_dry_run, "say what would be removed; remove nothing");
  rm->add_option("run", run_id, "the run id")->required();
  bool rm_force = false;
  rm->add_flag("--force", rm_force, "remove an unfinished run, or one whose landed work is on no branch");
  show->add_option("run", run_id, "the run id")->required();
  bool show_queue = false;
  show->add_flag("--queue", show_queue, "the merge stage's history: queued, tested, landed, rejected");
  std::string transcript;
  show->add_option("--transcript", transcript, "every model request and reply of this subtask (or of the planner: planner)");
  logs->add_option("run", run_id, "the run id")->required();
  logs->add_option("subtask", subtask_id, "only this subtask's logs");
  bool follow = false;
  logs->add_flag("-f,--follow", follow,
                 "with SUBTASK: then its running attempt's output as it is written, until the subtask is done");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {  // --version among other arguments
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return swarm::Exit(absl::InvalidArgumentError(swarm::ParseErrorInWords(e, app, "swarm", args)));
  }
  if (help->parsed()) {
    if (help_topic.empty()) {
      // app.help() would show the selected subcommand's (help's own): the formatter shows swarm's.
      std::cout << app.get_formatter()->make_help(&app, "swarm", CLI::AppFormatMode::Normal);
      return swarm::Exit(absl::OkStatus());
    }
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == help_topic) {
        std::cout << sub->help();
        return swarm::Exit(absl::OkStatus());
      }
    }
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
    const std::string near = swarm::Nearest(help_topic, names);
    return swarm::Exit(absl::InvalidArgumentError(absl::StrCat(
        "no command \"", help_topic, "\"", near.empty() ? "" : "; did you mean `swarm help " + near + "`?")));
  }
  // A coordinator's test runs get their trees as overlays, mounted in a namespace of this process's
  // own: entered here, before any thread starts (a namespace is per thread). Not root: a user
  // namespace of its own too, where each test run's full checkout is a capped tmpfs. Not allowed:
  // full checkouts, uncapped, and the run says so.
  const bool coordinates = (run->parsed() && server.address.empty() && !config.dry_run) || resume->parsed() ||
                           serve->parsed() || (backlog->parsed() && !backlog_config.dry_run);
  if (coordinates && geteuid() == 0) {
    swarm::EnterPrivateMountNamespace().IgnoreError();  // the run's note says what test runs get instead
  } else if (coordinates) {
    if (absl::Status st = swarm::EnterUserAndMountNamespace(); absl::IsInternal(st)) {
      return swarm::Exit(st);
    }  // otherwise the run's note says why test runs are not capped
  }
  // Test runs' sandboxes start from a copy of the namespace as it is now, before any test tree is
  // mounted; where that cannot be, they start in this one (which works, at a cost per tree mounted).
  if (coordinates && swarm::InPrivateMountNamespace()) {
    if (absl::Status st = swarm::MakeMountTemplate(); !st.ok()) {
      std::cerr << "swarm: note: test runs start in the coordinator's own mount namespace (" << st.message() << ")\n";
    }
  }
  config.limits.memory_bytes = static_cast<std::uint64_t>(limits.memory_mb) << 20;
  config.limits.max_file_bytes = static_cast<std::uint64_t>(limits.file_mb) << 20;
  if (run->parsed()) {
    if (absl::Status st = swarm::ParseBudget(budget_text, config.budget_usd); !st.ok()) return swarm::Exit(st);
    if (!task_file.empty()) {
      absl::StatusOr<std::string> task = swarm::ReadTaskFile(task_file);
      if (!task.ok()) return swarm::Exit(task.status());
      config.task = *task;
    }
    // --dry-run starts nothing, so it needs no server.
    server.address = swarm::ServerAddress(server.address);
    if (!save_plan.empty() && !config.dry_run) {
      return swarm::Exit(
          absl::InvalidArgumentError("--save-plan goes with --dry-run (which plans and starts nothing)"));
    }
    if (dashboard_flag->count() > 0 && dashboard.empty()) dashboard = swarm::kDefaultDashboardAddress;
    if (!dashboard.empty()) {
      if (absl::Status st = swarm::RunDashboard::CheckAddress(dashboard); !st.ok()) return swarm::Exit(st);
    }
    if (!dashboard.empty() && (config.dry_run || !server.address.empty())) {
      return swarm::Exit(absl::InvalidArgumentError(
          config.dry_run ? "--dashboard shows a run; --dry-run starts none"
                         : "--dashboard serves a run of this process; a served run's dashboard is its server's "
                           "(swarm serve --http ADDR)"));
    }
    if (server.address.empty() || config.dry_run) {
      config.show_command_files = true;  // this machine's files, for this machine's agents
      return swarm::Exit(swarm::RunCommand(config, save_plan, dashboard));
    }
    // The server checks them too, but names its fields; a user here knows the flags.
    if (absl::Status st = swarm::CheckSettings(config, swarm::SettingNames::kFlags); !st.ok()) return swarm::Exit(st);
    return swarm::Exit(swarm::RunOnServer(server, config, std::cout, std::cerr));
  }
  if (backlog->parsed()) {
    backlog_config.limits.memory_bytes = static_cast<std::uint64_t>(backlog_limits.memory_mb) << 20;
    backlog_config.limits.max_file_bytes = static_cast<std::uint64_t>(backlog_limits.file_mb) << 20;
    if (absl::Status st = swarm::ParseBudget(backlog_budget, backlog_config.budget_usd); !st.ok()) {
      return swarm::Exit(st);
    }
    if (absl::Status st =
            swarm::ParseBudget(per_issue_budget, backlog_options.budget_per_issue_usd, "--budget-per-issue-usd");
        !st.ok()) {
      return swarm::Exit(st);
    }
    if (require_test && no_require_test) {
      return swarm::Exit(absl::InvalidArgumentError("give --require-test or --no-require-test, not both"));
    }
    backlog_options.require_test = require_test ? 1 : no_require_test ? 0 : -1;
    backlog_config.show_command_files = true;
    return swarm::Exit(swarm::BacklogCommand(backlog_config, backlog_options, user_umask, std::cout, std::cerr));
  }
  if (eval->parsed()) return swarm::Exit(swarm::EvalCommand(eval_options, std::cout, std::cerr));
  if (models_check->parsed()) return swarm::Exit(swarm::CheckModel(check_ref, check_base_url, models_repo, std::cout));
  if (models->parsed()) return swarm::Exit(swarm::ListModels(models_repo, std::cout));
  if (serve->parsed()) return swarm::Exit(swarm::Serve(serve_options, std::cout));
  if (watch->parsed()) {
    watch_options.server.address = swarm::ServerAddress(watch_options.server.address);
    return swarm::Exit(swarm::WatchRun(watch_options, std::cout));
  }
  if (resume->parsed()) {
    double budget = 0;
    if (absl::Status st = swarm::ParseBudget(resume_budget, budget); !st.ok()) return swarm::Exit(st);
    if (resume_dashboard_flag->count() > 0 && resume_dashboard.empty()) {
      resume_dashboard = swarm::kDefaultDashboardAddress;
    }
    if (!resume_dashboard.empty()) {
      if (absl::Status st = swarm::RunDashboard::CheckAddress(resume_dashboard); !st.ok()) return swarm::Exit(st);
    }
    return swarm::Exit(swarm::ResumeCommand(state_dir, run_id, resume_json, budget, user_umask, resume_dashboard));
  }
  std::string dir = state_dir.empty() ? swarm::DefaultStateDir() : state_dir;
  if (cancel->parsed()) {
    if (cancel_server.address = swarm::ServerAddress(cancel_server.address); !cancel_server.address.empty()) {
      absl::Status st = swarm::CancelOnServer(cancel_server, run_id, cancel_reason);
      if (st.ok()) std::cout << "swarm: run " << run_id << " cancelled on " << cancel_server.address << "\n";
      return swarm::Exit(st);
    }
    return swarm::Exit(
        swarm::CancelRun(dir, run_id, cancel_reason, std::chrono::seconds(cancel_wait_s), std::cout));
  }
  if (rm->parsed()) return swarm::Exit(swarm::RemoveRun(dir, run_id, rm_force, std::cout));
  if (gc->parsed()) {
    absl::StatusOr<std::chrono::seconds> older_than = swarm::ParseDuration(gc_older_than, "--older-than");
    if (!older_than.ok()) return swarm::Exit(older_than.status());
    return swarm::Exit(swarm::CollectGarbage(dir, {*older_than, gc_older_than, gc_dry_run}, std::cout));
  }
  if (runs->parsed()) {
    if (absl::StatusOr<std::unique_ptr<swarm::Store>> store = swarm::OpenExisting(state_dir); absl::IsNotFound(store.status())) {
      std::cout << store.status().message() << "\n";  // "no runs in DIR": not an error
      return swarm::Exit(absl::OkStatus());
    }
    return swarm::Exit(swarm::Inspect(state_dir, [](const swarm::Store& s) { return swarm::PrintRuns(s, std::cout); }));
  }
  if (show->parsed()) {
    return swarm::Exit(swarm::Inspect(state_dir, [&](const swarm::Store& s) {
      if (!transcript.empty()) return swarm::PrintTranscript(s, run_id, transcript, std::cout);
      return show_queue ? swarm::PrintQueue(s, run_id, std::cout) : swarm::PrintRun(s, run_id, std::cout);
    }));
  }
  if (logs->parsed()) {
    if (follow && subtask_id.empty()) {
      return swarm::Exit(absl::InvalidArgumentError("--follow needs a SUBTASK: swarm logs RUN SUBTASK --follow"));
    }
    return swarm::Exit(swarm::Inspect(state_dir, [&](const swarm::Store& s) {
      return follow ? swarm::FollowLogs(s, run_id, subtask_id, std::cout)
                    : swarm::PrintLogs(s, run_id, subtask_id, std::cout);
    }));
  }
  return swarm::Exit(absl::InvalidArgumentError(""));  // not reached: CLI11 requires a command
}
