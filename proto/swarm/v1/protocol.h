// Versions of what crosses a process boundary.
#ifndef SWARM_PROTO_SWARM_V1_PROTOCOL_H_
#define SWARM_PROTO_SWARM_V1_PROTOCOL_H_

#include <cstdint>

namespace swarm {

// Bumped when a host and a coordinator of different versions could misunderstand each other.
inline constexpr std::uint32_t kAgentProtocolVersion = 2;  // 2: hosts ask for work (Ready)

}  // namespace swarm

#endif  // SWARM_PROTO_SWARM_V1_PROTOCOL_H_
