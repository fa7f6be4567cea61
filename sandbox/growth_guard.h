// Keeps a tree that no file system of its own caps (a workspace on disk, a kept clone, a test
// checkout on disk) within its limit while a sandboxed command writes it.
//
// Where the run's trees are in RAM, each is a tmpfs (or an overlay layer on one) sized to its limit,
// and writes past it fail. On disk there is no such file system to give each tree, so a thread
// watches instead. Four times a second it reads the free space and inodes of each watched tree's file
// system (one statvfs each). While none runs low it measures trees one after another, round the
// watched ones, spending at most a twentieth of one core; while one runs low (below 10% or 1 GiB, or
// 10% or 100,000 inodes, whichever is less) it measures the trees on it first, with up to half a
// core. A tree counts what its walk finds (TreeUsage: space preallocated past a file's size counts)
// plus the deleted files the command's processes still hold open where it sees the tree; a tree
// that cannot be walked (a directory the guard cannot read, a path too deep) counts as past its limit.
// A command whose tree holds more than its limit is killed with its whole sandbox.
#ifndef SWARM_SANDBOX_GROWTH_GUARD_H_
#define SWARM_SANDBOX_GROWTH_GUARD_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "sandbox/tree_usage.h"

namespace swarm {

struct GrowthCap {
  std::string tree;  // what is measured: the tree the command writes, or an overlay's upper layer
  TreeUsage most;    // the command is stopped once the tree holds more (~0: no limit on that count)
};

// Where the command sees the tree (an overlay's merged tree, on a device of its own): deleted files
// it holds open there count against the tree too. Empty: `tree` itself.
struct WatchedCommand {
  pid_t pid = 0;  // the command's process (its descendants are looked at too); 0: none
  std::string seen_at;
};

// Watches `cap.tree`, written by `command`, until the returned handle is destroyed; calls `stop`
// once, on the guard's thread, if the tree holds more than `cap.most` meanwhile. Thread-safe; the
// guard's thread starts on first use and lives as long as the process.
std::shared_ptr<void> GuardGrowth(GrowthCap cap, WatchedCommand command, std::function<void()> stop);

// What the deleted files that `pid` and its descendants hold open (or run) on the devices `devs`
// hold: each file once, counted as TreeUsage counts a file; ~0 bytes when they hold more descriptors
// than any honest command does (2^17). Not seen: a file only mapped, or only in flight in a socket.
// Exposed for tests.
TreeUsage HeldDeletedFiles(pid_t pid, const std::set<dev_t>& devs);

}  // namespace swarm

#endif  // SWARM_SANDBOX_GROWTH_GUARD_H_
