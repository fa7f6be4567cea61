// A user namespace of a sandboxed command's own, for swarm running as root where no cgroup can be
// written.
//
// As root, bubblewrap sets the sandbox up as root and the command then switches to the unprivileged
// `swarm-sandbox` user (sandbox_identity.h): every sandboxed command has the same uid. Without a
// cgroup, processes are limited by RLIMIT_NPROC, which the kernel counts per uid *per user
// namespace*: in the host's namespace one sandbox's fork bomb would use up the count of every other.
// So each such command gets a user namespace of its own, made here and joined by bubblewrap
// (`--userns`) before it makes the others. Every id maps to itself: the command's uid is the host's,
// files keep their owners, and uid 0 there is the host's uid 0 for every check made by uid (files,
// /proc/sys, signals). Its owner is root, so the count of uid `swarm-sandbox` in it is its sandbox's
// processes alone, and the capabilities bubblewrap holds there are fewer than the host root's it
// had before; the command, as `swarm-sandbox` with no_new_privs, holds none.
#ifndef SWARM_SANDBOX_USER_NAMESPACE_H_
#define SWARM_SANDBOX_USER_NAMESPACE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "sandbox/process.h"

namespace swarm {

// A new user namespace whose ids map to themselves, held by the returned descriptor (pass it to
// bubblewrap's --userns). Needs CAP_SETUID and CAP_SETGID (root); costs a short-lived child that
// shares this process's memory (no copy of the page tables).
absl::StatusOr<std::shared_ptr<const OwnedFd>> NewIdentityUserNamespace();

}  // namespace swarm

#endif  // SWARM_SANDBOX_USER_NAMESPACE_H_
