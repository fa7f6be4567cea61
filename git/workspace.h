// One attempt's workspace: a work tree at the attempt's base, plus a git directory the agent never
// sees, from which the host computes the patch. The agent may do anything in its work tree, including
// commit; only the files count.
//
// Two kinds. An overlay workspace (CreateOverlay) is a writable layer mounted over a read-only
// checkout of the base shared by every attempt on it (base_checkouts.h): it costs what the agent
// writes, and its patch is computed from the paths the layer changed. A cloned workspace (Create) is
// a shared clone checked out in full: the fallback where overlays cannot be mounted (not root, no
// overlayfs) and what --keep-workspaces keeps. Both give the agent a working .git, and both give the
// same patch for the same work (workspace_test.cc checks it).
#ifndef SWARM_GIT_WORKSPACE_H_
#define SWARM_GIT_WORKSPACE_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "git/base_checkouts.h"
#include "git/git.h"
#include "git/patch_entries.h"
#include "sandbox/growth_guard.h"
#include "sandbox/overlay_mount.h"
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

// A writable view of a work tree that nothing written there reaches back from, for a test run:
// unmounted and removed on destruction (Workspace::MakeThrowaway).
class ThrowawayTree final {
 public:
  ~ThrowawayTree();
  ThrowawayTree(const ThrowawayTree&) = delete;
  ThrowawayTree& operator=(const ThrowawayTree&) = delete;
  const std::string& root() const { return root_; }

 private:
  friend class Workspace;
  ThrowawayTree(std::string dir, std::string root) : dir_(std::move(dir)), root_(std::move(root)) {}
  const std::string dir_, root_;
  std::unique_ptr<LayerFs> layer_fs_;
  bool mounted_ = false;
};

class Workspace final {
 public:
  // Creates `dir` (which must not exist) holding a work tree of `source_git_dir` at commit `base`.
  // `dir` is removed on destruction unless `keep`. Given a `mount_place` (the caller in a mount
  // namespace of its own, `dir` on a tmpfs, limits on the growth, not `keep`), the work tree is a
  // tmpfs of its own mounted at `mount_place`/<dir's name>, capped at the checkout plus the growth
  // allowed: the cap holds while the agent writes.
  static absl::StatusOr<std::unique_ptr<Workspace>> Create(const std::string& source_git_dir,
                                                           const std::string& base,
                                                           const std::string& dir, bool keep,
                                                           const WorkspaceLimits& limits = {},
                                                           const std::string& mount_place = "");
  // Mounts a writable layer under `dir` (which must not exist) over `lower`, the checkout of `base`;
  // `hand_over` gives the layer to the sandbox's user. The work tree is mounted at
  // `mount_place`/<dir's name> (a directory for mount points, kept until the run ends: overlay_mount.h; empty: `dir`/work). The caller must be
  // in a mount namespace of its own (overlay_mount.h). Where `dir` is on a tmpfs and `limits` cap the
  // growth, the layer is a tmpfs of its own holding at most that (LayerFs): the cap holds while the
  // agent writes. The mount goes, and `dir` with it, on destruction.
  static absl::StatusOr<std::unique_ptr<Workspace>> CreateOverlay(const std::string& source_git_dir,
                                                                  std::shared_ptr<const BaseCheckouts::Checkout> lower,
                                                                  const std::string& dir,
                                                                  const BaseCheckouts::HandOver& hand_over,
                                                                  const WorkspaceLimits& limits = {},
                                                                  const std::string& mount_place = "");
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

  // Paths the patch never holds, relative to the root: files the agent's sandbox shows read-only
  // there (its own script), whose mount points would otherwise be staged as new empty files. Left
  // out whatever the repository's .gitignore says (a negation there cannot bring them back).
  absl::Status Ignore(const std::vector<std::string>& paths);

  // A throwaway view of the work tree as it is now, at `dir` (which must not exist), for a test run.
  // For an overlay workspace it is one more overlay, stacked on the work tree, whose layer holds at
  // most the workspace's limits (where the workspaces are on tmpfs): it costs what the tests write,
  // not a copy of the tree. For a clone on a capped file system of its own, a copy on another, capped
  // the same way. Unimplemented for other clones (copy them). The work tree must not change while
  // the view is mounted.
  absl::StatusOr<std::unique_ptr<ThrowawayTree>> MakeThrowaway(const std::string& dir,
                                                              const BaseCheckouts::HandOver& hand_over) const;

  // OK while the work tree has grown by no more than the limits since it was checked out; otherwise
  // ResourceExhausted naming the flags. Call it before reading the whole tree (hashing, copying).
  absl::Status CheckGrowth() const;
  // Where the work tree grows and how far it may, when no file system of its own caps it (the
  // workspaces on disk, a kept clone): a command writing it is watched instead (growth_guard.h).
  // nullopt where one does, or nothing limits the growth.
  std::optional<GrowthCap> UncappedGrowth() const;
  // The same for a copy of the work tree at `copy` (a test run's, made by the caller): what it holds
  // now plus the growth allowed. nullopt where the work tree's own file system caps it.
  std::optional<GrowthCap> UncappedGrowthOfCopy(const std::string& copy) const;

  // ResourceExhausted naming the flags, for a command stopped because the work tree grew past them.
  absl::Status GrewPastLimits() const;

  // Cheap (one statfs, no walk): ResourceExhausted naming the flags when the workspace's own file
  // system is full, so writes past the cap failed; OK otherwise, and for a workspace without one.
  absl::Status CheckFull() const;

 private:
  Workspace(std::string dir, std::string base, bool keep, const WorkspaceLimits& limits, std::string root = "");
  // The host's own repository beside the work tree, reading the source's objects.
  absl::Status InitHostRepository(const std::string& source_git_dir);
  // The paths the agent changed, for `git add`; nullopt for a cloned workspace (every path).
  absl::StatusOr<std::optional<std::vector<std::string>>> ChangedPaths() const;

  // Set at construction.
  const std::string dir_;
  const std::string root_;
  const std::string base_;
  const bool keep_;
  const WorkspaceLimits limits_;
  std::vector<std::string> object_dirs_;
  std::vector<std::string> ignored_;  // Ignore's paths
  TreeUsage checked_out_;  // the work tree as created: the growth is measured from here
  // An overlay workspace's: the checkout below it (held while mounted), its upper layer.
  std::shared_ptr<const BaseCheckouts::Checkout> lower_;
  std::string upper_;
  std::unique_ptr<LayerFs> layer_fs_;  // the upper layer's own file system, if it has one
  std::string mount_place_;
  bool mounted_ = false;
};

// The layer's file-system limits for a workspace that may grow by `max_growth` (no limit: 0).
LayerLimits LayerLimitsFor(const TreeUsage& max_growth);


// Checks a symlink target stored at `link_path` (relative to the repository root). Refused: absolute
// targets, relative ones that climb out of the root, ".." after a named component (which could
// climb through another link), and any ".git" component (in any letter case). Links that pass are safe in any composition of patches that pass.
bool SymlinkStaysInside(const std::string& link_path, const std::string& target);

}  // namespace swarm

#endif  // SWARM_GIT_WORKSPACE_H_
