// One attempt's workspace: a shared clone of the integration repository checked out at the attempt's
// base, plus a git directory the agent never sees, from which the host computes the patch. The agent
// may do anything in its work tree, including commit; only the files count.
#ifndef SWARM_GIT_WORKSPACE_H_
#define SWARM_GIT_WORKSPACE_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "git/git.h"
#include "git/patch_entries.h"
#include "sandbox/tree_usage.h"

namespace swarm {

// A patch: `diff` turns `base`'s tree into `tree`. Empty when the tree did not change.
struct Patch {
  std::string base;
  std::string tree;
  std::string diff;  // `git diff --binary --full-index base tree`
  bool empty = true;
};

// What an attempt's workspace may cost before its patch is computed (0: no limit). The growth is
// measured against the checked-out base, so a large repository is not penalised for its size.
struct WorkspaceLimits {
  TreeUsage max_growth;          // --max-workspace-mb, --max-workspace-files
  PatchLimits patch;             // what the patch may expand the tree by
  std::uint64_t max_patch_bytes = 0;  // --max-patch-mb: the diff itself
};

class Workspace final {
 public:
  // Creates `dir` (which must not exist) holding a work tree of `source_git_dir` at commit `base`.
  // `dir` is removed on destruction unless `keep`.
  static absl::StatusOr<std::unique_ptr<Workspace>> Create(const std::string& source_git_dir,
                                                           const std::string& base,
                                                           const std::string& dir, bool keep,
                                                           const WorkspaceLimits& limits = {});
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // The work tree, where the agent runs.
  const std::string& root() const { return root_; }
  // Object directories the work tree's own git reads (to be visible, read-only, in a sandbox).
  const std::vector<std::string>& object_dirs() const { return object_dirs_; }

  // The work tree as `git add -A` would stage it in a fresh index (honouring .gitignore), against the
  // base. Fails with InvalidArgument for what CheckPatchEntries refuses (patch_entries.h): a symlink
  // leading out of the repository or into .git, a nested repository (gitlink), a path inside .git. Blobs are written to the host's object store, never the agent's.
  absl::StatusOr<Patch> ComputePatch() const;

  // OK while the work tree has grown by no more than the limits since it was checked out; otherwise
  // ResourceExhausted naming the flags. Call it before reading the whole tree (hashing, copying).
  absl::Status CheckGrowth() const;

 private:
  Workspace(std::string dir, std::string base, bool keep, const WorkspaceLimits& limits);

  // Set at construction.
  const std::string dir_;
  const std::string root_;
  const std::string base_;
  const bool keep_;
  const WorkspaceLimits limits_;
  std::vector<std::string> object_dirs_;
  TreeUsage checked_out_;  // the work tree as created: the growth is measured from here
};

// Checks a symlink target stored at `link_path` (relative to the repository root). Refused: absolute
// targets, relative ones that climb out of the root, ".." after a named component (which could
// climb through another link), and any ".git" component (in any letter case). Links that pass are safe in any composition of patches that pass.
bool SymlinkStaysInside(const std::string& link_path, const std::string& target);

}  // namespace swarm

#endif  // SWARM_GIT_WORKSPACE_H_
