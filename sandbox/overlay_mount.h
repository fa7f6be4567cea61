// Overlay mounts (Linux overlayfs) for workspaces that cost what an agent writes: a read-only lower
// tree shared by every attempt on it, and a writable upper layer per attempt that receives every
// change (a changed file is copied up whole; a deletion is a whiteout; a directory that replaces one
// is opaque). The mounts live in a mount namespace private to the process that made them, so they
// vanish with it and nobody else sees them.
#ifndef SWARM_SANDBOX_OVERLAY_MOUNT_H_
#define SWARM_SANDBOX_OVERLAY_MOUNT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace swarm {

// Moves the calling process into a new mount namespace whose mounts do not propagate to the one it
// came from. Call it before the process starts any thread: a mount namespace is per thread, and
// threads started before keep the old one. Needs CAP_SYS_ADMIN (root); otherwise PermissionDenied.
absl::Status EnterPrivateMountNamespace();
// Whether EnterPrivateMountNamespace succeeded in this process.
bool InPrivateMountNamespace();

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

// Detaches the mount at `merged` (lazily: open files keep it until they close).
void UnmountOverlay(const std::string& merged);

// Whether overlays can be mounted here, under `scratch_dir` (which must exist): mounts one over a
// directory with a file, writes and deletes through it, and checks the upper layer. The reason when
// they cannot.
absl::Status ProbeOverlay(const std::string& scratch_dir);

// What an upper layer changed, as paths relative to the root: every file and link it holds, every
// whiteout (a deletion), and every opaque directory (it replaces what was below it, whole). A
// directory that only holds changes below it is not listed itself. Entries under the top-level
// `.git` are left out: the agent's own repository state is not part of its work.
absl::StatusOr<std::vector<std::string>> UpperChanges(const std::string& upper);

}  // namespace swarm

#endif  // SWARM_SANDBOX_OVERLAY_MOUNT_H_
