// Keeps a tree that no file system of its own caps (a workspace on disk, a kept clone, a test
// checkout on disk) within its limit while a sandboxed command writes it.
//
// Where the run's trees are in RAM, each is a tmpfs (or an overlay layer on one) sized to its limit,
// and writes past it fail. On disk there is no such file system to give each tree, so a thread
// watches instead: it reads the free space and inodes of each watched tree's file system about four
// times a second (one statvfs each), and measures the trees on any that runs low (below a reserve of
// 10% or 1 GiB and 10% or 100,000 inodes, whichever is less) at once; otherwise it measures one tree
// after another, spending at most a twentieth of one core on it. A command whose tree holds more
// than its limit is killed (its whole sandbox). So one agent cannot fill the disk the others write
// to: it is stopped as the disk runs low, if not before.
#ifndef SWARM_SANDBOX_GROWTH_GUARD_H_
#define SWARM_SANDBOX_GROWTH_GUARD_H_

#include <functional>
#include <memory>
#include <string>

#include "sandbox/tree_usage.h"

namespace swarm {

struct GrowthCap {
  std::string tree;  // what is measured: the tree the command writes, or an overlay's upper layer
  TreeUsage most;    // the command is stopped once the tree holds more (~0: no limit on that count)
};

// Watches `cap.tree` until the returned handle is destroyed; calls `stop` once, on the guard's
// thread, if the tree holds more than `cap.most` meanwhile. Thread-safe; the guard's thread starts
// on first use and lives as long as the process.
std::shared_ptr<void> GuardGrowth(GrowthCap cap, std::function<void()> stop);

}  // namespace swarm

#endif  // SWARM_SANDBOX_GROWTH_GUARD_H_
