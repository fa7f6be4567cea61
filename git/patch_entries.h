// What a patch changes, path by path, and the checks every patch must pass wherever it was made: on
// the agent host that computed it and again in the coordinator, which does not trust the host.
#ifndef SWARM_GIT_PATCH_ENTRIES_H_
#define SWARM_GIT_PATCH_ENTRIES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "git/git.h"

namespace swarm {

// One path a patch adds, modifies or deletes.
struct PatchEntry {
  std::string path;         // relative to the repository root, as git stores it
  std::string new_mode;     // "100644", "100755", "120000" (symlink), "160000" (gitlink), "000000" (deleted)
  std::string link_target;  // for a symlink (new_mode 120000): where it points
  std::string old_object = {};  // the blob replaced (all zeros when the path is added)
  std::string new_object = {};  // the blob written (all zeros when the path is deleted)
};

// How much a patch makes the tree grow once checked out: the bytes of the blobs it writes beyond those
// it replaces, and the files it adds. Every path counts, so hard links or copies of one compressible
// blob (a small patch that expands to gigabytes) count each time.
struct PatchGrowth {
  std::uint64_t bytes = 0;
  std::uint64_t files = 0;
};

// What a patch may grow the tree by (0: no limit), and the flags that set it, for the error.
struct PatchLimits {
  std::uint64_t max_growth_bytes = 0;  // --max-patch-expanded-mb
  std::uint64_t max_added_files = 0;   // --max-patch-files
};

// The entries that `tree` changes against `base` (a commit or tree), read from `git`'s object store
// with `git diff-tree -r -z --no-renames`. Symlink targets are read from their blobs.
absl::StatusOr<std::vector<PatchEntry>> ListPatchEntries(const Git& git, const std::string& base,
                                                         const std::string& tree);

// Reads the sizes of the entries' blobs from `git`'s object store (one `git cat-file --batch-check`).
absl::StatusOr<PatchGrowth> MeasurePatchGrowth(const Git& git, const std::vector<PatchEntry>& entries);

// Refuses, with ResourceExhausted naming the flag, a growth past `limits`.
absl::Status CheckPatchGrowth(const PatchGrowth& growth, const PatchLimits& limits);

// The same check for the entries a patch changes. `verified_diff`, when given, is the diff that was
// checked to turn the base into the tree: a text diff carries every byte it adds (new files whole,
// added lines), so one no larger than the limit bounds the growth and no sizes are read; otherwise
// (binary literals and deltas, which can repeat their source) the sizes come from `git`.
absl::Status CheckPatchGrowth(const Git& git, const std::vector<PatchEntry>& entries, const PatchLimits& limits,
                              const std::string* verified_diff);

// Whether a component of `path` (split at '/') is ".git", in any letter case.
bool HasGitComponent(absl::string_view path);

// Refuses, with InvalidArgument naming the path: nested repositories (gitlinks), paths with a ".git"
// component, symlinks that leave the repository or name ".git" (SymlinkStaysInside).
absl::Status CheckPatchEntries(const std::vector<PatchEntry>& entries);

}  // namespace swarm

#endif  // SWARM_GIT_PATCH_ENTRIES_H_
