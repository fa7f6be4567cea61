// Who a sandboxed command runs as (docs/SECURITY.md, "Permission model").
//
// As an ordinary user, that user: bubblewrap maps it into a user namespace, and the kernel gives the
// sandbox nothing the user does not have. As root, never root: bubblewrap sets up the namespaces as
// root, then the command switches to the unprivileged system user `swarm-sandbox` (created on first
// use) before it runs, with no capabilities and no way to gain any. That user reads what any user may
// read, writes only the trees handed over to it (HandOver), and sees none of swarm's private state.
#ifndef SWARM_SANDBOX_SANDBOX_IDENTITY_H_
#define SWARM_SANDBOX_SANDBOX_IDENTITY_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace swarm {

inline constexpr char kSandboxUser[] = "swarm-sandbox";

struct SandboxIdentity {
  // True when this process is root: commands switch to uid/gid inside the sandbox.
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;

  // The identity for commands this process sandboxes. As root, looks up kSandboxUser and creates it
  // (a system user with no home and no login shell) when missing; fails with FailedPrecondition when
  // it cannot be created, naming the command that would.
  static absl::StatusOr<SandboxIdentity> ForThisProcess();

  // Gives `path` (and everything beneath it, never following links) to this identity, so that a
  // sandboxed command may write it; a no-op unless switch_user.
  absl::Status HandOver(const std::string& path) const;
};

}  // namespace swarm

#endif  // SWARM_SANDBOX_SANDBOX_IDENTITY_H_
