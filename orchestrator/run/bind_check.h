// Whether a host path may be bound into sandboxes: read-only into agents' (--sandbox-ro-bind), writable
// into test runs' (--build-cache).
#ifndef SWARM_ORCHESTRATOR_RUN_BIND_CHECK_H_
#define SWARM_ORCHESTRATOR_RUN_BIND_CHECK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace swarm {

// Places that hold secrets under `home` (~/.ssh, ~/.gnupg, ~/.aws, ~/.config/gh, ~/.netrc, ~/.docker,
// ~/.kube, swarm's own config with provider keys, ...) and root-only system places (/etc/shadow,
// /etc/gshadow, /etc/sudoers, /etc/ssh, /root). An empty `home` adds no home places.
std::vector<std::string> SecretPlaces(const std::string& home);

// OK when `path` may be bound: an existing absolute path that, once its symlinks are resolved, is not
// in /proc, /sys or /dev, and neither is nor lies inside nor contains any of `secrets` or
// `hidden` (places the sandbox hides: the repository, the state directory, $HOME, /tmp...), except
// that a path inside a hidden place is fine (a file under $HOME). A secret is refused whichever way
// it would show. InvalidArgument names the bind (`what` and the path) and what it would expose.
absl::Status CheckReadOnlyBind(const std::string& path, const std::vector<std::string>& hidden,
                               const std::vector<std::string>& secrets, const std::string& what = "--sandbox-ro-bind");

// The file swarm puts in a build cache it made (owned by swarm's user), so that a later run takes it.
inline constexpr char kBuildCacheMarker[] = ".swarm-build-cache";

// --build-cache: `path` made absolute, checked as a bind is (CheckReadOnlyBind's rules, the path
// need not exist yet), refused inside any of `own` (the user's repository, its git directory and
// checkouts: a run never writes there) and, where it exists, unless it is empty and this user's or
// holds swarm's marker (this user's): a directory of someone else's, or /usr, is never taken. Then
// created unless `dry_run`. Its canonical path, or InvalidArgument naming the flag and what was wrong.
absl::StatusOr<std::string> PrepareBuildCache(const std::string& path, const std::vector<std::string>& own,
                                              const std::vector<std::string>& hidden,
                                              const std::vector<std::string>& secrets, bool dry_run);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_BIND_CHECK_H_
