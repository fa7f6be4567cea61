// Where a run keeps things on this machine, and what its sandboxed commands may not see: the run's
// directory in the state directory, its workspaces (tmpfs when they fit, disk otherwise), its
// private runtime directory for the Agent API socket, the paths hidden from every sandbox, and the
// policy its test runs get. Made once by the coordinator when the run starts or resumes.
#ifndef SWARM_ORCHESTRATOR_RUN_RUN_LAYOUT_H_
#define SWARM_ORCHESTRATOR_RUN_RUN_LAYOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "orchestrator/run/run_setup.h"
#include "sandbox/sandbox_policy.h"
#include "sandbox/tree_usage.h"

namespace swarm {

struct RunLayout {
  std::string run_dir;         // <state>/runs/<id>
  std::string log_dir;         // <run_dir>/logs
  std::string ledger_dir;      // <run_dir>/pids: processes the run started (pid_ledger.h)
  std::string live_log_dir;    // <run_dir>/live: running attempts' output as it comes (agents/live_log.h)
  std::string workspace_root;  // <run_dir>/work (a tmpfs of the run's own, or disk), or /dev/shm/swarm-<id>
  bool workspaces_on_tmpfs = false;
  // Set: the workspace root is to be a tmpfs of the run's own holding at most this many bytes (half of
  // the RAM given), for what agents and tests do not write (shared checkouts, the hosts' repositories;
  // the trees written are tmpfs of their own, each within its share); the caller mounts it, in its
  // own mount namespace, before any host starts.
  std::uint64_t own_tmpfs_bytes = 0;
  // What each workspace and test tree may grow by: --max-workspace-mb and --max-workspace-files, or
  // less on tmpfs, where each is a file system of its own and all of them share half of /dev/shm's
  // free space equally (its pages, and about 1 KiB of kernel memory per file).
  std::uint64_t tree_growth_bytes = 0;
  std::uint64_t tree_growth_files = 0;
  int trees_sharing = 0;  // how many share it (0: none do)
  std::string shared_space;  // what they share: "the RAM", "/dev/shm" or "the disk"
  std::string runtime_dir;  // a short private directory for the socket (sun_path holds 107 bytes)
  std::string socket_path;  // <runtime_dir>/agent.sock
  std::vector<std::string> hidden_paths;  // hidden from every sandboxed command
  std::string sandbox_home;               // HOME inside the sandbox
};

// The run's directory and its log directory, created.
absl::StatusOr<RunLayout> MakeRunDirs(const PreparedRun& run);

// A dead coordinator's workspaces (tmpfs and disk) and socket directory. Its processes must have been
// killed first. Shared by a resume and by `swarm cancel` of a dead run.
void RemoveWorkspacesAndSocket(const std::string& run_id, const std::string& run_dir);

// What a dead coordinator of this run left for its resume: the above, its cancel request and a ref
// lock from a crash mid-update.
void RemoveLeftovers(const PreparedRun& run, const RunLayout& layout);

// Chooses and creates the workspace root: tmpfs when (agents + 2) copies of the tree, twice, plus
// 64 MiB fit in half of /dev/shm's free space (tmpfs is RAM) and what is left of that half gives
// every tree at least 2 MiB past its slack, disk otherwise. `tree_bytes` is the size of the base's
// files; `shm_free_bytes` what /dev/shm has free (0: none). On tmpfs, what is left is shared equally
// by the trees that may be written at once (each agent's workspace, an LLM agent's test view, each
// check job's and queue candidate's test tree), each tree's share counting its slack, its pages and
// 1 KiB per file (half for files at most): no tree may grow by more (tree_growth_bytes and _files),
// so together they cost no more than that half of /dev/shm. Runs served at once each take half of
// what is free when they start.
// On disk, where no tree is a file system of its own (a guard stops a command past its tree's
// limits: sandbox/growth_guard.h), the trees share half of what the run directory's file system has
// free past a full checkout each, `disk_free` (bytes and inodes; unset: unknown, the flags hold),
// equally, each at least 1 MiB and 1,000 files: together they leave the other half to the rest of
// the machine (as far as that estimate goes; runs served at once each take half of what is free when
// they start).
//
// With `own_tmpfs` (the coordinator has a mount namespace of its own and the workspaces are not kept
// after the run), `shm_free_bytes` is the RAM available instead, and the trees go in a tmpfs of the
// run's own at <run_dir>/work (own_tmpfs_bytes): /dev/shm's size (a container's is 64 MB) no longer
// sends them to disk, so each tree is a file system of its own, capped while it is written, whenever
// the RAM can give each one its share.
absl::Status PlaceWorkspaces(const PreparedRun& run, std::uint64_t tree_bytes, std::uint64_t shm_free_bytes,
                             RunLayout& layout, std::optional<TreeUsage> disk_free = std::nullopt,
                             bool own_tmpfs = false);

// The RAM available, in bytes: /proc/meminfo's MemAvailable, or less if the process's memory cgroup
// (a container's limit) has less left; 0 where it cannot be read.
std::uint64_t AvailableMemoryBytes();

// Creates the runtime directory (under $XDG_RUNTIME_DIR when short, else /tmp) and records it in the
// run directory, for a resume or cancel to remove.
absl::Status MakeRuntimeDir(RunLayout& layout);
// What the user is told when PlaceWorkspaces lowered the trees' limits below the flags' (nullopt:
// it did not).
std::optional<std::string> LoweredLimitsNote(const RunLayout& layout, const RunConfig& config);

// The paths no sandboxed command may see, and the sandbox's HOME: the state directory, the user's
// repository (and the main checkout of a linked worktree, and a git dir outside it), the workspaces,
// the runtime directory, $XDG_RUNTIME_DIR, $HOME, and what a served run adds (its server's socket and
// token).
void HidePaths(const PreparedRun& run, RunLayout& layout);

// The policy of the run's test runs.
SandboxPolicy TestPolicy(const PreparedRun& run, const RunLayout& layout);

// Bytes of the files at `base` (to size workspaces), and free bytes at `path`.
std::uint64_t TreeBytes(const Git& git, const std::string& base);
// What the file system holding `path` has free: bytes and inodes (0: unknown).
std::optional<TreeUsage> FreeSpace(const std::string& path);
std::uint64_t FreeBytes(const std::string& path);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_RUN_RUN_LAYOUT_H_
