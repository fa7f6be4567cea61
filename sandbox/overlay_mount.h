// Overlay mounts (Linux overlayfs) for workspaces that cost what an agent writes: a read-only lower
// tree shared by every attempt on it, and a writable upper layer per attempt that receives every
// change (a changed file is copied up whole; a deletion is a whiteout; a directory that replaces one
// is opaque). The mounts live in a mount namespace private to the process that made them, so they
// vanish with it and nobody else sees them.
#ifndef SWARM_SANDBOX_OVERLAY_MOUNT_H_
#define SWARM_SANDBOX_OVERLAY_MOUNT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace swarm {

// Moves the calling process into a new mount namespace whose mounts do not propagate to the one it
// came from. Call it before the process starts any thread: a mount namespace is per thread, and
// threads started before keep the old one. Needs CAP_SYS_ADMIN (root); otherwise PermissionDenied.
absl::Status EnterPrivateMountNamespace();
// The same for a process that is not root: a user namespace of its own first, where it keeps its
// uid and gid (mapped to themselves, so every file it makes is still its user's) and holds the
// capabilities to mount there, until it execs (its children have none). It can then mount a tmpfs
// (LayerFs), not overlays with swarm's options. Files of other users show as owned by 65534, and
// setuid programs it runs gain nothing. Tried first in a child: FailedPrecondition (with the
// reason) where a kernel or AppArmor policy forbids it, and nothing changed; Internal if the trial
// worked and the process itself then could not map its ids (it must not go on). Call it before any
// thread starts.
absl::Status EnterUserAndMountNamespace();
// Whether either succeeded in this process.
bool InPrivateMountNamespace();
// Why not, when neither was tried or succeeded.
std::string WhyNoPrivateMountNamespace();

// Mounts at `merged` the overlay of `upper` (writable; `work` is overlayfs's scratch directory on
// the same file system, empty) on the `lowers` (read-only; the first is the topmost).
//
// The mount is private. A sandbox started meanwhile copies every mount of this namespace, and
// bubblewrap remounts each copy read-only: if unmounting here reached its copy (or the mount point
// went) between its listing and its remount, its start failed ("Unable to apply mount flags") (one
// attempt in fifteen at 1,000 agents). So a private copy stays as it was, and callers keep mount
// points (empty directories) until the run ends: put them in a directory of their own.
absl::Status MountOverlay(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work,
                          const std::string& merged);

// Detaches the mount at `merged` (lazily: open files keep it until they close). Also for a layer's
// file system (below).
void UnmountOverlay(const std::string& merged);

// What a layer holds beyond the growth it allows (its root, upper and work directories, files' last
// pages): so that a tree that only reached its limit is named by the measure, not by ENOSPC.
inline constexpr std::uint64_t kLayerSlackBytes = 4 << 20;
inline constexpr std::uint64_t kLayerSlackInodes = 64;
// About what the kernel keeps per tmpfs inode (the inode and its dentry): what a layer's files cost
// in RAM beyond their pages.
inline constexpr std::uint64_t kBytesPerInode = 1024;

// What one writable layer may hold (0: no limit of that kind).
struct LayerLimits {
  std::uint64_t bytes = 0;   // in tmpfs pages: a 1-byte file costs a page
  std::uint64_t inodes = 0;  // files, directories, links and whiteouts
};

// What a tree that holds `used` may hold once it may grow by `growth` (0 in `growth`: no limit).
LayerLimits GrownBy(const LayerLimits& used, const LayerLimits& growth);

// A writable layer's own file system: a tmpfs, its mounter's and 0700, that holds at most its limits, for
// an upper layer and its overlayfs work directory beside it. A writer that fills it gets ENOSPC
// there, and nothing else: the machine's /dev/shm (its inodes above all) and the other layers are
// untouched. Its pages are RAM, charged to the cgroup of whoever writes them.
//
// Once the overlay above it is mounted, Detach() takes it out of the mount table: the overlay
// keeps it alive, and this object reaches it through a descriptor. Every sandbox start copies each
// mount of the namespace (about 25 us a mount here), so a workspace costs one mount, not two.
class LayerFs final {
 public:
  // Mounts it at `dir` (made if missing; an empty directory kept until the run ends, as for
  // overlays), private.
  static absl::StatusOr<std::unique_ptr<LayerFs>> Mount(const std::string& dir, const LayerLimits& limits);
  ~LayerFs();  // empties it, detaches it if attached; call after the overlay above it is unmounted
  LayerFs(const LayerFs&) = delete;
  LayerFs& operator=(const LayerFs&) = delete;

  // Where this process reaches it: `dir` while attached, /proc/self/fd/<fd> once detached.
  const std::string& path() const { return path_; }
  absl::Status Detach();
  // Sets its limits anew (a remount), for a tree written before it was capped, while it is
  // attached: fails (EINVAL) when it already holds more.
  absl::Status Limit(const LayerLimits& limits);
  // Limit(GrownBy(Used(), growth)): from now on it may grow by `growth`, and no more.
  absl::Status LimitGrowth(const LayerLimits& growth);
  // What it holds now: pages as bytes, and inodes.
  LayerLimits Used() const;
  // Whether it has no inode or no page left.
  bool Full() const;

 private:
  LayerFs(std::string dir, int fd) : dir_(std::move(dir)), path_(dir_), fd_(fd) {}
  const std::string dir_;
  std::string path_;
  const int fd_;  // O_PATH, held from the mount on
  bool attached_ = true;
};

// Whether a LayerFs can be mounted, capped anew and read under `scratch_dir` (which must exist); the
// reason when not.
absl::Status ProbeLayerFs(const std::string& scratch_dir);

// Removes the tree at `dir` (or only what it holds, with `keep_dir`), first truncating each regular
// file in it, opened beneath `dir` with no link followed. For a tree that was a layer of an overlay:
// a sandbox started while the overlay was mounted keeps a copy of it (bubblewrap binds / recursively;
// hidden, not dropped), and that copy keeps the inodes it looked up, so an unlinked file would keep
// its pages in RAM until the sandbox exits; a truncated one does not.
// `whole_fs`: `dir` is a file system's root, so every name of its files lies within it (a file with
// other names is truncated too; elsewhere it is only unlinked).
void EmptyAndRemove(const std::string& dir, bool keep_dir = false, bool whole_fs = false);

// Whether `path` lies on a tmpfs. Layers get a tmpfs of their own only where their directory is one
// already: a run that keeps its workspaces on disk is not moved into RAM.
bool OnTmpfs(const std::string& path);

// Whether overlays can be mounted here, under `scratch_dir` (which must exist), as workspaces will
// be: mounts one over a directory with a file (its upper layer on a LayerFs where `scratch_dir` is
// a tmpfs), writes and deletes through it, and checks the upper layer. The reason when they cannot.
absl::Status ProbeOverlay(const std::string& scratch_dir);

// What an upper layer changed, as paths relative to the root: every file and link it holds, every
// whiteout (a deletion), and every opaque directory (it replaces what was below it, whole). A
// directory that only holds changes below it is not listed itself. Entries under the top-level
// `.git` are left out: the agent's own repository state is not part of its work.
absl::StatusOr<std::vector<std::string>> UpperChanges(const std::string& upper);

}  // namespace swarm

#endif  // SWARM_SANDBOX_OVERLAY_MOUNT_H_
