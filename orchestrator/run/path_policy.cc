#include "orchestrator/run/path_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "git/patch_entries.h"
#include "base/terminal_text.h"

namespace swarm {
namespace {

// Matching one component against a pattern without '/': '*' any run of characters, '?' one.
// Iterative with one backtrack point, so linear in practice and never recursive.
bool ComponentMatches(absl::string_view pattern, absl::string_view name) {
  std::size_t p = 0, n = 0, star = absl::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || absl::ascii_tolower(static_cast<unsigned char>(pattern[p])) ==
                                                        absl::ascii_tolower(static_cast<unsigned char>(name[n])))) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool GlobMatches(absl::string_view glob, absl::string_view path) {
  std::vector<absl::string_view> g = absl::StrSplit(glob, '/');
  std::vector<absl::string_view> c = absl::StrSplit(path, '/');
  // match[i][j]: the glob's components from i match the path's components from j.
  std::vector<std::vector<char>> match(g.size() + 1, std::vector<char>(c.size() + 1, 0));
  match[g.size()][c.size()] = 1;
  for (std::size_t i = g.size(); i-- > 0;) {
    for (std::size_t j = c.size() + 1; j-- > 0;) {
      if (g[i] == "**") {
        match[i][j] = match[i + 1][j] || (j < c.size() && match[i][j + 1]);
      } else {
        match[i][j] = j < c.size() && ComponentMatches(g[i], c[j]) && match[i + 1][j + 1];
      }
    }
  }
  return match[0][0] != 0;
}

absl::Status CheckAllowGlob(absl::string_view glob) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--allow-path '", TerminalSafe(glob), "': ", why));
  };
  if (glob.empty()) return bad("empty");
  if (glob[0] == '/') return bad("give a glob relative to the repository's root, not an absolute path");
  for (absl::string_view part : absl::StrSplit(glob, '/')) {
    if (part.empty() || part == "." || part == "..") return bad("no empty, '.' or '..' components");
  }
  return absl::OkStatus();
}

const std::vector<std::string>& PathPolicy::DefaultProtected() {
  static const auto* const kProtected = new std::vector<std::string>{
      // CI that runs what a pushed branch says.
      ".github/workflows/**", ".github/actions/**", ".gitlab-ci.yml", ".gitlab/**", ".circleci/**", ".travis.yml",
      "**/Jenkinsfile", ".buildkite/**", "**/azure-pipelines*.yml", ".azure-pipelines/**", "bitbucket-pipelines.yml",
      ".drone.yml", ".woodpecker.yml", ".woodpecker/**",
      // git's in-tree configuration: filters and diff drivers, submodule URLs, LFS endpoints.
      "**/.gitattributes", "**/.gitmodules", "**/.gitconfig", "**/.lfsconfig",
      // Hooks and environments a developer's tools run on checkout or entering the directory.
      ".pre-commit-config.yaml", ".pre-commit-hooks.yaml", ".husky/**", "**/.envrc", ".devcontainer/**",
      ".vscode/tasks.json",
      // Who must approve a change.
      "CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS"};
  return *kProtected;
}

PathPolicy::PathPolicy(std::vector<std::string> allowed) : allowed_(std::move(allowed)) {}

absl::Status PathPolicy::Check(const std::vector<std::string>& paths) const {
  for (const std::string& path : paths) {
    for (const std::string& glob : DefaultProtected()) {
      if (!GlobMatches(glob, path)) continue;
      bool allowed = false;
      for (const std::string& a : allowed_) allowed = allowed || GlobMatches(a, path);
      if (allowed) break;
      return absl::PermissionDeniedError(
          absl::StrCat("the patch changes ", TerminalSafe(path), ", a protected path ('", glob,
                       "': CI or git tools run it later, outside the sandbox); ",
                       "if the change is wanted, run with --allow-path '", glob, "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSubmittedPatch(const Git& git, const std::string& base, const std::string& tree,
                                 const PathPolicy& policy, const PatchLimits& limits,
                                 const std::string* verified_diff) {
  absl::StatusOr<std::vector<PatchEntry>> entries = ListPatchEntries(git, base, tree);
  if (!entries.ok()) return entries.status();
  if (absl::Status st = CheckPatchEntries(*entries); !st.ok()) return st;
  if (absl::Status st = CheckPatchGrowth(git, *entries, limits, verified_diff); !st.ok()) return st;
  std::vector<std::string> paths;
  for (const PatchEntry& e : *entries) {
    paths.push_back(e.path);
    // A link standing where a protected folder goes (.github -> ci) would put ci/workflows/* there:
    // it is refused as that folder's content would be.
    if (e.new_mode != "120000") continue;
    for (const std::string& glob : PathPolicy::DefaultProtected()) {
      if (!absl::StartsWith(glob, e.path + "/")) continue;
      std::string inside = absl::StrReplaceAll(glob, {{"**", "x"}, {"*", "x"}});
      if (policy.Check({inside}).ok()) continue;
      return absl::PermissionDeniedError(absl::StrCat(
          "the patch adds a link at ", TerminalSafe(e.path), ", where protected files go ('", glob,
          "': CI or git tools run them later, outside the sandbox); if the change is wanted, run with --allow-path '",
          glob, "'"));
    }
  }
  return policy.Check(paths);
}

absl::StatusOr<std::string> CommitSubmittedPatch(const IntegrationRepo& repo, const std::string& base,
                                                 const std::string& diff, const std::string& tree,
                                                 const std::string& message, const PathPolicy& policy,
                                                 const PatchLimits& limits) {
  absl::StatusOr<std::string> commit = repo.CommitPatch(base, diff, tree, message);
  if (!commit.ok()) return commit;
  if (absl::Status st = CheckSubmittedPatch(repo.git(), base, tree, policy, limits, &diff); !st.ok()) return st;
  return commit;
}

}  // namespace swarm
