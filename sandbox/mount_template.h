// A mount namespace for sandboxes to start from that holds none of the mounts a process makes
// later (overlay workspaces, test trees, capped clones), so that a sandbox's start costs the same
// however many attempts a host runs.
//
// bubblewrap copies the namespace it starts in and reads /proc/self/mountinfo once per bind it
// makes (some twenty per sandbox), and it remounts read-only every mount that `--ro-bind / /`
// copies. Started in a host's own namespace, where each of its (up to 256) attempts has an overlay,
// that was O(attempts) per start: at 1,000 command agents, formatting those mount tables took a
// third of the machine's CPU. Started instead in a copy of the template with only its own trees
// attached (ProcessSpec::mount_namespace), it sees a few dozen mounts whatever the host runs, and
// no sandbox's namespace holds another attempt's workspace.
#ifndef SWARM_SANDBOX_MOUNT_TEMPLATE_H_
#define SWARM_SANDBOX_MOUNT_TEMPLATE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sandbox/process.h"

namespace swarm {

// Makes this process's template: a copy of its mount namespace as it is now (call it once the
// process is in a namespace of its own and before it mounts anything there), and checks that a
// child can start in a copy of it with a tree attached. FailedPrecondition with the reason where
// it cannot (children then start in the process's own namespace, as before). Idempotent.
absl::Status MakeMountTemplate();

// Takes the template anew from the namespace as it is now, where there is one: after a mount that
// every later sandbox's trees lie under (a run's own tmpfs for its workspaces), so that the paths
// they are attached at exist in it. What else is mounted now comes along (a few test trees of runs
// served at once). Fails only where the namespace cannot be copied; the old template then stays.
absl::Status RenewMountTemplate();

// The template's namespace, or null when MakeMountTemplate was not called or failed.
std::shared_ptr<const OwnedFd> MountTemplate();

// A detached copy of the tree at `path` (open_tree(OPEN_TREE_CLONE | AT_RECURSIVE): the mount there
// and those below it, or a bind of the directory when it is no mount's root), for a child to attach
// at the same path in its copy of the template. Each copy can be attached once.
absl::StatusOr<std::shared_ptr<const OwnedFd>> CloneTree(const std::string& path);

}  // namespace swarm

#endif  // SWARM_SANDBOX_MOUNT_TEMPLATE_H_
