// Paths an agent names, confined to its workspace. A path is relative to the workspace root (an
// absolute path inside the root is accepted too); one that leaves the root, through ".." or through
// a symlink anywhere along it, is an error, never an action.
#ifndef SWARM_TOOLS_WORKSPACE_PATH_H_
#define SWARM_TOOLS_WORKSPACE_PATH_H_

#include <string>

#include "absl/status/statusor.h"

namespace swarm {

// The absolute path of `path` inside `root` (which must be canonical). The path need not exist, but
// whatever of it exists must resolve inside the root. InvalidArgument (PermissionDenied for an
// escape) with a message for the model.
absl::StatusOr<std::string> ConfinedPath(const std::string& root, const std::string& path);

// `absolute` as the agent should see it: relative to the root ("." for the root itself).
std::string RelativeToRoot(const std::string& root, const std::string& absolute);

}  // namespace swarm

#endif  // SWARM_TOOLS_WORKSPACE_PATH_H_
