// Versions of what crosses a process boundary.
#ifndef SWARM_PROTO_SWARM_V1_PROTOCOL_H_
#define SWARM_PROTO_SWARM_V1_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace swarm {

// Bumped when a host and a coordinator of different versions could misunderstand each other.
inline constexpr std::uint32_t kAgentProtocolVersion = 2;  // 2: hosts ask for work (Ready)

// Which messages a binary speaks: eight hex digits, FNV-1a over the serialized descriptors of the
// swarm.v1 files compiled in. Two builds whose protos differ in any field have different ids, so
// `swarm` refuses a `swarm-agent` that would drop what it sends (a field the older one lacks is
// skipped without a word), as the number above cannot see.
const std::string& ProtocolId();

// What `--version` prints: "swarm 0.1.0 (protocol 1a2b3c4d)", for `program` at release `version`.
std::string VersionLine(std::string_view program, std::string_view version);

}  // namespace swarm

#endif  // SWARM_PROTO_SWARM_V1_PROTOCOL_H_
