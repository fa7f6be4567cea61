#include "sandbox/tree_usage.h"

#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace swarm {
namespace {

// nftw takes no context: the walk's state lives on the walking thread.
thread_local TreeUsage tl_usage;
thread_local TreeUsage tl_stop;

thread_local bool tl_unreadable;

int Count(const char*, const struct stat* st, int type, FTW*) {
  ++tl_usage.entries;
  if (type == FTW_NS && errno == ENOENT) return 0;  // removed since it was listed: nothing to count
  if (type == FTW_DNR || type == FTW_NS) {
    tl_unreadable = true;  // a directory that cannot be read or searched: what it holds cannot be counted
    return 1;
  }
  if (type == FTW_F && S_ISREG(st->st_mode)) tl_usage.bytes += FileBytes(*st);
  return tl_usage.Exceeds(tl_stop) ? 1 : 0;
}

}  // namespace

std::uint64_t FileBytes(const struct stat& st) {
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;
  // Blocks past twice the size and 64 KiB (a block's or a cluster's rounding) were allocated on
  // purpose (fallocate --keep-size): they count. A sparse file counts its size.
  // Up to its size again is a file system's own: XFS preallocates past the end of a file being written.
  const std::uint64_t own = 2 * size + (64 << 10);
  return size + (allocated > own ? allocated - own : 0);
}

TreeUsage LimitAfterGrowth(const TreeUsage& now, const TreeUsage& growth) {
  auto grown = [](std::uint64_t base, std::uint64_t by) { return by > 0 ? base + by : ~0ull; };
  return TreeUsage{grown(now.bytes, growth.bytes), grown(now.entries, growth.entries)};
}

absl::StatusOr<TreeUsage> MeasureTree(const std::string& root, const TreeUsage& stop_past) {
  struct stat st {};
  if (lstat(root.c_str(), &st) != 0) return absl::NotFoundError(absl::StrCat("cannot measure ", root, ": ", strerror(errno)));
  tl_usage = TreeUsage{};
  tl_stop = stop_past;
  tl_unreadable = false;
  // A directory removed while it is walked (a build's, a test's) ends the walk with ENOENT: again.
  int rc = -1;
  for (int i = 0; i < 3 && rc < 0; ++i) {
    tl_usage = TreeUsage{};
    tl_unreadable = false;
    rc = nftw(root.c_str(), Count, 32, FTW_PHYS | FTW_MOUNT);
    if (rc < 0 && errno != ENOENT) break;
  }
  if (rc < 0) return absl::InternalError(absl::StrCat("cannot measure ", root, ": ", strerror(errno)));
  if (tl_unreadable) {
    return absl::PermissionDeniedError(absl::StrCat("cannot measure ", root, ": a directory in it cannot be read"));
  }
  return tl_usage;
}

}  // namespace swarm
