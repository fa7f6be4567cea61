// How much a directory tree holds, measured without following links: what a workspace costs the
// machine, and what a patch computed from it could expand to.
#ifndef SWARM_SANDBOX_TREE_USAGE_H_
#define SWARM_SANDBOX_TREE_USAGE_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace swarm {

struct TreeUsage {
  // Sizes of the regular files (each hard link counted, as git would), plus the space a file holds
  // past twice its size and 64 KiB (preallocated: fallocate --keep-size).
  std::uint64_t bytes = 0;
  std::uint64_t entries = 0;  // files, directories, links and anything else

  bool Exceeds(const TreeUsage& limit) const { return bytes > limit.bytes || entries > limit.entries; }
};

// What one file counts for in TreeUsage::bytes.
std::uint64_t FileBytes(const struct stat& st);

// The most a tree that holds `now` may hold once it may grow by `growth` (0 in `growth`: that count
// is not limited, ~0 in the result).
TreeUsage LimitAfterGrowth(const TreeUsage& now, const TreeUsage& growth);

// Walks `root`. Stops early, with what it counted so far, once the usage exceeds `stop_past` (so a
// tree of millions of files costs no more than the limit's worth of walking). Fails with NotFound
// when `root` does not exist, PermissionDenied when a directory in it cannot be read or searched
// (its contents would go uncounted). Thread-safe.
absl::StatusOr<TreeUsage> MeasureTree(const std::string& root, const TreeUsage& stop_past);

}  // namespace swarm

#endif  // SWARM_SANDBOX_TREE_USAGE_H_
