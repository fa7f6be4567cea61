#include "orchestrator/control/served_spec.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/input_file.h"
#include "base/path_within.h"
#include "orchestrator/control/control_token.h"
#include "base/terminal_text.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

absl::Status Refuse(const std::string& field, const std::string& why) {
  return absl::PermissionDeniedError(absl::StrCat(field, ": ", why));
}

absl::Status MustBeAbsolute(const std::string& field, const std::string& path) {
  if (!path.empty() && path[0] == '/') return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " must be an absolute path for a server (the server's ",
                                                 "working directory is not the client's): '", TerminalSafe(path),
                                                 "'"));
}

std::string Listed(const std::vector<std::string>& allowed, const std::string& flag) {
  if (allowed.empty()) return absl::StrCat("this server allows none (swarm serve ", flag, ")");
  return absl::StrCat("this server allows ", absl::StrJoin(allowed, ", "), " (swarm serve ", flag, ")");
}

// `path` with its links resolved, when it lies within one of `roots` (canonical already).
absl::StatusOr<std::string> CanonicalWithin(const std::string& field, const std::string& path,
                                            const std::vector<std::string>& roots, const std::string& flag) {
  std::error_code ec;
  std::string canonical = fs::canonical(path, ec).string();
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(field, " '", TerminalSafe(path), "': ", ec.message()));
  }
  for (const auto& root : roots) {
    if (PathWithin(canonical, root)) return canonical;
  }
  return Refuse(field, absl::StrCat("'", TerminalSafe(path), "' is not within a directory ", Listed(roots, flag)));
}

}  // namespace

absl::StatusOr<RunConfig> ConfigForServedSpec(const v1::RunSpec& spec, const ServePolicy& policy,
                                              const std::string& state_dir) {
  if (spec.no_sandbox()) return Refuse("no_sandbox", "a client cannot turn the sandbox off");
  if (!spec.agent_binary().empty()) {
    return Refuse("agent_binary", "a client cannot choose the agent binary: the server runs its own swarm-agent");
  }
  if (!spec.base_url().empty()) {
    return Refuse("base_url", "a client cannot choose the model endpoint: the server's provider key would go there");
  }
  if (spec.model().rfind("scripted", 0) == 0) {
    return Refuse("model", "a client cannot run a scripted model (its script is a path on the server)");
  }
  if (!spec.state_dir().empty()) {
    return absl::InvalidArgumentError("state_dir: a server's runs live in its own state directory; leave it empty");
  }
  if (spec.has_backlog()) {
    return Refuse("backlog", "a served run has one lane: run `swarm backlog` where the repository is");
  }
  if (!spec.build_cache().empty()) {
    return Refuse("build_cache", "a client cannot give test runs a directory of the server's to write");
  }
  if (spec.agent_files_size() > 0) {
    return Refuse("agent_files", "a client cannot bind files into the sandbox: ask the server for --allow-ro-bind "
                                 "and send sandbox_ro_binds");
  }
  if (!spec.plan_file().empty()) {
    return absl::InvalidArgumentError(
        "plan_file: a server reads no plan from its disk; send the plan itself in plan_text");
  }
  if (absl::Status st = MustBeAbsolute("repo", spec.repo()); !st.ok()) return st;
  absl::StatusOr<std::string> repo = CanonicalWithin("repo", spec.repo(), policy.repo_roots, "--allow-repo-root DIR");
  if (!repo.ok()) return repo.status();
  std::vector<std::string> binds;  // canonical: what was checked is what gets bound
  for (const auto& bind : spec.sandbox_ro_binds()) {
    if (absl::Status st = MustBeAbsolute("sandbox_ro_binds", bind); !st.ok()) return st;
    absl::StatusOr<std::string> allowed =
        CanonicalWithin("sandbox_ro_binds", bind, policy.ro_binds, "--allow-ro-bind PATH");
    if (!allowed.ok()) return allowed.status();
    binds.push_back(std::move(*allowed));
  }
  for (const auto& env : spec.sandbox_env()) {
    auto eq = env.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("sandbox_env '", TerminalSafe(env),
                                                     "' must be NAME=VALUE for a server (the server's environment "
                                                     "is not the client's)"));
    }
    std::string name = env.substr(0, eq);
    bool allowed = name != kTokenEnv &&
                   std::find(policy.sandbox_env.begin(), policy.sandbox_env.end(), name) != policy.sandbox_env.end();
    if (!allowed) {
      return Refuse("sandbox_env",
                    absl::StrCat("'", TerminalSafe(name), "' is not allowed: ",
                                 Listed(policy.sandbox_env, "--allow-sandbox-env NAME")));
    }
  }

  RunConfig config = FromSpec(spec);
  config.repo = *repo;
  config.sandbox_ro_binds = std::move(binds);
  config.state_dir = state_dir;
  config.dry_run = false;
  config.hidden_paths = policy.hidden_paths;
  return config;
}

absl::Status CheckServedRepository(const PreparedRun& run, const ServePolicy& policy) {
  // The work tree, its git directory and its objects: a `.git` file or a linked worktree could
  // point elsewhere, and so could the object directories it borrows (objects/info/alternates, which
  // git follows five deep), whose commits a run could then check out for its agents.
  std::vector<std::pair<std::string, std::string>> places = {{"work tree", run.repo_root},
                                                             {"git directory", run.user->git_dir()},
                                                             {"object directory", run.user->ObjectDir()}};
  std::vector<std::pair<std::string, int>> objects = {{run.user->ObjectDir(), 0}};
  for (size_t i = 0; i < objects.size() && objects.size() < 64; ++i) {
    auto [dir, depth] = objects[i];
    if (depth >= 5) continue;
    absl::StatusOr<std::string> text = ReadInputFile(dir + "/info/alternates", "alternates", 64 << 10);
    if (!text.ok()) continue;  // none (or unreadable: then git cannot borrow through it either)
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipWhitespace())) {
      if (line.front() == '#') continue;
      fs::path alt(std::string(absl::StripAsciiWhitespace(line)));
      if (alt.is_relative()) alt = fs::path(dir) / alt;
      places.push_back({"borrowed object directory (objects/info/alternates)", alt.string()});
      objects.push_back({alt.string(), depth + 1});
    }
  }
  for (const auto& [what, path] : places) {
    std::error_code ec;
    std::string canonical = fs::weakly_canonical(path, ec).string();
    bool inside = !ec && std::any_of(policy.repo_roots.begin(), policy.repo_roots.end(),
                                     [&](const std::string& root) { return PathWithin(canonical, root); });
    if (!inside) {
      return Refuse("repo", absl::StrCat("the repository's ", what, " ", TerminalSafe(path),
                                         " is not within a directory ",
                                         Listed(policy.repo_roots, "--allow-repo-root DIR")));
    }
  }
  return absl::OkStatus();
}

}  // namespace swarm
