#include "base/file_limit.h"

#include <sys/resource.h>

#include <algorithm>

namespace swarm {

FileLimit RaiseFileLimit(std::uint64_t wanted) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return {};
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
    rlim_t target = lim.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(wanted)
                                                  : std::min<rlim_t>(static_cast<rlim_t>(wanted), lim.rlim_max);
    rlimit raised = lim;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  auto as_u64 = [](rlim_t v) { return v == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(v); };
  return {as_u64(lim.rlim_cur), as_u64(lim.rlim_max)};
}

}  // namespace swarm
