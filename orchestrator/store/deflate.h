// zlib's deflate for the bodies the store keeps that no other row repeats (a model's streamed reply
// as received: hundreds of near-identical event lines).
#ifndef SWARM_ORCHESTRATOR_STORE_DEFLATE_H_
#define SWARM_ORCHESTRATOR_STORE_DEFLATE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace swarm {

std::string Deflate(std::string_view data);
// DataLoss when `data` is not what Deflate made, or would inflate past `max_bytes`.
absl::StatusOr<std::string> Inflate(std::string_view data, std::size_t max_bytes = 64u << 20);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_STORE_DEFLATE_H_
