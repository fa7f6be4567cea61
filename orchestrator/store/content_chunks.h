// Content-defined chunks: how a model call's request is stored once per run. Consecutive requests of
// an attempt repeat everything before them (the system prompt, the tools, every earlier turn) and add
// a little; cut where the content says (a rolling hash), the repeated parts give the same chunks
// wherever they sit, so each is stored once and a request is a list of chunk ids. Storage then grows
// with an attempt's tokens, not their square, and a request is rebuilt byte for byte.
#ifndef SWARM_ORCHESTRATOR_STORE_CONTENT_CHUNKS_H_
#define SWARM_ORCHESTRATOR_STORE_CONTENT_CHUNKS_H_

#include <string>
#include <string_view>
#include <vector>

namespace swarm {

inline constexpr std::size_t kChunkIdBytes = 16;  // SHA-256, truncated

struct Chunk {
  std::string id;          // kChunkIdBytes raw bytes
  std::string_view data;   // a piece of the input
};

// Cuts `data` into pieces of up to 16 KiB at content-defined points (about 2 KiB apart, at least
// 256 bytes), and between two objects of a JSON array ("},{") or after the last ("}]"), at least 64
// bytes apart, each with its id. The pieces, concatenated, are `data`.
std::vector<Chunk> SplitIntoChunks(std::string_view data);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_STORE_CONTENT_CHUNKS_H_
