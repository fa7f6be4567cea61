// The open-file limit a process needs: every model call in flight, every host stream and every
// sandboxed command's pipes hold descriptors, and the usual soft limit (1,024) is far below what a
// fleet of thousands needs.
#ifndef SWARM_BASE_FILE_LIMIT_H_
#define SWARM_BASE_FILE_LIMIT_H_

#include <cstdint>

namespace swarm {

struct FileLimit {
  std::uint64_t soft = 0;  // after raising
  std::uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to `wanted`, or as far as the hard limit allows; never lowers it.
FileLimit RaiseFileLimit(std::uint64_t wanted);

}  // namespace swarm

#endif  // SWARM_BASE_FILE_LIMIT_H_
