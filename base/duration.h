// Durations as people type them on a command line: "90s", "30m", "12h", "7d", "2w", or "0".
#ifndef SWARM_BASE_DURATION_H_
#define SWARM_BASE_DURATION_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace swarm {

// A whole number with one unit (s, m, h, d, w); "0" alone needs none. `flag` names it in the error.
absl::StatusOr<std::chrono::seconds> ParseDuration(const std::string& text, const std::string& flag);

}  // namespace swarm

#endif  // SWARM_BASE_DURATION_H_
