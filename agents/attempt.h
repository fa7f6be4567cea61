// What every attempt shares, whatever the agent kind: its meta files, the sandbox its commands run
// under (the run's policy, the workspace writable, the objects its git needs and the meta directory
// readable, the attempt's SWARM_* variables), and the result its workspace's patch makes.
#ifndef SWARM_AGENTS_ATTEMPT_H_
#define SWARM_AGENTS_ATTEMPT_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "git/workspace.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_policy.h"
#include "swarm/v1/agent.pb.h"
#include "swarm/v1/model.pb.h"

namespace swarm {

// Writes the attempt's meta directory: subtask.json (conflict.json after a conflict, failure.log and
// failure.patch in a fix-up, and failure.refused when the patch passed its tests but was refused). ResourceExhausted
// naming the file that could not be written.
absl::Status WriteAttemptMeta(const std::string& meta_dir, const v1::Lease& lease);

// Where a host's attempts get their workspaces.
struct HostWorkspaces {
  std::unique_ptr<BaseCheckouts> bases;  // overlays over shared checkouts; null: clones
  // The host's directory of mount points, kept until the run ends (overlay_mount.h); empty: the host
  // mounts nothing (no mount namespace of its own).
  std::string mount_place;
};

// The attempt's workspace in `dir` at the lease's base, with its meta directory (dir + "/meta"), both
// writable by the identity the sandbox runs commands as: an overlay over the base's shared checkout
// from `where.bases`, or a clone (on a tmpfs of its own capped at the run's limits where the host
// can mount one). Blocks: call it on a pool thread.
absl::StatusOr<std::unique_ptr<Workspace>> MakeAttemptWorkspace(const Sandbox& sandbox, const v1::Registered& run,
                                                                const v1::Lease& lease, const std::string& dir,
                                                                const HostWorkspaces& where);

SandboxPolicy AgentSandboxPolicy(const v1::Registered& run, const v1::Lease& lease, const Workspace& workspace,
                                 const std::string& meta_dir);

// The attempt's result from its workspace's patch: PATCH, or NO_CHANGE when it is empty.
v1::AttemptResult PatchResult(const Patch& patch);

// The most of an agent's summary that travels with its patch.
inline constexpr std::size_t kMaxSummaryBytes = 4096;

// Where a command agent may write its summary ($SWARM_SUMMARY): in its workspace's .git, which no
// patch holds.
std::string SummaryPath(const Workspace& workspace);

// What the command agent wrote there, at most kMaxSummaryBytes; "" when nothing was written or it is
// not a plain file. Read without following a link anywhere on the way (the agent may have replaced
// .git or the file with one, to have the host read a file of its own).
std::string ReadAgentSummary(const Workspace& workspace);

// The most an agent's activity says (base/utf8.h's OneLine cuts it).
inline constexpr std::size_t kMaxActionBytes = 200;

// A tool call as its activity: the tool's name and what it acts on (a path, a command, a pattern),
// "edit: src/a.c", "run: make -j2", as one line.
std::string ToolCallAction(const v1::ToolCall& call);

}  // namespace swarm

#endif  // SWARM_AGENTS_ATTEMPT_H_
