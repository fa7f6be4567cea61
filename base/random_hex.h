// Unguessable identifiers: random bytes from the kernel, as lowercase hex.
#ifndef SWARM_BASE_RANDOM_HEX_H_
#define SWARM_BASE_RANDOM_HEX_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace swarm {

// `bytes` random bytes from getrandom(2) as 2 * `bytes` hex digits. Fails (Internal) only when the
// kernel gives no randomness. Thread-safe.
absl::StatusOr<std::string> RandomHex(std::size_t bytes);

}  // namespace swarm

#endif  // SWARM_BASE_RANDOM_HEX_H_
