// Which paths a patch may not touch unless the user allowed them: files that act later, elsewhere.
// CI reads workflows from a pushed branch, git reads .gitattributes filters and .gitmodules, and a
// developer's tools run hooks and .envrc: a change there runs code outside every sandbox.
//
// Globs: '*' and '?' match within one path component, '**' matches any number of components
// ("**/x" also matches "x" at the root; "d/**" matches everything below d). Matching ignores letter
// case (a checkout on a case-insensitive file system reads .GitHub as .github).
#ifndef SWARM_ORCHESTRATOR_RUN_PATH_POLICY_H_
#define SWARM_ORCHESTRATOR_RUN_PATH_POLICY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "git/git.h"
#include "git/integration_repo.h"
#include "git/patch_entries.h"

namespace swarm {

// Whether `path` matches `glob` (see above).
bool GlobMatches(absl::string_view glob, absl::string_view path);

// Checks a glob given to --allow-path: relative, non-empty, no "." or ".." components.
// InvalidArgument says why.
absl::Status CheckAllowGlob(absl::string_view glob);

class PathPolicy final {
 public:
  // The protected globs: CI configurations, git's in-tree config files, hook managers, .envrc.
  static const std::vector<std::string>& DefaultProtected();

  // `allowed`: globs the user allowed with --allow-path (a path matching one may be changed).
  explicit PathPolicy(std::vector<std::string> allowed);

  // OK when none of `paths` (added, modified or deleted) is protected and not allowed; otherwise
  // PermissionDenied naming the first such path, the glob that protects it, and the flag.
  absl::Status Check(const std::vector<std::string>& paths) const;

 private:
  // Set at construction.
  const std::vector<std::string> allowed_;
};

// The coordinator's own look at a submitted patch, whose host is not trusted to have checked it:
// lists what `tree` changes against `base` in `git` (where the patch was applied) and refuses what
// CheckPatchEntries refuses (gitlinks, links out or into .git, paths in .git) and what `policy`
// protects, and a growth of the checked-out tree past `limits` (CheckPatchGrowth, which reads no sizes
// for a text `verified_diff`: the diff `tree` was checked to come from). The error says which
// path and why.
absl::Status CheckSubmittedPatch(const Git& git, const std::string& base, const std::string& tree,
                                 const PathPolicy& policy, const PatchLimits& limits = {},
                                 const std::string* verified_diff = nullptr);

// An agent's patch as a commit on its base in the integration repository (`message` its subject),
// then CheckSubmittedPatch on it: before any test tree is written, since a small patch can expand
// to gigabytes. CommitPatch checked that the diff makes the tree, so the diff bounds the growth.
absl::StatusOr<std::string> CommitSubmittedPatch(const IntegrationRepo& repo, const std::string& base,
                                                 const std::string& diff, const std::string& tree,
                                                 const std::string& message, const PathPolicy& policy,
                                                 const PatchLimits& limits);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_PATH_POLICY_H_
