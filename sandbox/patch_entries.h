// What a patch changes, path by path, and the checks every patch must pass wherever it was made: on
// the agent host that computed it and again in the coordinator, which does not trust the host.
#ifndef SWARM_SANDBOX_PATCH_ENTRIES_H_
#define SWARM_SANDBOX_PATCH_ENTRIES_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/git.h"

namespace swarm {

// One path a patch adds, modifies or deletes.
struct PatchEntry {
  std::string path;         // relative to the repository root, as git stores it
  std::string new_mode;     // "100644", "100755", "120000" (symlink), "160000" (gitlink), "000000" (deleted)
  std::string link_target;  // for a symlink (new_mode 120000): where it points
};

// The entries that `tree` changes against `base` (a commit or tree), read from `git`'s object store
// with `git diff-tree -r -z --no-renames`. Symlink targets are read from their blobs.
absl::StatusOr<std::vector<PatchEntry>> ListPatchEntries(const Git& git, const std::string& base,
                                                         const std::string& tree);

// Whether a component of `path` (split at '/') is ".git", in any letter case.
bool HasGitComponent(absl::string_view path);

// Refuses, with InvalidArgument naming the path: nested repositories (gitlinks), paths with a ".git"
// component, symlinks that leave the repository or name ".git" (SymlinkStaysInside).
absl::Status CheckPatchEntries(const std::vector<PatchEntry>& entries);

}  // namespace swarm

#endif  // SWARM_SANDBOX_PATCH_ENTRIES_H_
