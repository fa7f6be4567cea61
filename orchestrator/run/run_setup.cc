#include "orchestrator/run/run_setup.h"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <random>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/command_line.h"
#include "base/duration.h"
#include "base/file_limit.h"
#include "base/input_file.h"
#include "base/terminal_text.h"
#include "base/utf8.h"
#include "orchestrator/plan/issue_planner.h"
#include "orchestrator/plan/shard_planner.h"
#include "orchestrator/run/agent_command_files.h"
#include "orchestrator/run/bind_check.h"
#include "orchestrator/run/path_policy.h"
#include "orchestrator/run/unpublished_work.h"
#include "orchestrator/store/run_lock.h"
#include "orchestrator/store/store.h"
#include "sandbox/process.h"
#include "swarm/v1/protocol.h"
#include "test_results/test_results.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

absl::Status Usage(const std::string& what) { return absl::InvalidArgumentError(what); }

std::string SelfDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : self.parent_path().string();
}

absl::Status CheckStateDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "runs", ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("state directory ", dir, " cannot be created: ", ec.message()));
  std::string probe = absl::StrCat(dir, "/.swarm-write-probe-", getpid());
  {
    std::ofstream f(probe);
    f << "x";
    if (!f.good()) return absl::PermissionDeniedError(absl::StrCat("state directory ", dir, " is not writable"));
  }
  fs::remove(probe, ec);
  return absl::OkStatus();
}

// Lanes come from a backlog's issues: each subtask's lane must be one of them (and then carries its
// issue to the agent); a run of one lane has none.
absl::Status FillLanes(Plan& plan, const v1::Backlog& backlog, const std::string& source) {
  std::map<std::string, const v1::Issue*> issues;
  for (const v1::Issue& issue : backlog.issues()) issues[issue.id()] = &issue;
  for (v1::Subtask& s : plan.subtasks) {
    if (s.lane().empty() && issues.empty()) continue;
    auto it = issues.find(s.lane());
    if (it == issues.end()) {
      return Usage(absl::StrCat(
          source, ": subtask \"", s.id(), "\"", s.lane().empty() ? " has no lane" : " names lane \"" + s.lane() + "\"",
          issues.empty() ? ": lanes come from `swarm backlog`'s issues" : ", which is none of the backlog's issues"));
    }
    *s.mutable_issue() = *it->second;
  }
  return absl::OkStatus();
}

}  // namespace

std::string DefaultStateDir() {
  if (const char* d = getenv("SWARM_STATE_DIR"); d != nullptr && *d != '\0') return d;
  if (const char* d = getenv("XDG_STATE_HOME"); d != nullptr && *d == '/') return absl::StrCat(d, "/swarm");
  const char* home = getenv("HOME");
  return absl::StrCat(home != nullptr ? home : "/tmp", "/.local/state/swarm");
}

std::string NewRunId() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  char suffix[8];
  snprintf(suffix, sizeof suffix, "%04x", rd() & 0xffff);
  return absl::StrCat(stamp, "-", suffix);
}

// What `binary --version` says, trimmed; empty when it says nothing.
std::string VersionOf(const std::string& binary) {
  ProcessSpec version;
  version.argv = {binary, "--version"};
  version.timeout = std::chrono::seconds(10);
  absl::StatusOr<ProcessResult> told = RunProcess(version);
  return told.ok() ? std::string(absl::StripTrailingAsciiWhitespace(told->out)) : "";
}

// The swarm-agent a run's hosts run: `given`, else the one beside this swarm, else PATH's. It must be
// this swarm's version: an older one installed on PATH is never taken silently. On `resume`, a stored
// `given` that is gone or of another version gives way to this swarm's own (the hosts must speak this
// swarm's protocol, not the one the run started with).
absl::StatusOr<std::string> FindAgentBinary(const std::string& given, bool resume) {
  // The release and the protocol: two builds of one release whose messages differ are not the same.
  const std::string expected = VersionLine("swarm-agent", SwarmVersion());
  if (!given.empty()) {
    if (access(given.c_str(), X_OK) != 0) {
      if (!resume) return absl::FailedPreconditionError(absl::StrCat("--agent-binary ", given, " is not an executable"));
    } else if (const std::string got = VersionOf(given); got == expected) {
      return given;
    } else if (!resume) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the agent host binary ", given, " is ", got.empty() ? "of an unknown version" : "\"" + got + "\"",
          "; this swarm needs ", expected, ": give the swarm-agent built with it (--agent-binary PATH)"));
    }
  }
  const std::string beside = SelfDir() + "/swarm-agent";
  const std::string binary = access(beside.c_str(), X_OK) == 0 ? beside : FindInPath("swarm-agent");
  if (binary.empty()) {
    return absl::FailedPreconditionError("the agent host binary swarm-agent was not found beside swarm or in PATH");
  }
  if (const std::string got = VersionOf(binary); got != expected) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the agent host binary ", binary, " is ", got.empty() ? "of an unknown version" : "\"" + got + "\"",
        "; this swarm needs ", expected, ": install the swarm-agent built with it beside swarm, or give it with "
        "--agent-binary PATH"));
  }
  return binary;
}

// The run's model, when it has one, resolved against the models config files and the environment.
absl::Status ResolveRunModel(PreparedRun& run, SettingNames names) {
  const RunConfig& c = run.config;
  auto name = [names](std::string_view field) { return SettingName(field, names); };
  if (c.model.empty()) {
    if (!c.base_url.empty()) return Usage(absl::StrCat(name("base_url"), " goes with ", name("model")));
    if (c.budget_usd != 0) return Usage(absl::StrCat(name("budget_usd"), " goes with ", name("model")));
    if (c.backlog.budget_per_issue_usd() != 0) return Usage("--budget-per-issue-usd goes with --model");
    return absl::OkStatus();
  }
  absl::StatusOr<ModelsConfig> models = LoadModelsConfig(run.repo_root);
  if (!models.ok()) return models.status();
  absl::StatusOr<ResolvedModel> model = ResolveModel(*models, c.model, c.base_url, [](const char* n) { return getenv(n); });
  if (!model.ok()) return model.status();
  if ((c.budget_usd > 0 || models->per_subtask_usd > 0 || c.backlog.budget_per_issue_usd() > 0) &&
      !model->info.priced) {
    return Usage(absl::StrCat("a budget needs prices and ", c.model, " has none: set them in a models.toml"));
  }
  for (const auto& var : c.sandbox_env) {
    if (!model->provider.key_env.empty() && var.substr(0, var.find('=')) == model->provider.key_env) {
      return Usage(absl::StrCat(name("sandbox_env"), " ", model->provider.key_env,
                                ": the model's key stays in the coordinator; agents reach the model through it"));
    }
  }
  run.config.model = model->ref;  // a script's path made absolute
  // The limiter follows the fleet unless a file set it; a 429 halves it from there.
  const bool fixed = model->provider.concurrency > 0;
  model->provider.concurrency = EffectiveConcurrency(model->provider, c.agents);
  if (model->provider.concurrency * 10 < c.agents) {
    run.warnings.push_back(absl::StrCat(
        "the model allows ", model->provider.concurrency, " requests in flight (",
        fixed ? absl::StrCat("concurrency in ", model->provider.origin)
              : absl::StrCat("the published limit of ", model->provider.name),
        "), under a tenth of ", name("agents"), " ", c.agents, ": most agents will wait for the model; raise it with "
        "concurrency under [providers.", model->provider.name, "] in your models.toml"));
  }
  run.model = std::move(*model);
  run.per_subtask_usd = models->per_subtask_usd;
  return absl::OkStatus();
}

absl::StatusOr<PreparedRun> PrepareRun(const RunConfig& config, SettingNames names) {
  PreparedRun run;
  auto name = [names](std::string_view field) { return SettingName(field, names); };
  run.config = config;
  if (FindInPath("git").empty()) {
    return absl::FailedPreconditionError("git is not installed: apt-get install git");
  }
  // Numbers first: they need no look at the world.
  if (absl::Status st = CheckSettings(config, names); !st.ok()) return st;
  if (config.agent_hosts > config.agents) {
    return Usage(absl::StrCat(name("agent_hosts"), " must be between 1 and ", name("agents"), " (", config.agents,
                              "), or 0 for one host per 256 agents"));
  }
  if (config.lease_timeout_s <= config.heartbeat_interval_s) {
    return Usage(absl::StrCat(name("lease_timeout_s"), " must be longer than ", name("heartbeat_interval_s")));
  }
  if (config.agent_command.empty() && config.model.empty()) {
    return Usage(absl::StrCat("give ", name("agent_command"), " (the command each agent runs) or ", name("model"),
                              " (LLM agents)"));
  }
  if (config.test_command.empty()) {
    return Usage(absl::StrCat(name("test_command"), " is required: the command that gates every patch"));
  }
  if (!config.max_run_time.empty()) {
    if (absl::StatusOr<std::chrono::seconds> limit = ParseDuration(config.max_run_time, name("max_run_time")); !limit.ok()) {
      return limit.status();
    }
  }
  if (config.model.empty()) {
    // What only a model uses is refused without one, rather than silently meaning nothing. (Not on
    // resume: a run an older swarm accepted goes on as it started.)
    const RunConfig defaults;
    const std::pair<const char*, bool> model_only[] = {
        {"max_steps", config.max_steps != defaults.max_steps},
        {"max_fixups", config.max_fixups != defaults.max_fixups},
        {"max_attempt_tokens", config.max_attempt_tokens != defaults.max_attempt_tokens}};
    for (const auto& [field, set] : model_only) {
      if (set) return Usage(absl::StrCat(name(field), " goes with ", name("model")));
    }
  }
  absl::StatusOr<TestFormat> format = ParseTestFormat(config.test_format);
  if (!format.ok()) return format.status();
  if ((*format == TestFormat::kJunit) != !config.test_report.empty()) {
    return Usage(absl::StrCat(name("test_format"), " junit and ", name("test_report"), " PATH go together"));
  }
  if (!config.test_report.empty() &&
      (config.test_report[0] == '/' || absl::StrContains(config.test_report, "..") || !IsUtf8(config.test_report))) {
    return Usage(absl::StrCat(name("test_report"), " ", ToUtf8(config.test_report),
                              ": give a path inside the repository, relative to its root"));
  }
  for (const auto& glob : config.allow_paths) {
    if (absl::Status st = CheckAllowGlob(glob); !st.ok()) return st;
  }
  if (absl::StatusOr<CommitAuthor> author = ParseAuthor(config.author, config.signoff); !author.ok()) {
    return Usage(absl::StrCat(name("author"), " ", author.status().message()));
  }
  bool has_plan = !config.plan_file.empty() || !config.plan_text.empty(), has_shard = !config.shard_glob.empty();
  if (!config.task.empty() && !config.plan_file.empty()) {
    return Usage(absl::StrCat("give ", name("task"), " or ", name("plan_file"), ", not both"));
  }
  const bool has_task = !config.task.empty() && !has_plan;
  if (static_cast<int>(has_plan) + static_cast<int>(has_shard) + static_cast<int>(has_task) != 1) {
    return Usage(names == SettingNames::kFlags
                     ? "give one of --plan FILE, --shard GLOB --parts K, or --task TEXT (with --model)"
                     : "give one of plan_text, shard_glob with shard_parts, or task (with model)");
  }
  if (has_task && config.model.empty()) {
    return Usage(absl::StrCat(name("task"), " needs ", name("model"), ": the planner is a model"));
  }
  if (has_shard && config.shard_parts <= 0) {
    return Usage(absl::StrCat(name("shard_parts"), " must be a positive number of shards, not ", config.shard_parts));
  }
  if (!has_shard && (config.shard_parts != 0 || config.independent)) {
    return Usage(absl::StrCat(name("shard_parts"), " and ", name("independent"), " go with ", name("shard_glob")));
  }

  // Paths travel in protobuf strings and the sandbox's command line: they must be UTF-8.
  for (const auto& [what, value] : std::vector<std::pair<std::string, std::string>>{
           {name("repo"), config.repo}, {name("state_dir"), config.state_dir.empty() ? DefaultStateDir() : config.state_dir},
           {"HOME", getenv("HOME") != nullptr ? getenv("HOME") : ""}}) {
    if (!IsUtf8(value)) return Usage(absl::StrCat(what, " is not valid UTF-8: ", ToUtf8(value)));
  }
  for (const auto& p : config.sandbox_ro_binds) {
    if (!IsUtf8(p)) return Usage(absl::StrCat(name("sandbox_ro_binds"), " is not valid UTF-8: ", ToUtf8(p)));
  }
  if (!IsUtf8(config.build_cache)) {
    return Usage(absl::StrCat(name("build_cache"), " is not valid UTF-8: ", ToUtf8(config.build_cache)));
  }
  absl::StatusOr<Git> user = Git::Open(config.repo);
  if (!user.ok()) return user.status();
  run.user = *user;
  run.repo_root = user->work_tree().empty() ? user->git_dir() : user->work_tree();
  absl::StatusOr<std::string> base = user->ResolveCommit(config.base_rev);
  if (!base.ok()) {
    return Usage(absl::StrCat(name("base_rev"), " ", config.base_rev, " does not resolve to a commit in ", run.repo_root));
  }
  run.base = *base;
  // The hosts' private repositories, the integration repository's checks and the store all name
  // objects by SHA-1.
  if (run.base.size() != 40) {
    return Usage(absl::StrCat("the repository ", run.repo_root,
                              " names its objects by SHA-256: swarm supports SHA-1 repositories only for now"));
  }
  if (absl::Status st = ResolveRunModel(run, names); !st.ok()) return st;
  if (!config.branch.empty()) {
    // A name git takes for a branch as it is (no @{-1} expansion), and none of the user's: swarm never
    // moves a branch it did not make, and a/b cannot be made beside a branch a (or a/b/c).
    const std::string ref = "refs/heads/" + config.branch;
    absl::StatusOr<ProcessResult> format = user->RunRaw({"check-ref-format", ref});
    if (config.branch[0] == '-' || config.branch == "HEAD" || absl::StrContains(config.branch, "@{") || !format.ok() ||
        format->exit_code != 0) {
      return Usage(absl::StrCat(name("branch"), " ", TerminalSafe(config.branch), " is not a name git takes for a branch"));
    }
    std::vector<std::string> clashes;
    for (std::string prefix = ref; !prefix.empty() && prefix != "refs/heads"; prefix = prefix.substr(0, prefix.rfind('/'))) {
      if (user->RunRaw({"show-ref", "--verify", "--quiet", prefix}).value_or(ProcessResult{}).exit_code == 0) {
        clashes.push_back(prefix.substr(11));
      }
    }
    if (absl::StatusOr<std::string> under = user->Run({"for-each-ref", "--count=1", "--format=%(refname:short)", ref + "/"});
        under.ok() && !under->empty()) {
      clashes.push_back(std::string(absl::StripTrailingAsciiWhitespace(*under)));
    }
    if (!clashes.empty()) {
      return Usage(absl::StrCat(name("branch"), " ", TerminalSafe(config.branch), ": the repository has the branch ",
                                TerminalSafe(clashes.front()),
                                "; swarm never moves a branch it did not make (and git cannot hold both names): "
                                "name a new one, or delete that one first"));
    }
  }
  absl::StatusOr<std::string> gitlinks = user->Run({"ls-tree", "-r", "--full-tree", run.base});
  if (!gitlinks.ok()) return gitlinks.status();
  for (absl::string_view line : absl::StrSplit(*gitlinks, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "160000 ")) {
      auto tab = line.find('\t');
      return Usage(absl::StrCat("the repository has a submodule at ", line.substr(tab + 1),
                                ": swarm does not support submodules yet"));
    }
  }

  if (has_plan) {
    std::string source = config.plan_file.empty() ? "the plan" : config.plan_file;
    std::string text = config.plan_text;
    if (text.empty()) {
      absl::StatusOr<std::string> read = ReadInputFile(config.plan_file, "the plan file");
      if (!read.ok()) return read.status();
      text = std::move(*read);
    } else if (text.size() > kMaxInputFileBytes) {
      return Usage(absl::StrCat("the plan is larger than the limit of ", kMaxInputFileBytes, " bytes"));
    }
    absl::StatusOr<Plan> plan = ParsePlan(text, source);
    if (!plan.ok()) return plan.status();
    run.plan = std::move(*plan);
    if (absl::Status st = ValidatePlan(run.plan, source); !st.ok()) return st;
    if (absl::Status st = FillLanes(run.plan, config.backlog, source); !st.ok()) return st;
  } else if (has_task) {
    // Planned when the run starts, by the model (planner.h).
  } else {
    ShardOptions shard{config.shard_glob, config.shard_parts, config.independent};
    absl::StatusOr<Plan> plan = MakeShardPlan(*user, run.base, shard, &run.warnings);
    if (!plan.ok()) return plan.status();
    run.plan = std::move(*plan);
    if (absl::Status st = ValidatePlan(run.plan, name("shard_glob")); !st.ok()) return st;
  }

  std::string state_dir = config.state_dir.empty() ? DefaultStateDir() : config.state_dir;
  std::vector<std::string> hidden = {run.repo_root, user->git_dir(),
                                     fs::path(user->ObjectDir()).parent_path().parent_path().string(),
                                     state_dir, "/tmp", "/dev/shm", "/run"};
  const char* home = getenv("HOME");
  if (home != nullptr && *home == '/') hidden.push_back(home);
  if (const char* xdg = getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg == '/') hidden.push_back(xdg);
  std::vector<std::string> secrets = SecretPlaces(home != nullptr ? home : "");
  secrets.push_back(state_dir);  // the store, logs and tokens of every run
  // A server's control socket and token: no bind may show them, from outside or from inside.
  secrets.insert(secrets.end(), config.hidden_paths.begin(), config.hidden_paths.end());
  for (const auto& path : config.sandbox_ro_binds) {
    if (absl::Status st = CheckReadOnlyBind(path, hidden, secrets); !st.ok()) return st;
  }
  if (!config.build_cache.empty()) {
    absl::StatusOr<std::string> cache = PrepareBuildCache(
        config.build_cache,
        {run.repo_root, user->git_dir(), fs::path(user->ObjectDir()).parent_path().parent_path().string()}, hidden,
        secrets, config.dry_run);
    if (!cache.ok()) return cache.status();
    run.config.build_cache = *cache;
  }
  for (const auto& var : config.sandbox_env) {
    auto eq = var.find('=');
    std::string variable = var.substr(0, eq);
    if (variable.empty() ||
        variable.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
            std::string::npos) {
      return Usage(absl::StrCat(name("sandbox_env"), " ", var, ": not NAME or NAME=VALUE"));
    }
    if (eq != std::string::npos) {
      run.sandbox_env.push_back(var);
    } else if (const char* value = getenv(variable.c_str()); value != nullptr) {
      run.sandbox_env.push_back(absl::StrCat(variable, "=", value));
    } else {
      run.warnings.push_back(
          absl::StrCat(name("sandbox_env"), " ", variable, " is not set here; it is left unset in the sandbox"));
    }
  }

  if (!config.agent_command.empty() && !config.no_sandbox) {
    // The program must resolve in the sandbox, and the user's files it names are shown there.
    SandboxView view;
    view.repo_root = run.repo_root;
    std::error_code ec;
    view.cwd = config.show_command_files ? fs::current_path(ec).string() : "";
    view.home = home != nullptr && *home == '/' && fs::is_directory(home, ec) ? home : "";
    view.hidden = hidden;
    view.secrets = secrets;
    view.ro_binds = config.sandbox_ro_binds;
    view.path = absl::StrSplit(kSandboxPath, ':');
    for (const auto& kv : run.sandbox_env) {
      if (absl::StartsWith(kv, "PATH=")) view.path = absl::StrSplit(kv.substr(5), ':', absl::SkipEmpty());
    }
    if (const char* path = getenv("PATH"); path != nullptr) view.host_path = absl::StrSplit(path, ':', absl::SkipEmpty());
    view.in_base = [&](const std::string& rel) { return user->Run({"cat-file", "-e", run.base + ":" + rel}).ok(); };
    view.bind = config.show_command_files;
    view.bind_flag = name("sandbox_ro_binds");
    absl::StatusOr<AgentCommandFiles> files = ResolveAgentCommand(config.agent_command, view);
    if (!files.ok()) return files.status();
    run.config.agent_files = std::move(files->binds);
    run.warnings.insert(run.warnings.end(), files->warnings.begin(), files->warnings.end());
  }

  if (!config.dry_run) {
    run.state_dir = config.state_dir.empty() ? DefaultStateDir() : config.state_dir;
    if (absl::Status st = CheckStateDir(run.state_dir); !st.ok()) return st;
    run.state_dir = fs::canonical(run.state_dir).string();
    absl::StatusOr<std::string> agent = FindAgentBinary(config.agent_binary, /*resume=*/false);
    if (!agent.ok()) return agent.status();
    run.agent_binary = *agent;
    // Uncommitted changes are not part of the run: say so, touch nothing.
    if (!user->work_tree().empty()) {
      // Comparing the work tree with the index may run the repository's clean filters: neutralise
      // every configured one, and skip the work-tree check where a long-running filter process is set.
      GitOptions safe;
      bool can_check_files = true;
      absl::StatusOr<ProcessResult> filters = user->RunRaw({"config", "--get-regexp", "^filter\\."});
      if (filters.ok()) {
        for (absl::string_view line : absl::StrSplit(filters->out, '\n', absl::SkipEmpty())) {
          std::string key(line.substr(0, line.find(' ')));
          auto dot = key.rfind('.');
          std::string driver = key.substr(0, dot), what = key.substr(dot + 1);
          if (what == "process") can_check_files = false;
          if (what == "clean") safe.config.push_back(driver + ".clean=cat");
        }
      }
      absl::StatusOr<ProcessResult> staged = user->RunRaw({"diff-index", "--cached", "--quiet", "HEAD", "--"}, safe);
      absl::StatusOr<ProcessResult> unstaged =
          can_check_files ? user->RunRaw({"diff-files", "--quiet"}, safe) : absl::StatusOr<ProcessResult>(ProcessResult{});
      if ((staged.ok() && staged->exit_code == 1) || (unstaged.ok() && unstaged->exit_code == 1)) {
        run.warnings.push_back(absl::StrCat("the working tree has uncommitted changes; they are not part of the run, "
                                            "which starts from ", run.base.substr(0, 12)));
      }
    }
  }
  run.run_id = NewRunId();
  return run;
}

absl::StatusOr<PreparedRun> PrepareResume(const std::string& state_dir_flag, const std::string& run_id,
                                          bool locked_by_us, double budget_usd, bool will_run) {
  std::string state_dir = state_dir_flag.empty() ? DefaultStateDir() : state_dir_flag;
  std::string db = state_dir + "/swarm.db";
  if (access(db.c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("no run ", run_id, " in ", state_dir, " (no runs there at all)"));
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db);
  if (!store.ok()) return store.status();
  absl::StatusOr<RunRow> row = (*store)->Run(run_id);
  if (!row.ok()) return absl::NotFoundError(absl::StrCat("no run ", run_id, " in ", state_dir));
  row->run_dir = state_dir + "/runs/" + run_id;  // where this state directory keeps it
  if ((row->state == "completed" || row->state == "failed") && !HasUnpublishedWork(*row)) {
    return Usage(absl::StrCat("run ", run_id, " has finished (", row->state, "); there is nothing to resume"));
  }
  if (access((row->run_dir + "/integration.git").c_str(), F_OK) != 0) {
    return Usage(absl::StrCat("run ", run_id, " has no integration repository left (removed by swarm gc?); it cannot be resumed"));
  }
  if (int pid = locked_by_us ? 0 : RunLock::Holder(row->run_dir); pid != 0) {
    return Usage(absl::StrCat("run ", run_id, " is still running (coordinator pid ", pid,
                              "); `swarm cancel ", run_id, "` stops it"));
  }
  absl::StatusOr<std::vector<v1::Event>> first = (*store)->Events(run_id);
  if (!first.ok()) return first.status();
  if (first->empty() || !first->front().has_run_started() || !first->front().run_started().has_spec()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "run ", run_id, " has no recorded settings (it stopped before it started, or an older swarm made it); ",
        "it cannot be resumed"));
  }
  RunConfig config = FromStoredSpec(first->front().run_started().spec());
  // A budget raised by an earlier resume holds.
  for (const v1::Event& e : *first) {
    if (e.has_run_resumed() && e.run_resumed().budget_usd() > 0) config.budget_usd = e.run_resumed().budget_usd();
  }
  if (budget_usd > 0) {
    if (config.model.empty()) return Usage(absl::StrCat("--budget-usd: run ", run_id, " has no model"));
    if (budget_usd < config.budget_usd) {
      return Usage(absl::StrFormat("--budget-usd %.2f is below the run's budget of %.2f", budget_usd, config.budget_usd));
    }
    config.budget_usd = budget_usd;
  }
  PreparedRun run;
  run.config = config;
  run.resume = true;
  run.run_id = run_id;
  run.state_dir = fs::canonical(state_dir).string();
  absl::StatusOr<Git> user = Git::Open(config.repo);
  if (!user.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the run's repository is gone: ", user.status().message()));
  }
  run.user = *user;
  run.repo_root = user->work_tree().empty() ? user->git_dir() : user->work_tree();
  absl::StatusOr<std::string> base = user->ResolveCommit(config.base_rev);
  if (!base.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the run's base ", config.base_rev, " is no longer in ", run.repo_root));
  }
  run.base = *base;
  absl::StatusOr<Plan> plan = ParsePlan(config.plan_text, "the stored plan");
  if (!plan.ok()) return plan.status();
  run.plan = std::move(*plan);
  // A backlog's issues planned as it started replace their lone subtasks.
  for (const v1::Event& e : *first) {
    if (!e.has_issue_planned()) continue;
    run.planned_issues.insert(e.issue_planned().lane());
    if (e.issue_planned().subtasks_size() == 0) continue;
    if (absl::Status st = ApplyIssueLane(run.plan, e.issue_planned().lane(), LaneOf(e.issue_planned())); !st.ok()) {
      return absl::DataLossError(absl::StrCat("the stored plan: ", st.message()));
    }
  }
  if (config.backlog.require_test()) {
    // A plan stored before subtasks said so: a lane's lone subtask is the one that writes the test.
    std::map<std::string, std::pair<int, bool>> lanes;  // lane -> (its subtasks, one writes the test)
    for (const v1::Subtask& s : run.plan.subtasks) {
      ++lanes[s.lane()].first;
      lanes[s.lane()].second |= s.test_first();
    }
    for (v1::Subtask& s : run.plan.subtasks) {
      if (!s.lane().empty() && lanes[s.lane()] == std::make_pair(1, false)) s.set_test_first(true);
    }
  }
  if (absl::Status st = ValidatePlan(run.plan, "the stored plan"); !st.ok()) return st;
  if (absl::Status st = FillLanes(run.plan, config.backlog, "the stored plan"); !st.ok()) return st;
  run.sandbox_env = config.sandbox_env;
  if (!will_run) return run;  // `swarm cancel` of a dead run: no host or model starts
  if (absl::Status st = ResolveRunModel(run, SettingNames::kFlags); !st.ok()) return st;
  absl::StatusOr<std::string> agent = FindAgentBinary(config.agent_binary, /*resume=*/true);
  if (!agent.ok()) return agent.status();
  run.agent_binary = *agent;
  return run;
}

void WarnAtStart(const PreparedRun& run, const std::string& sandbox, std::ostream& err) {
  for (const auto& w : run.warnings) err << "swarm: warning: " << w << "\n";
  // A socket per model call in flight, the hosts' streams, test runs' pipes: a fleet needs far more
  // descriptors than the usual soft limit of 1,024.
  const std::uint64_t wanted_files = 1024 + 2 * static_cast<std::uint64_t>(std::max(1, run.config.agents));
  if (FileLimit files = RaiseFileLimit(wanted_files); files.soft < wanted_files) {
    err << "swarm: warning: the open-file limit is " << files.soft << " (hard limit " << files.hard << "); "
        << run.config.agents << " agents may need " << wanted_files
        << ": model calls beyond it will fail (raise the hard limit: ulimit -Hn, or LimitNOFILE in a unit)\n";
  }
  if (sandbox == "none") {
    err << "swarm: warning: --no-sandbox: agent commands and tests run without isolation, with your privileges\n";
  }
  if (run.config.agent_network) {
    err << "swarm: warning: --agent-network: agent commands can reach the network (test runs never can)\n";
  }
}

}  // namespace swarm
